//! One build's artifacts, loaded and cross-checked: the index, the vectors, the asins, the
//! product rows and the popularity rankings. Swapped as a whole when a reindex finishes.

use crate::asin_table::AsinTable;
use crate::catalog::{self, Pool};
use crate::error::{Error, Result};
use crate::index::{Heaps, IndexEngine, SearchIndex, SearchKernels, VectorIndex};
use crate::layout::Layout;
use crate::manifest::{EmbeddingsInfo, IndexInfo, Manifest};
use crate::npy::Matrix;
use crate::util::ms_since;
use std::sync::OnceLock;
use std::time::Instant;

/// How many entries of the whole popularity ranking a build keeps in memory.
const POPULAR_KEPT: usize = 20_000;
/// How many entries of each category's popularity ranking a build keeps in memory.
const POPULAR_PER_CATEGORY: usize = 2_000;

/// An entry of a popularity ranking, with the columns filters need.
#[derive(Debug, Clone, Copy)]
pub struct PopularEntry {
    pub pos: u32,
    pub score: f32,
    pub price: f64,
    pub stars: f64,
    pub category: i64,
}

/// The top `limit` of the popularity ranking (of one category id, which may be NULL, or of all
/// with `None`), best first, as
/// build rows; products without a row in the build are left out.
fn read_popular(
    c: &rusqlite::Connection,
    category: Option<Option<i64>>,
    limit: usize,
    asins: &AsinTable,
) -> Result<Vec<PopularEntry>> {
    // Two statements, so that each walks its own index in score order.
    let mut st = c.prepare_cached(match category {
        None => {
            "SELECT asin, score, coalesce(price, 0), coalesce(stars, 0), coalesce(category_id, 0)
             FROM product_popularity WHERE ?1 IS NULL ORDER BY score DESC LIMIT ?2"
        }
        Some(_) => {
            "SELECT asin, score, coalesce(price, 0), coalesce(stars, 0), coalesce(category_id, 0)
             FROM product_popularity WHERE category_id IS ?1 ORDER BY score DESC LIMIT ?2"
        }
    })?;
    let rows = st.query_map(rusqlite::params![category.flatten(), limit as i64], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, f64>(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        ))
    })?;
    let mut v = Vec::with_capacity(limit.min(asins.len()));
    for row in rows {
        let (asin, score, price, stars, category) = row?;
        if let Some(pos) = asins.position(&asin) {
            v.push(PopularEntry {
                pos,
                score: score as f32,
                price,
                stars,
                category,
            });
        }
    }
    Ok(v)
}

/// Everything loaded from one build: swapped as a whole when a reindex finishes.
pub struct Loaded {
    /// The build's vectors, searched in process (FAISS) or on a Milvus server.
    pub index: Box<dyn VectorIndex>,
    /// `product_emb.npy` on disk: a recall reads only the clicked rows (pread).
    pub vectors: Matrix,
    /// Row i of the matrix and label i of the index is `asins.get(i)`.
    pub asins: AsinTable,
    pub embeddings: EmbeddingsInfo,
    pub info: IndexInfo,
    /// The most popular products, best first.
    pub popular: Vec<PopularEntry>,
    /// The most popular products of each category, best first.
    popular_by_category: hashbrown::HashMap<i64, Vec<PopularEntry>>,
    /// The build's product rows in index order (`products.rows`): enrichment reads them while
    /// the catalog is at the build's revision.
    pub rows: crate::rows::RowStore,
    /// Category names by id, looked up for every item of an answer (hashbrown's default
    /// hasher, not std's SipHash).
    pub category_names: hashbrown::HashMap<i64, String>,
    /// Exact (flat) index over the same vectors, built on first use by the ANN evaluation.
    exact: OnceLock<SearchIndex>,
    /// Each row's rank in the whole popularity ranking, read on first use by a summary.
    popularity_ranks: OnceLock<Vec<u32>>,
}

