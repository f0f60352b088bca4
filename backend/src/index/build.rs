//! Building an index: the build's product rows, then the vectors into the engine the options
//! (or the data dir's last build) name: FAISS (trained on a bounded sample, every vector added,
//! `faiss.index` written atomically) or a Milvus collection ([`super::milvus::build`]); then
//! the default nprobe calibrated against exact search through [`VectorIndex`], the same way
//! for both, and the manifest, the build's commit point.

use super::ffi::{cpp_error, recall_lab_ivf_train};
use super::search::{Heaps, Neighbours, SearchIndex, SearchKernels};
use super::vector_index::{IndexEngine, Query, VectorIndex};
use super::{
    EngineTarget, IndexOptions, MAX_POINTS_PER_LIST, MIN_POINTS_PER_LIST, TARGET_RECALL_AT_10,
    auto_nlist,
};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::manifest::{IndexInfo, Manifest};
use faiss::{Index, MetricType};
use rand::SeedableRng;
use rand::seq::index::sample;

/// Trains `index` on `vectors` (whole rows of its dimension). An IVF index trains through
/// `recall_lab_ivf_train`: the same `IndexIVF::train` (FAISS's k-means, its parameters and
/// seed), with each iteration's assignment of the points to their nearest centroid computed
/// by one OpenMP team, every thread a single-threaded BLAS product over its own block of points
/// and a vectorised top-1 pass, instead of FAISS 1.12's multi-threaded BLAS call alternating
/// with its generic top-1 handler: two thread pools that spin and yield at every hand-over.
pub(super) fn train(index: &mut faiss::index::IndexImpl, vectors: &[f32]) -> Result<()> {
    // SAFETY: cast of a valid index pointer; null when not IVF.
    let ivf = unsafe { faiss_sys::faiss_IndexIVF_cast(index.inner_ptr()) };
    if ivf.is_null() {
        return Ok(index.train(vectors)?);
    }
    let n = vectors.len() / index.d() as usize;
    let mut error = [0 as std::os::raw::c_char; 512];
    // SAFETY: `ivf` is this index, not shared; `vectors` holds n rows; `error` is its length.
    let code = unsafe {
        recall_lab_ivf_train(
            ivf,
            n as i64,
            vectors.as_ptr(),
            error.as_mut_ptr(),
            error.len(),
        )
    };
    if code != 0 {
        return Err(cpp_error(&error));
    }
    Ok(())
}

/// Exact inner-product search over the same vectors (FAISS `IndexFlatIP`), the reference for
/// ANN recall.
pub fn exact_index(vectors: &[f32], dim: usize) -> Result<SearchIndex> {
    let mut flat = faiss::index_factory(dim as u32, "Flat", MetricType::InnerProduct)?;
    flat.add(vectors)?;
    Ok(SearchIndex::wrap(
        flat,
        None,
        Heaps::Faiss,
        SearchKernels::Faiss,
    ))
}

/// Mean fraction of the exact top-`k` found by the ANN search, over the given queries.
pub fn recall_at(ann: &Neighbours, exact: &Neighbours, nq: usize, k: usize) -> f64 {
    if nq == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for q in 0..nq {
        let truth: std::collections::HashSet<usize> =
            exact.row(q).take(k).map(|(l, _)| l).collect();
        let found = ann
            .row(q)
            .take(k)
            .filter(|(l, _)| truth.contains(l))
            .count();
        total += found as f64 / truth.len().max(1) as f64;
    }
    total / nq as f64
}

/// What an index build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexReport {
    /// `faiss` or `milvus`.
    pub engine: &'static str,
    pub factory: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub count: usize,
    pub trained_on: usize,
    pub recall_at_10: Option<f64>,
    pub train_seconds: f64,
    pub add_seconds: f64,
    /// Writing `products.rows` (the build's product rows, for enrichment).
    pub rows_seconds: f64,
    pub seconds: f64,
}

