//! The Milvus engine: a build's vectors in a Milvus collection (IVF_FLAT, inner product),
//! searched over Milvus's gRPC API with the official client (`milvus-sdk-rust`).
//!
//! The engine is synchronous (requests run on blocking threads) and the client is async, so
//! every call is spawned on one process-wide runtime and waited for on the calling thread; the
//! runtime is never dropped, because a build (and its client) may be dropped on any thread.
//!
//! Names: a data dir is served by one alias (default [`DEFAULT_ALIAS`]); each build is its own
//! collection `<alias>_<build id>`. `build.rs` creates, fills, indexes and loads a collection;
//! [`publish`] moves the alias to it after the manifest names it, and drops collections older
//! than the one it replaced (which requests still in flight may be searching).

mod build;

pub use build::{BuildTarget, build, publish};

use super::search::Neighbours;
use super::vector_index::{IndexEngine, Query, VectorIndex};
use crate::error::{Error, Result};
use crate::manifest::IndexInfo;
use common::Filters;
use milvus::v2::prelude::*;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The vector index a Milvus collection is built with: IVF_FLAT keeps FAISS IVFFlat's exact
/// scores; the compressed ones trade them for memory (docs/scale-out.md has the figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilvusIndexType {
    /// Full float vectors in each list: 4 bytes per dimension.
    #[default]
    IvfFlat,
    /// Scalar-quantized to one byte per dimension.
    IvfSq8,
    /// Product-quantized: one byte per 8 dimensions (m = dim / 8 sub-vectors of 8 bits).
    IvfPq,
}

impl MilvusIndexType {
    /// Milvus's name for it, as the manifest's factory shows it.
    pub fn name(self) -> &'static str {
        match self {
            MilvusIndexType::IvfFlat => "IVF_FLAT",
            MilvusIndexType::IvfSq8 => "IVF_SQ8",
            MilvusIndexType::IvfPq => "IVF_PQ",
        }
    }

    fn sdk(self) -> IndexType {
        match self {
            MilvusIndexType::IvfFlat => IndexType::IvfFlat,
            MilvusIndexType::IvfSq8 => IndexType::IvfSq8,
            MilvusIndexType::IvfPq => IndexType::IvfPq,
        }
    }

    /// The build parameters beside nlist.
    fn params(self, dim: usize) -> Vec<(String, String)> {
        match self {
            MilvusIndexType::IvfPq => vec![
                ("m".into(), (dim / 8).max(1).to_string()),
                ("nbits".into(), "8".into()),
            ],
            _ => Vec::new(),
        }
    }
}

/// The alias a data dir's builds are served under unless `--collection` names another.
pub const DEFAULT_ALIAS: &str = "recall_lab";
/// The collection's fields: the row (label) as primary key, the asin for people reading the
/// collection, the filter columns, and the vector.
pub(crate) const VECTOR_FIELD: &str = "vector";
/// Milvus's largest topk and nq per search.
const MAX_TOPK: usize = 16_384;
/// Bounded staleness: a build's rows are flushed and loaded before it is searched, so the
/// guarantee Strong adds (waiting for the newest timestamp, hundreds of ms on a standalone
/// server) buys nothing here.
const CONSISTENCY: ConsistencyLevel = ConsistencyLevel::Bounded;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("milvus-client")
            .enable_all()
            .build()
            .expect("a tokio runtime for the Milvus client")
    })
}

/// Runs `fut` on the client runtime and waits for it on this thread (which must not be one of
/// that runtime's workers; the engine calls from blocking threads).
pub(crate) fn wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().expect("the Milvus client task ran to completion")
}

/// The engine's error for a failed client call.
pub(crate) fn failed(what: &'static str) -> impl FnOnce(milvus::v2::error::Error) -> Error {
    move |e| Error::Milvus {
        what,
        message: e.to_string(),
    }
}

/// Connects to the server at `uri`.
pub(crate) fn connect(uri: &str) -> Result<ClientV2> {
    let config = ConnectConfig::new()
        .uri(uri.to_owned())
        .connect_timeout(Duration::from_secs(10));
    wait(async move { ClientV2::new(&config).await }).map_err(failed("connect"))
}

/// One build's collection, searched by any number of threads at once.
pub struct MilvusIndex {
    client: ClientV2,
    engine: IndexEngine,
    collection: String,
    dim: usize,
    ntotal: usize,
    nlist: usize,
    default_nprobe: Option<usize>,
}

impl MilvusIndex {
    /// Opens the collection a manifest names, checking that it holds the build's vectors.
    pub fn open(uri: &str, collection: &str, info: &IndexInfo) -> Result<MilvusIndex> {
        let (alias, index_type) = match &info.engine {
            IndexEngine::Milvus {
                alias, index_type, ..
            } => (alias.clone(), *index_type),
            IndexEngine::Faiss => (DEFAULT_ALIAS.to_owned(), MilvusIndexType::default()),
        };
        let index = MilvusIndex {
            client: connect(uri)?,
            engine: IndexEngine::Milvus {
                uri: uri.to_owned(),
                alias,
                collection: collection.to_owned(),
                index_type,
            },
            collection: collection.to_owned(),
            dim: info.dim,
            ntotal: 0,
            nlist: info.nlist.unwrap_or(1),
            default_nprobe: info.default_nprobe,
        };
        let ntotal = index.count()?;
        Ok(MilvusIndex { ntotal, ..index })
    }

