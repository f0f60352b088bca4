//! The FAISS index: choosing nlist for the catalog size, training on a bounded sample, measuring
//! a default nprobe, writing `faiss.index` atomically, and searching it from many threads at once.
//!
//! FAISS's C++ `Index::search` is const and thread-safe; the `faiss` crate's `search` takes
//! `&mut self` for generic indexes, which would serialise every request behind one lock. So
//! [`SearchIndex`] calls the C API directly through `&self`, with per-call search parameters
//! for nprobe (no shared mutable state between requests).
//!
//! Every engine is searched through [`VectorIndex`] (`vector_index.rs`): FAISS here, or a
//! Milvus collection (`milvus/`), chosen per data dir at build time and named in the manifest.
//!
//! Its files: `build.rs` builds, trains and calibrates an index (and searches exactly, the
//! reference for recall); `search.rs` holds the loaded index and its searches; `ffi.rs` declares
//! the C++ of `faiss_ivf.cpp` (this folder) and OpenMP's thread controls.

mod build;
mod ffi;
pub mod milvus;
mod search;
#[cfg(test)]
mod tests;
mod vector_index;

pub use build::{IndexReport, build, exact_index, exact_search, recall_at};
pub use ffi::{search_threads, set_search_threads};
pub use search::{Heaps, MIN_QUERIES_PER_SLICE, Neighbours, Order, SearchIndex, SearchKernels};
pub use vector_index::{IndexEngine, Query, VectorIndex};

/// FAISS wants at least 39 training points per list.
pub const MIN_POINTS_PER_LIST: usize = 39;
/// Training uses at most this many vectors per list.
pub const MAX_POINTS_PER_LIST: usize = 256;
/// The recall@10 the default nprobe must reach on the build-time sample.
pub const TARGET_RECALL_AT_10: f64 = 0.96;

/// nlist for `n` vectors: about 4·√n (FAISS's guidance is 4·√n to 16·√n), but never fewer than
/// 39 training points per list.
pub fn auto_nlist(n: usize) -> usize {
    let by_sqrt = (4.0 * (n as f64).sqrt()).round() as usize;
    by_sqrt.min(n / MIN_POINTS_PER_LIST).max(1)
}

/// The engine a build puts its vectors in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineTarget {
    /// `faiss.index` in the data dir.
    Faiss,
    /// A Milvus server at `uri` (`http://host:19530`); the collection alias defaults to
    /// [`milvus::DEFAULT_ALIAS`].
    Milvus {
        uri: String,
        alias: Option<String>,
        index_type: milvus::MilvusIndexType,
    },
}

/// How to build the index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Where the vectors go; `None` keeps the data dir's engine (FAISS for a new one).
    pub engine: Option<EngineTarget>,
    /// Any FAISS index-factory string; default `IVF{nlist},Flat`.
    pub factory: Option<String>,
    /// nlist for the default factory; default [`auto_nlist`].
    pub nlist: Option<usize>,
    /// Fix the default nprobe instead of measuring it.
    pub nprobe: Option<usize>,
    /// Queries used to measure recall when choosing the default nprobe.
    pub calibration_queries: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            engine: None,
            factory: None,
            nlist: None,
            nprobe: None,
            calibration_queries: 300,
        }
    }
}