/// Builds the index from `product_emb.npy` in the engine `opts` names (else the one the data
/// dir's last build used, else FAISS), measures a default nprobe and records the build in the
/// manifest, after writing the build's product rows (`products.rows`, see [`crate::rows`]).
/// `progress` counts vectors sent to Milvus.
pub fn build(
    layout: &Layout,
    opts: &IndexOptions,
    progress: &indicatif::ProgressBar,
) -> Result<IndexReport> {
    let _writer = layout.lock_writer()?;
    let started = std::time::Instant::now();
    let manifest = Manifest::load(layout)?.unwrap_or_default();
    let emb = manifest
        .embeddings
        .clone()
        .ok_or_else(|| Error::MissingArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            fix: layout.fix("embed"),
        })?;
    if !layout.embeddings().exists() {
        return Err(Error::MissingArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            fix: layout.fix("embed"),
        });
    }
    let matrix = crate::npy::Matrix::open(&layout.embeddings())?;
    let (n, dim) = (matrix.rows(), matrix.cols());
    if n != emb.count || dim != emb.dim {
        return Err(Error::StaleArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            why: format!(
                "{n}×{dim} on disk but the manifest says {}×{}",
                emb.count, emb.dim
            ),
            fix: layout.fix("embed"),
        });
    }
    let t = std::time::Instant::now();
    let conn = crate::catalog::open(&layout.db())?;
    // Read at the catalog's current revision: if that is not the embeddings' one, loading the
    // build fails on the embeddings first (`Manifest::check_fresh`).
    let revision = crate::catalog::catalog_revision(&conn)?;
    // The rows record the build's id; the manifest, renamed last, is the build's commit point.
    let build: u64 = rand::random::<u64>() | 1;
    let rows = crate::rows::write(layout, &conn, revision, build)?;
    drop(conn);
    let rows_seconds = t.elapsed().as_secs_f64();
    tracing::info!(
        rows = rows.rows,
        bytes = rows.bytes,
        seconds = rows_seconds,
        "wrote products.rows"
    );
    let vectors = matrix.to_vec()?;
    drop(matrix);

    // A data dir keeps its engine across rebuilds (a server's reindex passes none).
    let target = match &opts.engine {
        Some(t) => t.clone(),
        None => match manifest.index.as_ref().map(|i| &i.engine) {
            Some(IndexEngine::Milvus {
                uri,
                alias,
                index_type,
                ..
            }) => EngineTarget::Milvus {
                uri: uri.clone(),
                alias: Some(alias.clone()),
                index_type: *index_type,
            },
            _ => EngineTarget::Faiss,
        },
    };
    let nlist_auto = opts.nlist.unwrap_or_else(|| auto_nlist(n));
    let build_id = format!("{build:016x}");
    let (built, factory, trained_on, train_seconds, add_seconds) = match &target {
        EngineTarget::Faiss => {
            let factory = opts
                .factory
                .clone()
                .unwrap_or_else(|| format!("IVF{nlist_auto},Flat"));
            let (index, trained_on, train_seconds, add_seconds) =
                build_faiss(&factory, &vectors, dim)?;
            (
                Built::Faiss(index),
                factory,
                trained_on,
                train_seconds,
                add_seconds,
            )
        }
        EngineTarget::Milvus {
            uri,
            alias,
            index_type,
        } => {
            if opts.factory.is_some() {
                return Err(Error::param(
                    "factory",
                    "a FAISS factory string does not apply to the Milvus engine, which builds IVF_FLAT",
                ));
            }
            let alias = alias
                .clone()
                .unwrap_or_else(|| super::milvus::DEFAULT_ALIAS.into());
            let t = std::time::Instant::now();
            // The filter columns go to Milvus as the answer's own filter reads them.
            let rows = crate::rows::RowStore::open(
                &layout.rows(),
                n,
                revision,
                build,
                &layout.fix("index"),
            )?;
            let index = super::milvus::build(
                &super::milvus::BuildTarget {
                    uri,
                    alias: &alias,
                    build_id: &build_id,
                    nlist: nlist_auto,
                    index_type: *index_type,
                },
                &vectors,
                dim,
                &rows,
                progress,
            )?;
            let add_seconds = t.elapsed().as_secs_f64();
            let factory = format!("{},nlist={nlist_auto}", index_type.name());
            (Built::Milvus(Box::new(index)), factory, n, 0.0, add_seconds)
        }
    };

    let (default_nprobe, recall_at_10) = calibrate(built.index(), &vectors, dim, opts)?;
    let engine = built.index().engine().clone();
    let nlist = built.index().nlist();
    if let Built::Faiss(mut search) = built {
        search.default_nprobe = default_nprobe;
        if let Some(np) = default_nprobe {
            // SAFETY: not shared yet; sets the nprobe stored in the file for Python users.
            unsafe { faiss_sys::faiss_IndexIVF_set_nprobe(search.ivf, np) };
        }
        let path = layout.index();
        let tmp = path.with_extension("index.tmp");
        let tmp_str = tmp.to_str().ok_or_else(|| Error::Format {
            path: tmp.clone(),
            message: "path is not UTF-8".into(),
        })?;
        faiss::write_index(&search.inner, tmp_str)?;
        std::fs::rename(&tmp, &path).map_err(Error::io(&path))?;
    }

    let seconds = started.elapsed().as_secs_f64();
    let mut manifest = manifest;
    manifest.index = Some(IndexInfo {
        build_id,
        engine: engine.clone(),
        factory: factory.clone(),
        metric: "inner_product".into(),
        nlist,
        default_nprobe,
        dim,
        count: n,
        model: emb.model.clone(),
        catalog_revision: emb.catalog_revision,
        built_at: crate::util::now_rfc3339(),
        build_seconds: seconds,
        recall_at_10,
    });
    manifest.save(layout)?;
    if let IndexEngine::Milvus {
        uri,
        alias,
        collection,
        ..
    } = &engine
    {
        // After the commit point: the alias moves to a collection this data dir now serves,
        // and a FAISS index from an earlier build is no longer what the manifest describes.
        super::milvus::publish(uri, alias, collection)?;
        match std::fs::remove_file(layout.index()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(layout.index())(e));
            }
            _ => {}
        }
    }
    Ok(IndexReport {
        engine: engine.name(),
        factory,
        nlist,
        default_nprobe,
        count: n,
        trained_on,
        recall_at_10,
        train_seconds,
        add_seconds,
        rows_seconds,
        seconds,
    })
}

