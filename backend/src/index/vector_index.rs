//! The vector-index interface a build is searched through, whichever engine holds the vectors:
//! FAISS in this process ([`super::SearchIndex`]) or a Milvus server ([`super::milvus`]).
//! Everything above it (channels, ANN evaluation, calibration, stats) sees only this trait.

use super::Neighbours;
use super::search::Order;
use crate::error::{Error, Result};
use common::Filters;

/// Where a build's vectors are searched, as the manifest records it (`index.engine`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum IndexEngine {
    /// `faiss.index` in the data dir, searched in process.
    #[default]
    Faiss,
    /// A collection on a Milvus server. `alias` always names the newest complete build;
    /// `collection` is this build's own collection, which serving searches so that a request
    /// in flight during a reindex keeps the rows it started with.
    Milvus {
        uri: String,
        alias: String,
        collection: String,
        /// The collection's vector index (IVF_FLAT unless the build asked for a compressed one).
        #[serde(default)]
        index_type: super::milvus::MilvusIndexType,
    },
}

impl IndexEngine {
    /// The engine's name, as stats and reports show it.
    pub fn name(&self) -> &'static str {
        match self {
            IndexEngine::Faiss => "faiss",
            IndexEngine::Milvus { .. } => "milvus",
        }
    }
}

/// One batched search: `vectors` row-major, `k` neighbours each.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub vectors: &'a [f32],
    pub k: usize,
    /// Already checked with [`VectorIndex::check_nprobe`]; `None` outside IVF.
    pub nprobe: Option<usize>,
    /// Applied in the search by engines whose [`VectorIndex::filters_in_search`] is true, so
    /// each query gets `k` hits that pass; the others return unfiltered hits, and the answer
    /// filters them (the plan over-fetches for that).
    pub filters: Option<&'a Filters>,
    pub order: Order,
}

impl<'a> Query<'a> {
    /// Best-first neighbours of `vectors`, unfiltered.
    pub fn new(vectors: &'a [f32], k: usize, nprobe: Option<usize>) -> Self {
        Query {
            vectors,
            k,
            nprobe,
            filters: None,
            order: Order::BestFirst,
        }
    }
}

/// A searchable index over one build's vectors: label i is row i of `product_emb.npy`.
pub trait VectorIndex: Send + Sync {
    fn engine(&self) -> &IndexEngine;
    fn dim(&self) -> usize;
    /// Vectors in the index.
    fn ntotal(&self) -> usize;
    /// Inverted lists, when the index is an IVF index (nprobe applies).
    fn nlist(&self) -> Option<usize>;
    /// The nprobe measured at build time to reach the target recall@10.
    fn default_nprobe(&self) -> Option<usize>;
    /// Whether [`Query::filters`] are applied in the search itself.
    fn filters_in_search(&self) -> bool;
    /// Searches a batch. Labels are rows; -1 marks an empty slot.
    fn search(&self, query: &Query<'_>) -> Result<Neighbours>;
    /// Checks a requested nprobe against this index.
    fn check_nprobe(&self, nprobe: Option<usize>) -> Result<Option<usize>> {
        match (nprobe, self.nlist()) {
            (None, _) => Ok(self.default_nprobe()),
            (Some(0), _) => Err(Error::param("nprobe", "nprobe must be at least 1")),
            (Some(n), Some(nlist)) if n > nlist => Err(Error::param(
                "nprobe",
                format!("nprobe {n} is above nlist {nlist}"),
            )),
            (Some(n), Some(_)) => Ok(Some(n)),
            (Some(_), None) => Err(Error::param(
                "nprobe",
                "this index has no inverted lists, so nprobe does not apply",
            )),
        }
    }

    /// The smallest nprobe at which `k` results are expected for every query: lists hold
    /// `ntotal / nlist` vectors on average, so probe enough lists for twice `k`.
    fn nprobe_for_k(&self, k: usize) -> Option<usize> {
        let nlist = self.nlist()?;
        let per_list = (self.ntotal() as f64 / nlist as f64).max(1.0);
        let needed = ((2 * k) as f64 / per_list).ceil() as usize;
        Some(
            needed
                .max(self.default_nprobe().unwrap_or(1))
                .clamp(1, nlist),
        )
    }
}