impl Loaded {
    /// Loads and cross-checks the artifacts of `layout` against the catalog.
    pub fn load(layout: &Layout, pool: &Pool, kernels: SearchKernels) -> Result<Loaded> {
        let revision = catalog::catalog_revision(&*pool.get()?)?;
        let (embeddings, info) = Manifest::check_fresh(layout, revision)?;
        let vectors = Matrix::open(&layout.embeddings())?;
        let text =
            std::fs::read_to_string(layout.asin_list()).map_err(Error::io(layout.asin_list()))?;
        let asins = AsinTable::from_lines(text);
        let t = Instant::now();
        let (index, faiss): (Box<dyn VectorIndex>, bool) = match &info.engine {
            IndexEngine::Faiss => {
                let index = SearchIndex::load_with_kernels(
                    &layout.index(),
                    info.default_nprobe,
                    Heaps::Caller,
                    kernels,
                )?;
                tracing::info!(ms = ms_since(t), vectors = index.ntotal, "read faiss.index");
                (Box::new(index), true)
            }
            IndexEngine::Milvus {
                uri, collection, ..
            } => {
                let index = crate::index::milvus::MilvusIndex::open(uri, collection, &info)?;
                tracing::info!(ms = ms_since(t), vectors = index.ntotal(), %uri, %collection, "opened the Milvus collection");
                (Box::new(index), false)
            }
        };
        let stale = |what, path, why: String| Error::StaleArtifact {
            what,
            path,
            why,
            fix: layout.fix("build"),
        };
        if vectors.rows() != asins.len() {
            return Err(stale(
                "the asin list",
                layout.asin_list(),
                format!("{} asins for {} vectors", asins.len(), vectors.rows()),
            ));
        }
        if index.ntotal() != vectors.rows() || index.dim() != vectors.cols() {
            return Err(stale(
                "the vector index",
                layout.index(),
                format!(
                    "{} vectors in the {} index, {} in product_emb.npy",
                    index.ntotal(),
                    index.engine().name(),
                    vectors.rows()
                ),
            ));
        }
        let (popular, popular_by_category) = {
            let c = pool.get()?;
            let top = read_popular(&c, None, POPULAR_KEPT, &asins)?;
            let mut by_category = hashbrown::HashMap::new();
            let ids: Vec<Option<i64>> = c
                .prepare("SELECT DISTINCT category_id FROM product_popularity")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in ids {
                let top = read_popular(&c, Some(id), POPULAR_PER_CATEGORY, &asins)?;
                by_category.insert(id.unwrap_or(0), top);
            }
            (top, by_category)
        };
        let rows = crate::rows::RowStore::open(
            &layout.rows(),
            asins.len(),
            embeddings.catalog_revision,
            info.build_number(),
            &layout.fix("index"),
        )?;
        let category_names = catalog::category_names(&*pool.get()?)?
            .into_iter()
            .collect();
        // Only now, with everything else read: from a cold page cache the prefaults stream the
        // index and the rows from disk, and the reads above would queue behind them. Serving
        // starts without waiting for them.
        rows.prefault_in_background();
        if faiss {
            // The FAISS file was just mapped by this process (a Milvus build has none).
            drop(SearchIndex::prefault_file(&layout.index()));
        }
        Ok(Loaded {
            index,
            vectors,
            asins,
            embeddings,
            info,
            popular,
            popular_by_category,
            rows,
            category_names,
            exact: OnceLock::new(),
            popularity_ranks: OnceLock::new(),
        })
    }

    /// Each row's 0-based rank in the catalog's whole popularity ranking (`u32::MAX`: not
    /// ranked), read on first use: one ordered pass over the ranking, once per build, so that
    /// a summary's popularity percentiles cost a lookup per item.
    pub fn popularity_ranks(&self, c: &rusqlite::Connection) -> Result<&[u32]> {
        if let Some(r) = self.popularity_ranks.get() {
            return Ok(r);
        }
        let mut ranks = vec![u32::MAX; self.asins.len()];
        let mut st = c.prepare("SELECT asin FROM product_popularity ORDER BY score DESC")?;
        let mut rows = st.query([])?;
        let mut rank = 0u32;
        while let Some(row) = rows.next()? {
            let asin: String = row.get(0)?;
            if let Some(pos) = self.asins.position(&asin) {
                ranks[pos as usize] = rank;
                rank += 1;
            }
        }
        Ok(self.popularity_ranks.get_or_init(|| ranks))
    }

    /// The most popular products of category `id`, best first.
    pub fn popular_in(&self, id: i64) -> &[PopularEntry] {
        self.popular_by_category.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The exact (flat) index over the build's vectors, built on first use.
    pub fn exact(&self) -> Result<&SearchIndex> {
        if let Some(e) = self.exact.get() {
            return Ok(e);
        }
        let built = crate::index::exact_index(&self.vectors.to_vec()?, self.vectors.cols())?;
        Ok(self.exact.get_or_init(|| built))
    }
}
