//! The recall engine: loads a build once, then answers recalls, similar items, semantic search
//! and ANN-quality questions from any number of threads.
//!
//! A recall is planned (`plan`: clicks, the channels of `channels/` that the request enables,
//! fusion) and then answered (`answer`: enriched in recall order, typed or written straight to
//! bytes). `engine` holds the catalog pool and the loaded build (`loaded`). A caller with a time
//! budget runs the recall inside `deadline::within`: it stops at the next stage once the time
//! is up.

mod aggregate;
mod answer;
pub mod channels;
pub mod deadline;
mod engine;
pub mod explain;
pub mod fuse;
mod keys;
mod loaded;
mod neighbours;
mod plan;
mod snapshot;
pub mod summary;

pub use answer::encode_answer;
pub use channels::{Cand, Ranked};
pub use engine::{Encoding, Engine, EngineOptions};
pub use fuse::{FuseInput, Fused, RRF_K, fuse};
pub use loaded::{Loaded, PopularEntry};