    /// A collection just built (`build.rs`), before its nprobe is calibrated.
    pub(crate) fn built(
        client: ClientV2,
        target: &BuildTarget<'_>,
        collection: &str,
        dim: usize,
        ntotal: usize,
    ) -> MilvusIndex {
        let nlist = target.nlist;
        MilvusIndex {
            client,
            engine: IndexEngine::Milvus {
                uri: target.uri.to_owned(),
                alias: target.alias.to_owned(),
                collection: collection.to_owned(),
                index_type: target.index_type,
            },
            collection: collection.to_owned(),
            dim,
            ntotal,
            nlist,
            default_nprobe: None,
        }
    }

    /// The rows the collection holds, as Milvus counts them.
    pub fn count(&self) -> Result<usize> {
        let (client, name) = (self.client.clone(), self.collection.clone());
        let rows = wait(async move {
            let request = QueryRequest::builder()
                .collection_name(name)
                .filter("id >= 0")
                .output_fields(["count(*)"])
                .consistency_level(CONSISTENCY)
                .build()?;
            let response = client.query(request).await?;
            let mut rows = response.results().rows()?;
            Ok::<_, milvus::v2::error::Error>(match rows.next() {
                Some(row) => row.get_i64("count(*)")?,
                None => 0,
            })
        })
        .map_err(failed("count rows"))?;
        Ok(rows.max(0) as usize)
    }

    pub fn collection(&self) -> &str {
        &self.collection
    }
}

/// The filters as a Milvus boolean expression over the collection's fields, `None` when
/// there are none. Numbers print in Rust's shortest round-trip form, so the bounds Milvus
/// compares with are the ones the request carried.
pub fn expression(f: &Filters) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(c) = f.category {
        parts.push(format!("category == {c}"));
    }
    if let Some(m) = f.min_price {
        parts.push(format!("price >= {m}"));
    }
    if let Some(m) = f.max_price {
        parts.push(format!("price <= {m}"));
    }
    if let Some(m) = f.min_stars {
        parts.push(format!("stars >= {m}"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

impl VectorIndex for MilvusIndex {
    fn engine(&self) -> &IndexEngine {
        &self.engine
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn ntotal(&self) -> usize {
        self.ntotal
    }

    fn nlist(&self) -> Option<usize> {
        Some(self.nlist)
    }

    fn default_nprobe(&self) -> Option<usize> {
        self.default_nprobe
    }

    fn filters_in_search(&self) -> bool {
        true
    }

    /// One batched search of every query (Milvus takes at most 16,384 queries and k per call).
    fn search(&self, q: &Query<'_>) -> Result<Neighbours> {
        assert_eq!(
            q.vectors.len() % self.dim,
            0,
            "queries must be whole vectors"
        );
        let nq = q.vectors.len() / self.dim;
        let k = q.k.clamp(1, MAX_TOPK);
        let mut scores = vec![f32::MIN; nq * k];
        let mut labels = vec![-1i64; nq * k];
        if nq == 0 {
            return Ok(Neighbours::new(k, scores, labels));
        }
        if nq > MAX_TOPK {
            return Err(Error::param(
                "clicks",
                format!("Milvus searches at most {MAX_TOPK} vectors at once, not {nq}"),
            ));
        }
        let nprobe = self.check_nprobe(q.nprobe)?.unwrap_or(1);
        let vectors: Vec<Vec<f32>> = q.vectors.chunks(self.dim).map(<[f32]>::to_vec).collect();
        let filter = q.filters.and_then(expression);
        let (client, name) = (self.client.clone(), self.collection.clone());
        let t = Instant::now();
        let found = wait(async move {
            let mut request = SearchRequest::builder()
                .collection_name(name)
                .vector_field(VECTOR_FIELD)
                .vectors(SearchVectors::Float(vectors))
                .limit(k as i64)
                .metric_type(MetricType::Ip)
                .extra_params(std::collections::HashMap::from([(
                    "nprobe".to_owned(),
                    nprobe.to_string(),
                )]))
                .output_fields(["id"])
                .consistency_level(CONSISTENCY);
            if let Some(f) = filter {
                request = request.filter(f);
            }
            client.search(request.build()?).await
        })
        .map_err(failed("search"))?;
        let engine_ms = t.elapsed().as_secs_f64() * 1e3;
        for (i, hit) in found.results().iter().enumerate().take(nq) {
            let Ids::Int64(ids) = hit.get_ids() else {
                return Err(Error::Milvus {
                    what: "search",
                    message: "the collection's ids are not Int64 rows".into(),
                });
            };
            // Best first already (inner product, higher is better).
            for (slot, (&id, &score)) in ids.iter().zip(hit.get_scores()).take(k).enumerate() {
                labels[i * k + slot] = id;
                scores[i * k + slot] = score;
            }
        }
        let mut out = Neighbours::new(k, scores, labels);
        out.engine_ms = Some(engine_ms);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::expression;
    use common::Filters;

    #[test]
    fn filters_become_one_expression() {
        assert_eq!(expression(&Filters::default()), None);
        let f = Filters {
            category: Some(7),
            min_price: Some(5.0),
            max_price: Some(19.99),
            min_stars: Some(4.5),
        };
        assert_eq!(
            expression(&f).as_deref(),
            Some("category == 7 and price >= 5 and price <= 19.99 and stars >= 4.5")
        );
    }
}