/// Trains and fills a FAISS index in memory: (index, training points, train s, add s).
fn build_faiss(
    factory: &str,
    vectors: &[f32],
    dim: usize,
) -> Result<(SearchIndex, usize, f64, f64)> {
    let n = vectors.len() / dim;
    let mut index = faiss::index_factory(dim as u32, factory, MetricType::InnerProduct)
        .map_err(|e| Error::param("factory", format!("FAISS rejected {factory:?}: {e}")))?;
    let mut trained_on = 0;
    let t = std::time::Instant::now();
    if !index.is_trained() {
        // SAFETY: cast of a valid index pointer; null when not IVF.
        let nlist = unsafe {
            let ivf = faiss_sys::faiss_IndexIVF_cast(index.inner_ptr());
            (!ivf.is_null()).then(|| faiss_sys::faiss_IndexIVF_nlist(ivf))
        };
        let cap = nlist.map(|nl| nl * MAX_POINTS_PER_LIST).unwrap_or(n).min(n);
        if let Some(nl) = nlist
            && n < nl * MIN_POINTS_PER_LIST
        {
            tracing::warn!(
                n,
                nlist = nl,
                "fewer than 39 training points per list; FAISS will warn and recall may suffer"
            );
        }
        let train: Vec<f32> = if cap < n {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
            let mut picks = sample(&mut rng, n, cap).into_vec();
            picks.sort_unstable();
            picks
                .iter()
                .flat_map(|&i| &vectors[i * dim..(i + 1) * dim])
                .copied()
                .collect()
        } else {
            vectors.to_vec()
        };
        trained_on = train.len() / dim;
        self::train(&mut index, &train)?;
    }
    let train_seconds = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    index.add(vectors)?;
    let add_seconds = t.elapsed().as_secs_f64();
    // Searched (for calibration) as `SearchIndex::load` will search it.
    let search = SearchIndex::wrap(index, None, Heaps::Caller, SearchKernels::default());
    Ok((search, trained_on, train_seconds, add_seconds))
}

/// An index just built, before its manifest entry.
enum Built {
    Faiss(SearchIndex),
    Milvus(Box<super::milvus::MilvusIndex>),
}

impl Built {
    fn index(&self) -> &dyn VectorIndex {
        match self {
            Built::Faiss(i) => i,
            Built::Milvus(i) => &**i,
        }
    }
}

/// Picks the smallest power-of-two nprobe whose recall@10 against exact search reaches
/// [`TARGET_RECALL_AT_10`] on a sample of catalog vectors used as queries.
fn calibrate(
    index: &dyn VectorIndex,
    vectors: &[f32],
    dim: usize,
    opts: &IndexOptions,
) -> Result<(Option<usize>, Option<f64>)> {
    let Some(nlist) = index.nlist() else {
        return Ok((None, None));
    };
    let n = vectors.len() / dim;
    let nq = opts.calibration_queries.clamp(1, 500).min(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let queries: Vec<f32> = sample(&mut rng, n, nq)
        .into_iter()
        .flat_map(|i| &vectors[i * dim..(i + 1) * dim])
        .copied()
        .collect();
    let exact = exact_search(vectors, dim, &queries, 10)?;
    let measure = |np: usize| -> Result<f64> {
        Ok(recall_at(
            &index.search(&Query::new(&queries, 10, Some(np)))?,
            &exact,
            nq,
            10,
        ))
    };
    if let Some(np) = opts.nprobe {
        let np = np.clamp(1, nlist);
        return Ok((Some(np), Some(measure(np)?)));
    }
    let mut np = 1;
    loop {
        let r = measure(np)?;
        if r >= TARGET_RECALL_AT_10 || np >= nlist {
            return Ok((Some(np), Some(r)));
        }
        np = (np * 2).min(nlist);
    }
}

/// Exact top-`k` of `queries` over `vectors`, with FAISS's flat inner-product index.
pub fn exact_search(vectors: &[f32], dim: usize, queries: &[f32], k: usize) -> Result<Neighbours> {
    exact_index(vectors, dim)?.search(queries, k, None)
}
