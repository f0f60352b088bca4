//! Recall Lab's engine: catalog (SQLite), title embeddings (fastembed), the FAISS index, click
//! histories, recall channels and their fusion, usable without HTTP. The `server` module and the
//! `recall-lab` binary are thin edges over it.

mod answer_json;
pub mod asin_table;
pub mod catalog;
pub mod clicks;
mod cores;
pub mod demo;
pub mod embed;
pub mod error;
pub mod eval;
pub mod ids;
pub mod index;
pub mod layout;
pub mod manifest;
pub mod npy;
pub mod pipeline;
pub mod recall;
pub mod rows;
pub mod server;
pub mod simulate;
pub mod util;

pub use error::{Error, Result};
pub use ids::{Asin, UserId};
