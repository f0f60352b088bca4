//! The recall engine: loads the artifacts once, then answers recall, similar-item, semantic
//! search and ANN-quality questions from any number of threads. Channels (content, CF,
//! popularity) run per request; their lists are fused and enriched from SQLite in recall order.

use crate::asin_table::AsinTable;
use crate::catalog::{self, Pool};
use crate::clicks;
use crate::embed::{Embedder, ModelPaths};
use crate::error::{Error, Result};
use crate::ids::{Asin, UserId};
use crate::index::{SearchIndex, recall_at};
use crate::layout::Layout;
use crate::manifest::{EmbeddingsInfo, IndexInfo, Manifest};
use crate::npy::Matrix;
use crate::util::ms_since;
use common::{
    Aggregate, AnnEval, AnnPoint, Channel, ChannelCounts, ChannelScores, Fusion,
    NeighboursResponse, RecallItem, RecallParams, RecallResponse, ScoredProduct, Timings,
    UsedParams,
};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Reciprocal-rank-fusion constant (Cormack et al.).
pub const RRF_K: f32 = 60.0;
/// The channel lists a recall fuses: one per [`Channel`].
const MAX_LISTS: usize = 3;

/// Everything loaded from one build: swapped as a whole when a reindex finishes.
pub struct Loaded {
    pub index: SearchIndex,
    /// `product_emb.npy` on disk: a recall reads only the clicked rows (pread).
    pub vectors: Matrix,
    /// Row i of the matrix and label i of the index is `asins.get(i)`.
    pub asins: AsinTable,
    pub embeddings: EmbeddingsInfo,
    pub info: IndexInfo,
    /// The most popular products, best first (the popularity channel reads only this).
    pub popular: Vec<PopularEntry>,
    /// The build's product rows in index order (`products.rows`): enrichment reads them while
    /// the catalog is at the build's revision.
    pub rows: crate::rows::RowStore,
    /// Category names by id, looked up for every item of an answer (hashbrown's default
    /// hasher, not std's SipHash).
    pub category_names: hashbrown::HashMap<i64, String>,
    /// Exact (flat) index over the same vectors, built on first use by the ANN evaluation.
    exact: OnceLock<SearchIndex>,
}

impl Loaded {
    /// Loads and cross-checks the artifacts of `layout` against the catalog.
    pub fn load(layout: &Layout, pool: &Pool) -> Result<Loaded> {
        let revision = catalog::catalog_revision(&*pool.get()?)?;
        let (embeddings, info) = Manifest::check_fresh(layout, revision)?;
        let vectors = Matrix::open(&layout.embeddings())?;
        let text =
            std::fs::read_to_string(layout.asin_list()).map_err(Error::io(layout.asin_list()))?;
        let asins = AsinTable::from_lines(text);
        let t = Instant::now();
        let index = SearchIndex::load(&layout.index(), info.default_nprobe)?;
        tracing::info!(ms = ms_since(t), vectors = index.ntotal, "read faiss.index");
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
        if index.ntotal != vectors.rows() || index.dim != vectors.cols() {
            return Err(stale(
                "the FAISS index",
                layout.index(),
                format!(
                    "{} vectors in the index, {} in product_emb.npy",
                    index.ntotal,
                    vectors.rows()
                ),
            ));
        }
        // The popularity top is one covering-index scan (the table carries the filter columns).
        let popular = {
            let c = pool.get()?;
            let mut st = c.prepare(
                "SELECT asin, score, coalesce(price, 0), coalesce(stars, 0), coalesce(category_id, 0)
                 FROM product_popularity ORDER BY score DESC LIMIT ?1",
            )?;
            let rows = st.query_map([POPULAR_KEPT as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })?;
            let mut v = Vec::with_capacity(POPULAR_KEPT.min(asins.len()));
            for row in rows {
                let (asin, score, price, stars, category) = row?;
                if let Some(p) = asins.position(&asin) {
                    v.push(PopularEntry {
                        pos: p,
                        score: score as f32,
                        price,
                        stars,
                        category,
                    });
                }
            }
            v
        };
        let rows = crate::rows::RowStore::open(
            &layout.rows(),
            asins.len(),
            embeddings.catalog_revision,
            &layout.fix("index"),
        )?;
        let category_names = catalog::category_names(&*pool.get()?)?
            .into_iter()
            .collect();
        // Only now, with everything else read: from a cold page cache the prefaults stream the
        // index and the rows from disk, and the reads above would queue behind them. Serving
        // starts without waiting for them.
        rows.prefault_in_background();
        drop(index.prefault_in_background(&layout.index()));
        Ok(Loaded {
            index,
            vectors,
            asins,
            embeddings,
            info,
            popular,
            rows,
            category_names,
            exact: OnceLock::new(),
        })
    }

    fn exact(&self) -> Result<&SearchIndex> {
        if let Some(e) = self.exact.get() {
            return Ok(e);
        }
        let built = crate::index::exact_index(&self.vectors.to_vec()?, self.vectors.cols())?;
        Ok(self.exact.get_or_init(|| built))
    }
}

/// The engine: catalog pool, the current build, and a lazily loaded model for text queries.
pub struct Engine {
    pub layout: Layout,
    pub pool: Pool,
    loaded: arc_swap::ArcSwap<Loaded>,
    generation: std::sync::atomic::AtomicU64,
    model_paths: ModelPaths,
    embedder: Mutex<Option<Embedder>>,
    /// The enrichment reader (memory-mapped, see [`catalog::reader`]); one per process.
    reader: Mutex<rusqlite::Connection>,
    /// Product and category counts for the catalog listing, per catalog revision.
    stats: catalog::StatsCache,
    /// Recalls running now, to size each one's FAISS team.
    inflight: std::sync::atomic::AtomicUsize,
    cores: usize,
}

/// A recall in progress: counted while it lives. Uncounts on drop.
struct InFlight<'a> {
    count: &'a std::sync::atomic::AtomicUsize,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A candidate of one channel: its row in the build, its score, and which clicks recalled it
/// (bit i set: `clicks[i]`; at most 100 clicks drive a recall).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cand {
    pub pos: u32,
    pub score: f32,
    pub because: u128,
}

/// A recall up to its fused list, before enrichment: what both answer forms start from.
struct Plan {
    loaded: Arc<Loaded>,
    user: Option<String>,
    /// The clicks that drove it, most recent first.
    clicks: Vec<String>,
    fused: Vec<Fused>,
    source: RowSource,
    used: UsedParams,
    /// Candidates of the content, CF and popularity channels.
    candidates: [usize; 3],
    timings: Timings,
    /// Of `timings.search_ms`: the aggregation of the hits after the FAISS search.
    aggregate_ms: f64,
    warnings: Vec<String>,
    started: Instant,
}

/// How a recall answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The public JSON of [`RecallResponse`].
    Json,
    /// The bincode of `common::wire` (what the browser app asks for).
    Bincode,
}

/// The clicks whose bits are set in `mask` (bit i: `clicks[i]`), in click order.
#[derive(Clone, Copy)]
struct Because<'a> {
    clicks: &'a [String],
    mask: u128,
}

impl<'a> Because<'a> {
    fn iter(self) -> impl Iterator<Item = &'a str> {
        self.clicks
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.mask & (1u128 << i) != 0)
            .map(|(_, a)| a.as_str())
    }
}

/// The channel counts of an answer whose items carry `returned` scores, and the warnings a
/// short or click-less answer gets.
fn summarise<'a>(
    [content, cf, popular]: [usize; 3],
    returned: impl Iterator<Item = &'a ChannelScores>,
    topn: usize,
    no_clicks: bool,
    warnings: &mut Vec<String>,
) -> ChannelCounts {
    let mut counts = ChannelCounts {
        content_candidates: content,
        cf_candidates: cf,
        popular_candidates: popular,
        ..Default::default()
    };
    let mut n = 0;
    for c in returned {
        n += 1;
        counts.content_returned += usize::from(c.content.is_some());
        counts.cf_returned += usize::from(c.cf.is_some());
        counts.popular_returned += usize::from(c.popular.is_some());
    }
    if n < topn {
        warnings.push(format!(
            "{n} of {topn} items: content found {content}, CF {cf}, popularity {popular} candidates"
        ));
    }
    if no_clicks {
        warnings.push("no clicks: only the popularity channel can answer".into());
    }
    counts
}

/// Where a request reads product rows from (see `Engine::row_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowSource {
    /// `products.rows`, by position in the build.
    Build,
    /// The catalog (SQLite), by rowid.
    Catalog,
}

/// One channel's list, best first.
pub type Ranked = Vec<Cand>;

/// The top of the popularity ranking with the columns filters need, read once per build.
pub struct PopularEntry {
    pub pos: u32,
    pub score: f32,
    pub price: f64,
    pub stars: f64,
    pub category: i64,
}

/// How an [`Engine`] opens its catalog and model.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// SQLite connections in the pool.
    pub pool_size: u32,
    /// How much of the database the enrichment reader memory-maps ([`catalog::reader`]).
    pub reader_map_bytes: u64,
    /// A folder with another ONNX sentence model (the one the index was built with).
    pub model_dir: Option<std::path::PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pool_size: 2,
            reader_map_bytes: catalog::DEFAULT_READER_MAP_BYTES,
            model_dir: None,
        }
    }
}

/// Below this many items an answer is written on one thread: handing half to a helper costs
/// more than it saves.
const MIN_ITEMS_TO_SPLIT: usize = 64;
/// A written item's usual size (bincode about 340 bytes, JSON about 570), to size a buffer.
const ITEM_BYTES_GUESS: usize = 512;

/// How many popularity entries a build keeps in memory.
const POPULAR_KEPT: usize = 20_000;

impl Engine {
    pub fn open(layout: Layout, options: &EngineOptions) -> Result<Engine> {
        let pool = catalog::pool(&layout.db(), options.pool_size)?;
        let loaded = Loaded::load(&layout, &pool)?;
        let reader = Mutex::new(catalog::reader(&layout.db(), options.reader_map_bytes)?);
        Ok(Engine {
            reader,
            layout,
            pool,
            loaded: arc_swap::ArcSwap::from_pointee(loaded),
            generation: 0.into(),
            model_paths: ModelPaths::resolve(options.model_dir.as_deref()),
            embedder: Mutex::new(None),
            stats: catalog::StatsCache::default(),
            inflight: 0.into(),
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        })
    }

    pub fn current(&self) -> Arc<Loaded> {
        self.loaded.load_full()
    }

    /// Replaces the loaded build; requests in flight finish on the old one.
    pub fn swap(&self, next: Loaded) {
        self.loaded.store(Arc::new(next));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Marks a recall as running; alone it may use every core, with company one. Sets the
    /// calling thread's FAISS team size accordingly.
    fn running(&self) -> InFlight<'_> {
        let before = self
            .inflight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let team = if before == 0 { self.cores } else { 1 };
        crate::index::set_search_threads(team);
        InFlight {
            count: &self.inflight,
        }
    }

    /// The enrichment reader. A panic while it was held leaves no state to repair (it only
    /// reads), so a poisoned lock is taken over.
    fn reader(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn conn(&self) -> Result<catalog::Conn> {
        Ok(self.pool.get()?)
    }

    /// The catalog's product and category counts, recomputed only after an import.
    pub fn catalog_stats(&self) -> Result<Arc<catalog::CatalogStats>> {
        self.stats.get(&*self.conn()?)
    }

    /// Recall for a stored user: their most recent clicks drive it.
    pub fn recall_user(&self, user: &UserId, params: &RecallParams) -> Result<RecallResponse> {
        let _running = self.running();
        let plan = self.plan_user(user, params)?;
        self.materialise(plan, params)
    }

    /// [`Engine::recall_user`], appended to `out` in `encoding` (see [`Engine::recall_into`]).
    pub fn recall_user_into(
        &self,
        user: &UserId,
        params: &RecallParams,
        encoding: Encoding,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let _running = self.running();
        let plan = self.plan_user(user, params)?;
        self.encode(plan, params, encoding, out)
    }

    fn plan_user(&self, user: &UserId, params: &RecallParams) -> Result<Plan> {
        let t = Instant::now();
        let clicks = {
            let c = self.conn()?;
            if !clicks::user_exists(&c, user)? {
                return Err(Error::UnknownUser(user.to_string()));
            }
            clicks::recent_clicks(&c, user, params.recent_clicks)?
        };
        let clicks_ms = ms_since(t);
        let mut plan = self.plan(&clicks, Some(user), params)?;
        plan.timings.clicks_ms = clicks_ms;
        Ok(plan)
    }

    /// Fails with [`Error::UnknownProduct`] for the first asin that names no product. Asins of
    /// the loaded build are known without a query (products are never deleted); only the
    /// others are looked up in the catalog.
    pub fn check_known(&self, asins: &[String]) -> Result<()> {
        let loaded = self.current();
        let unbuilt: Vec<&str> = asins
            .iter()
            .map(String::as_str)
            .filter(|a| loaded.asins.position(a).is_none())
            .collect();
        if unbuilt.is_empty() {
            return Ok(());
        }
        let found = catalog::products_in_order(&*self.conn()?, unbuilt.iter().copied())?;
        match unbuilt.iter().zip(&found).find(|(_, p)| p.is_none()) {
            Some((a, _)) => Err(Error::UnknownProduct((*a).to_owned())),
            None => Ok(()),
        }
    }

    /// Recall for a click list, most recent first. Unknown asins are a client error.
    pub fn recall(
        &self,
        clicks_recent_first: &[String],
        user: Option<&UserId>,
        params: &RecallParams,
    ) -> Result<RecallResponse> {
        let _running = self.running();
        let plan = self.plan(clicks_recent_first, user, params)?;
        self.materialise(plan, params)
    }

    /// [`Engine::recall`], appended to `out` in `encoding`: the bytes `serde_json` or
    /// `common::wire` would write for the typed answer. Without filters, while the catalog is at
    /// the build's revision, each product is written from its `products.rows` record (bincode:
    /// the record's bytes, which are the product's bincode around the category name; JSON: its
    /// strings borrowed from the record) instead of being copied into a typed answer first;
    /// otherwise the typed answer is encoded.
    pub fn recall_into(
        &self,
        clicks_recent_first: &[String],
        user: Option<&UserId>,
        params: &RecallParams,
        encoding: Encoding,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let _running = self.running();
        let plan = self.plan(clicks_recent_first, user, params)?;
        self.encode(plan, params, encoding, out)
    }

    /// Everything up to the fused list: clicks, the three channels, fusion. Callers hold
    /// [`Engine::running`] for the whole request.
    fn plan(
        &self,
        clicks_recent_first: &[String],
        user: Option<&UserId>,
        params: &RecallParams,
    ) -> Result<Plan> {
        let started = Instant::now();
        params.validate()?;
        let loaded = self.current();
        let mut clicks: Vec<String> = Vec::new();
        for a in clicks_recent_first {
            if !clicks.contains(a) {
                clicks.push(a.clone());
            }
        }
        clicks.truncate(params.recent_clicks);
        let clicked_pos: Vec<u32> = clicks
            .iter()
            .filter_map(|a| loaded.asins.position(a))
            .collect();
        let mut timings = Timings::default();
        let mut warnings = Vec::new();
        let topn = params.topn;
        // With filters, fetch more so that enough candidates survive them.
        let overfetch = if params.filters.is_empty() { 1 } else { 4 };
        let k = ((topn + clicks.len()) * overfetch).min(loaded.index.ntotal.max(1));
        let nprobe = match params.nprobe {
            Some(_) => loaded.index.check_nprobe(params.nprobe)?,
            None => loaded.index.nprobe_for_k(k),
        };

        // Content channel: one batched FAISS search for all clicks.
        let t = Instant::now();
        let mut content: Ranked = Vec::new();
        let mut aggregate_ms = 0.0;
        if params.uses(Channel::Content) && !clicks.is_empty() {
            let mut queries = Vec::with_capacity(clicks.len() * loaded.vectors.cols());
            let mut sources = Vec::with_capacity(clicks.len());
            for (i, a) in clicks.iter().enumerate() {
                if let Some(p) = loaded.asins.position(a) {
                    loaded.vectors.extend_row(p as usize, &mut queries)?;
                    sources.push(i);
                } else {
                    warnings.push(format!("clicked item {a} has no vector (added after the last build); the content channel skips it"));
                }
            }
            let found = loaded.index.search_any_order(&queries, k, nprobe)?;
            let t = Instant::now();
            content = aggregate_hits(&found, &sources, &clicked_pos, params.aggregate);
            aggregate_ms = ms_since(t);
        }
        timings.search_ms = ms_since(t);

        let conn = self.conn()?;
        // One read transaction for this request's catalog reads (CF, then the revision check):
        // one snapshot, and one WAL read lock instead of one per statement (a CF query per
        // click and per co-clicked item, each its own transaction otherwise).
        let snapshot = conn.unchecked_transaction()?;
        let t = Instant::now();
        let mut cf: Ranked = Vec::new();
        if params.uses(Channel::Cf) && !clicks.is_empty() {
            let mut unindexed = 0;
            for c in clicks::cf_candidates(&snapshot, &clicks, user, k)? {
                let Some(pos) = loaded.asins.position(&c.asin) else {
                    unindexed += 1;
                    continue;
                };
                let because = c
                    .because
                    .iter()
                    .filter_map(|b| clicks.iter().position(|x| x == b))
                    .fold(0u128, |m, i| m | 1u128 << i);
                cf.push(Cand {
                    pos,
                    score: c.score,
                    because,
                });
            }
            if unindexed > 0 {
                warnings.push(format!("{unindexed} CF candidates were added after the last build and are skipped until a reindex"));
            }
        }
        timings.cf_ms = ms_since(t);

        let t = Instant::now();
        let mut popular: Ranked = Vec::new();
        if params.uses(Channel::Popular) {
            let f = &params.filters;
            popular = loaded
                .popular
                .iter()
                .filter(|e| {
                    !clicked_pos.contains(&e.pos)
                        && f.category.is_none_or(|x| x == e.category)
                        && f.min_price.is_none_or(|m| e.price >= m)
                        && f.max_price.is_none_or(|m| e.price <= m)
                        && f.min_stars.is_none_or(|m| e.stars >= m)
                })
                .take(topn)
                .map(|e| Cand {
                    pos: e.pos,
                    score: e.score,
                    because: 0,
                })
                .collect();
        }
        timings.popular_ms = ms_since(t);

        let t = Instant::now();
        let lists = [
            (Channel::Content, &content),
            (Channel::Cf, &cf),
            (Channel::Popular, &popular),
        ];
        // Without filters the answer is the fused list's top `topn`; with them, any of it may be.
        let keep = if params.filters.is_empty() {
            topn
        } else {
            usize::MAX
        };
        let fused = fuse(params.fusion, &params.weights, &lists, keep);
        timings.fusion_ms = ms_since(t);
        let source = self.row_source(&loaded, &snapshot)?;
        snapshot.commit()?;
        Ok(Plan {
            used: UsedParams {
                topn,
                nprobe,
                k_per_click: k,
                fusion: params.fusion,
                aggregate: params.aggregate,
                channels: params.channels.clone(),
                weights: params.weights,
                recent_clicks: params.recent_clicks,
                filters: params.filters.clone(),
            },
            candidates: [content.len(), cf.len(), popular.len()],
            user: user.map(|u| u.to_string()),
            loaded,
            clicks,
            fused,
            source,
            timings,
            aggregate_ms,
            warnings,
            started,
        })
    }

    /// The typed answer: the fused list enriched in order (filters apply here).
    fn materialise(&self, plan: Plan, params: &RecallParams) -> Result<RecallResponse> {
        let Plan {
            loaded,
            user,
            clicks,
            fused,
            source,
            used,
            candidates,
            mut timings,
            aggregate_ms,
            mut warnings,
            started,
        } = plan;
        let topn = used.topn;
        // Enrichment in fused order; filters apply here, and we stop at topn. Without filters
        // exactly topn rows are read; with them, chunks until topn pass.
        let t = Instant::now();
        let item = |f: &Fused, mut product: common::Product| {
            product.category_name = loaded.category_names.get(&product.category_id).cloned();
            let because = Because {
                clicks: &clicks,
                mask: f.because,
            }
            .iter()
            .map(str::to_owned)
            .collect();
            RecallItem {
                rank: 0,
                score: f.score,
                channels: f.channels.clone(),
                because,
                product,
            }
        };
        let mut items: Vec<RecallItem> = if params.filters.is_empty() && source == RowSource::Build
        {
            // The fused list is the answer (fuse kept topn), and every row is in the build.
            let positions: Vec<u32> = fused.iter().map(|f| f.pos).collect();
            fused
                .iter()
                .zip(loaded.rows.products(&positions)?)
                .map(|(f, product)| item(f, product))
                .collect()
        } else {
            // Filters apply here: chunks of the fused list until topn pass.
            let mut items = Vec::with_capacity(topn.min(fused.len()));
            let chunk = topn.max(64);
            let mut fused = fused.into_iter().peekable();
            while items.len() < topn && fused.peek().is_some() {
                let batch: Vec<Fused> = fused.by_ref().take(chunk).collect();
                let products =
                    self.products_at(&loaded, source, batch.iter().map(|f| f.pos as usize))?;
                for (f, product) in batch.iter().zip(products) {
                    if items.len() >= topn {
                        break;
                    }
                    if let Some(product) = product.filter(|p| params.filters.accepts(p)) {
                        items.push(item(f, product));
                    }
                }
            }
            items
        };
        for (i, it) in items.iter_mut().enumerate() {
            it.rank = i + 1;
        }
        timings.enrich_ms = ms_since(t);

        let counts = summarise(
            candidates,
            items.iter().map(|i| &i.channels),
            topn,
            clicks.is_empty(),
            &mut warnings,
        );
        finish_timings(&mut timings, started, aggregate_ms);
        Ok(RecallResponse {
            user,
            clicks,
            params: used,
            items,
            timings,
            counts,
            warnings,
        })
    }

    /// The encoded answer; see [`Engine::recall_into`].
    fn encode(
        &self,
        plan: Plan,
        params: &RecallParams,
        encoding: Encoding,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let failed = |message: String| Error::Format {
            path: "response".into(),
            message,
        };
        if !(params.filters.is_empty() && plan.source == RowSource::Build) {
            let answer = self.materialise(plan, params)?;
            return match encoding {
                Encoding::Json => {
                    serde_json::to_writer(out, &answer).map_err(|e| failed(e.to_string()))
                }
                Encoding::Bincode => {
                    common::wire::encode_recall(&answer, out).map_err(|e| failed(e.to_string()))
                }
            };
        }
        let Plan {
            loaded,
            user,
            clicks,
            fused,
            used,
            candidates,
            mut timings,
            aggregate_ms,
            mut warnings,
            started,
            ..
        } = plan;
        // Without filters, fuse kept exactly the answer: every fused item is returned.
        let counts = summarise(
            candidates,
            fused.iter().map(|f| &f.channels),
            used.topn,
            clicks.is_empty(),
            &mut warnings,
        );
        let t = Instant::now();
        let positions: Vec<u32> = fused.iter().map(|f| f.pos).collect();
        loaded.rows.prefetch(&positions);
        let name = |id: i64| loaded.category_names.get(&id).map(String::as_str);
        match encoding {
            Encoding::Bincode => {
                let failed = |e: common::wire::WireError| failed(e.to_string());
                let mut w = common::wire::Writer::new(out);
                w.put(&(&user, &clicks, &used)).map_err(failed)?;
                w.put(&(fused.len() as u64)).map_err(failed)?;
                self.write_items(&fused, w.buffer(), |items, first_rank, out| {
                    let mut w = common::wire::Writer::new(out);
                    for (i, f) in items.iter().enumerate() {
                        // RecallItem's fields in order: rank, score, channels, because, then
                        // the product.
                        let because = Because {
                            clicks: &clicks,
                            mask: f.because,
                        };
                        w.put(&((first_rank + i) as u64, f.score, &f.channels))
                            .map_err(failed)?;
                        w.put(&(because.iter().count() as u64)).map_err(failed)?;
                        for a in because.iter() {
                            w.put(a).map_err(failed)?;
                        }
                        loaded
                            .rows
                            .encode_product(f.pos as usize, name, w.buffer())?;
                    }
                    Ok(())
                })?;
                timings.enrich_ms = ms_since(t);
                finish_timings(&mut timings, started, aggregate_ms);
                w.put(&(&timings, &counts, &warnings)).map_err(failed)?;
            }
            Encoding::Json => {
                use crate::answer_json::{item_head, value};
                let failed = |e: serde_json::Error| failed(e.to_string());
                // RecallResponse's fields in order, with its omissions; the items by hand.
                out.push(b'{');
                if user.is_some() {
                    out.extend_from_slice(b"\"user\":");
                    value(out, &user).map_err(failed)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"\"clicks\":");
                value(out, &clicks).map_err(failed)?;
                out.extend_from_slice(b",\"params\":");
                value(out, &used).map_err(failed)?;
                out.extend_from_slice(b",\"items\":[");
                self.write_items(&fused, out, |items, first_rank, out| {
                    for (i, f) in items.iter().enumerate() {
                        let rank = first_rank + i;
                        if rank > 1 {
                            out.push(b',');
                        }
                        let because = Because {
                            clicks: &clicks,
                            mask: f.because,
                        };
                        item_head(out, rank, f.score, &f.channels, because.iter());
                        loaded.rows.write_product_json(f.pos as usize, name, out)?;
                        out.push(b'}');
                    }
                    Ok(())
                })?;
                timings.enrich_ms = ms_since(t);
                finish_timings(&mut timings, started, aggregate_ms);
                out.extend_from_slice(b"],\"timings\":");
                value(out, &timings).map_err(failed)?;
                out.extend_from_slice(b",\"counts\":");
                value(out, &counts).map_err(failed)?;
                if !warnings.is_empty() {
                    out.extend_from_slice(b",\"warnings\":");
                    value(out, &warnings).map_err(failed)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// Writes the answer's items with `write(items, rank of the first, out)`. A recall running
    /// alone writes them in two halves at once, the second on a helper thread into its own
    /// buffer, appended after the first: at c=1 the other core is idle once the search is done,
    /// and the rows are most of what is left. Under load each recall writes its own items on
    /// its own thread, as every core already has a recall of its own.
    fn write_items(
        &self,
        fused: &[Fused],
        out: &mut Vec<u8>,
        write: impl Fn(&[Fused], usize, &mut Vec<u8>) -> Result<()> + Sync,
    ) -> Result<()> {
        if fused.len() < MIN_ITEMS_TO_SPLIT || !self.alone() {
            return write(fused, 1, out);
        }
        let mid = fused.len() / 2;
        let (head, tail) = fused.split_at(mid);
        let write = &write;
        let (here, there) = crate::cores::join(
            || write(head, 1, out),
            || {
                let mut buf = Vec::with_capacity(tail.len() * ITEM_BYTES_GUESS);
                write(tail, mid + 1, &mut buf).map(|()| buf)
            },
        );
        here?;
        let tail = there?;
        out.extend_from_slice(&tail);
        Ok(())
    }

    /// Whether this recall is the only one running (and there is a core to spare).
    fn alone(&self) -> bool {
        self.cores > 1 && self.inflight.load(std::sync::atomic::Ordering::SeqCst) <= 1
    }

    /// Item-to-item neighbours of `asin` from the index.
    pub fn similar(
        &self,
        asin: &Asin,
        k: usize,
        nprobe: Option<usize>,
    ) -> Result<NeighboursResponse> {
        let t = Instant::now();
        check_k(k)?;
        let loaded = self.current();
        let pos = match loaded.asins.position(asin.as_str()) {
            Some(p) => p as usize,
            None => {
                // Known product without a vector vs. unknown product.
                catalog::get_product(&*self.conn()?, asin)?;
                return Err(Error::StaleArtifact {
                    what: "the embeddings",
                    path: self.layout.embeddings(),
                    why: format!("{asin} was added after the last build"),
                    fix: self.layout.fix("build"),
                });
            }
        };
        let nprobe = match nprobe {
            Some(_) => loaded.index.check_nprobe(nprobe)?,
            None => loaded.index.nprobe_for_k(k + 1),
        };
        let found = loaded
            .index
            .search(&loaded.vectors.row(pos)?, k + 1, nprobe)?;
        let hits: Vec<(usize, f32)> = found.row(0).filter(|(l, _)| *l != pos).take(k).collect();
        let items = self.enrich_scored(&loaded, &hits)?;
        Ok(NeighboursResponse {
            asin: Some(asin.to_string()),
            query: None,
            k,
            nprobe,
            items,
            took_ms: ms_since(t),
        })
    }

    /// Semantic search: embeds `text` with the build's model and searches the index.
    pub fn search_text(&self, text: &str, k: usize) -> Result<NeighboursResponse> {
        let t = Instant::now();
        check_k(k)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::param("q", "the query text is empty"));
        }
        if text.chars().count() > 1000 {
            return Err(Error::param(
                "q",
                "the query text is longer than 1000 characters",
            ));
        }
        let loaded = self.current();
        let vector = {
            let mut slot = self.embedder.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(Embedder::load(&self.model_paths, 1)?);
            }
            let embedder = slot.as_mut().expect("loaded above");
            // Checked on every query: a reindex may swap in a build made with another model.
            let built = &loaded.embeddings.model;
            if embedder.id != *built {
                let show = |m: &crate::embed::ModelId| {
                    format!(
                        "{} (sha256 {})",
                        m.name,
                        m.sha256.get(..12).unwrap_or(&m.sha256)
                    )
                };
                return Err(Error::ModelMismatch {
                    built: show(built),
                    configured: show(&embedder.id),
                    fix: self.layout.fix("build"),
                });
            }
            embedder.embed_one(text)?
        };
        let nprobe = loaded.index.nprobe_for_k(k);
        let found = loaded.index.search(&vector, k, nprobe)?;
        let hits: Vec<(usize, f32)> = found.row(0).collect();
        let items = self.enrich_scored(&loaded, &hits)?;
        Ok(NeighboursResponse {
            asin: None,
            query: Some(text.to_owned()),
            k,
            nprobe,
            items,
            took_ms: ms_since(t),
        })
    }

    /// Where this request reads product rows from: `products.rows` while the catalog is at the
    /// build's revision; SQLite once an import has changed it (a row may have been updated),
    /// until the next reindex writes the rows again.
    fn row_source(&self, loaded: &Loaded, conn: &rusqlite::Connection) -> Result<RowSource> {
        Ok(
            if catalog::catalog_revision(conn)? == loaded.rows.revision() {
                RowSource::Build
            } else {
                RowSource::Catalog
            },
        )
    }

    /// The products of build rows `positions`, in that order (`None`: no longer in the catalog).
    fn products_at(
        &self,
        loaded: &Loaded,
        source: RowSource,
        positions: impl Iterator<Item = usize>,
    ) -> Result<Vec<Option<common::Product>>> {
        match source {
            RowSource::Build => positions
                .map(|p| loaded.rows.product(p).map(Some))
                .collect(),
            RowSource::Catalog => {
                let rowids = positions
                    .map(|p| loaded.rows.rowid(p))
                    .collect::<Result<Vec<i64>>>()?;
                catalog::products_by_rowid(&self.reader(), &rowids)
            }
        }
    }

    fn enrich_scored(&self, loaded: &Loaded, hits: &[(usize, f32)]) -> Result<Vec<ScoredProduct>> {
        let source = self.row_source(loaded, &*self.conn()?)?;
        let products = self.products_at(loaded, source, hits.iter().map(|(l, _)| *l))?;
        Ok(hits
            .iter()
            .zip(products)
            .filter_map(|((_, s), p)| p.map(|p| (p, *s)))
            .map(|(mut p, s)| {
                p.category_name = loaded.category_names.get(&p.category_id).cloned();
                (p, s)
            })
            .enumerate()
            .map(|(i, (product, score))| ScoredProduct {
                rank: i + 1,
                score,
                product,
            })
            .collect())
    }

    /// recall@k of the index against exact search over the same vectors, for each nprobe, on
    /// `samples` catalog vectors used as queries; with mean per-query times of both.
    pub fn ann_eval(&self, k: usize, nprobes: &[usize], samples: usize) -> Result<AnnEval> {
        check_k(k)?;
        if samples == 0 || samples > 2_000 {
            return Err(Error::param(
                "samples",
                "samples must be between 1 and 2000",
            ));
        }
        let loaded = self.current();
        for &np in nprobes {
            loaded.index.check_nprobe(Some(np))?;
        }
        let n = loaded.vectors.rows();
        let samples = samples.min(n);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(11);
        let picks = rand::seq::index::sample(&mut rng, n, samples);
        let mut queries = Vec::with_capacity(samples * loaded.vectors.cols());
        for i in picks {
            loaded.vectors.extend_row(i, &mut queries)?;
        }
        let exact_index = loaded.exact()?;
        let t = Instant::now();
        let exact = exact_index.search(&queries, k, None)?;
        let exact_ms = ms_since(t) / samples as f64;
        let probes: Vec<Option<usize>> = if loaded.index.nlist.is_some() {
            let mut v: Vec<usize> = nprobes.to_vec();
            v.sort_unstable();
            v.dedup();
            v.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let mut points = Vec::new();
        for np in probes {
            let t = Instant::now();
            let ann = loaded.index.search(&queries, k, np)?;
            let ann_ms = ms_since(t) / samples as f64;
            points.push(AnnPoint {
                nprobe: np,
                k,
                recall: recall_at(&ann, &exact, samples, k),
                ann_ms,
                exact_ms,
            });
        }
        Ok(AnnEval { samples, points })
    }

    /// The default nprobe sweep for the loaded index: powers of two up to nlist.
    pub fn default_sweep(&self) -> Vec<usize> {
        let nlist = self.current().index.nlist.unwrap_or(1);
        std::iter::successors(Some(1usize), |n| Some(n * 2))
            .take_while(|n| *n < nlist)
            .chain([nlist])
            .collect()
    }
}

fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > common::MAX_K {
        return Err(Error::param(
            "k",
            format!("k must be between 1 and {}, got {k}", common::MAX_K),
        ));
    }
    Ok(())
}

/// Sets a recall's total time, and emits its timings as one debug event
/// (`RUST_LOG=recall_lab::recall=debug`): where a server's time goes under a load generator's
/// back-to-back requests, which do not read the answer's own timings. `aggregate_ms` is the
/// part of `search_ms` after FAISS.
fn finish_timings(t: &mut Timings, started: Instant, aggregate_ms: f64) {
    t.total_ms = ms_since(started) + t.clicks_ms;
    tracing::debug!(
        search_ms = t.search_ms,
        aggregate_ms,
        cf_ms = t.cf_ms,
        popular_ms = t.popular_ms,
        fusion_ms = t.fusion_ms,
        enrich_ms = t.enrich_ms,
        total_ms = t.total_ms,
        "recall timings"
    );
}

/// A key whose ascending order is best first: higher score (in `f32::total_cmp` order), then
/// lower position. Plain integer keys can be radix-sorted, and even compared they sort faster
/// than the candidates do with a float comparator.
fn best_first_key(score: f32, pos: u32) -> u64 {
    (u64::from(best_first_score_key(score)) << 32) | u64::from(pos)
}

/// The score part of a [`best_first_key`]: ascending is higher score first (`f32::total_cmp`).
fn best_first_score_key(score: f32) -> u32 {
    let bits = score.to_bits();
    // Ascending in total order: negatives flipped whole, positives above them.
    let ascending = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    !ascending
}

/// The (position, score) a [`best_first_key`] was made from.
fn key_parts(key: u64) -> (u32, f32) {
    let ascending = !(key >> 32) as u32;
    let bits = if ascending >> 31 == 1 {
        ascending & !(1 << 31)
    } else {
        !ascending
    };
    (key as u32, f32::from_bits(bits))
}

/// The content channel's candidates from one batched search: every row the clicks' neighbours
/// reached (minus the clicked rows), its scores across clicks aggregated (max or sum, added in
/// click order) and the clicks that reached it, best first.
///
/// The hits are grouped by row with a stable radix sort of their rows (two or three passes
/// over `clicks × k` small records, with count tables that stay in the CPU's cache at any
/// catalog size), so a row's hits stay in click order and one pass folds each row's run. The
/// distinct rows, now in row order, are sorted best first by their score's key alone (stable
/// again, so equal scores keep row order). The work follows the hits, never the catalog size.
fn aggregate_hits(
    found: &crate::index::Neighbours,
    sources: &[usize],
    skip: &[u32],
    how: Aggregate,
) -> Ranked {
    /// One neighbour of one click.
    #[derive(Clone, Copy)]
    struct Hit {
        pos: u32,
        score: f32,
        click: u32,
    }
    let k = found.k;
    let mut hits: Vec<Hit> = Vec::with_capacity(sources.len() * k);
    for (q, &click) in sources.iter().enumerate() {
        let (labels, scores) = (
            &found.labels[q * k..(q + 1) * k],
            &found.scores[q * k..(q + 1) * k],
        );
        // A plain loop: this runs for every hit of every recall (clicks × k), and the
        // iterator chain it replaces cost several times the loop itself.
        for (&label, &score) in labels.iter().zip(scores) {
            let pos = label as u32;
            // Empty slots (-1) and the clicked rows are skipped; the few clicks are compared
            // without branches.
            if label < 0 || skip.iter().fold(false, |hit, &s| hit | (s == pos)) {
                continue;
            }
            hits.push(Hit {
                pos,
                score,
                click: click as u32,
            });
        }
    }
    // Stable: a row's hits keep click order, which is the order sums add in.
    radsort::sort_by_key(&mut hits, |h| h.pos);
    let mut merged: Ranked = Vec::with_capacity(hits.len());
    for h in hits {
        match merged.last_mut() {
            Some(c) if c.pos == h.pos => {
                match how {
                    Aggregate::Max => {
                        if h.score.total_cmp(&c.score).is_gt() {
                            c.score = h.score;
                        }
                    }
                    Aggregate::Sum => c.score += h.score,
                }
                c.because |= 1u128 << h.click;
            }
            _ => merged.push(Cand {
                pos: h.pos,
                score: h.score,
                because: 1u128 << h.click,
            }),
        }
    }
    // Rows ascend here, so sorting stably by the score's key alone breaks ties by row.
    let mut order: Vec<(u32, u32)> = merged
        .iter()
        .enumerate()
        .map(|(i, c)| (best_first_score_key(c.score), i as u32))
        .collect();
    radsort::sort_by_key(&mut order, |o| o.0);
    order.iter().map(|&(_, i)| merged[i as usize]).collect()
}

/// A fused candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub pos: u32,
    pub score: f32,
    pub channels: ChannelScores,
    pub because: u128,
}

/// Fuses ranked channel lists (each sorted best first, a row at most once per list, at most one
/// list per channel) into one list, best first, and keeps its best `keep` (`usize::MAX`: all).
///
/// Each distinct row gets a compact entry holding its rank in every list, and only the kept
/// entries become [`Fused`] items. The longest list (the content channel's few thousand rows,
/// usually) is probed against a table of the other lists' rows rather than hashed itself. Its
/// rows found in no other list rank among themselves in list order (their fused score falls with
/// their rank in it), so once `keep` of them are in, the rest are skipped from the first one
/// that scores strictly lower: none of them could reach the top `keep`.
pub fn fuse(
    fusion: Fusion,
    weights: &common::Weights,
    lists: &[(Channel, &Ranked)],
    keep: usize,
) -> Vec<Fused> {
    const ABSENT: u32 = u32::MAX;
    assert!(lists.len() <= MAX_LISTS, "at most one list per channel");
    let total: usize = lists.iter().map(|(_, l)| l.len()).sum();
    // Min and max score of each list, for `weighted`.
    let ranges: Vec<(f32, f32)> = lists
        .iter()
        .map(|(_, list)| {
            list.iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x.score), hi.max(x.score))
                })
        })
        .collect();
    // What list `li`'s row at `rank` adds to a row's `rrf` or `weighted` score.
    let adds = |li: usize, rank: usize| -> f32 {
        let (channel, list) = &lists[li];
        let w = weights.get(*channel);
        match fusion {
            Fusion::Seed => 0.0,
            Fusion::Rrf => w / (RRF_K + rank as f32 + 1.0),
            Fusion::Weighted => {
                let (lo, hi) = ranges[li];
                w * if hi > lo {
                    (list[rank].score - lo) / (hi - lo)
                } else {
                    1.0
                }
            }
        }
    };
    let longest = (0..lists.len()).max_by_key(|&i| lists[i].1.len());
    let others = total - longest.map_or(0, |i| lists[i].1.len());
    // Where each distinct row sits in each list.
    let mut entries: Vec<(u32, [u32; MAX_LISTS])> =
        Vec::with_capacity(total.min(others.saturating_add(keep).saturating_add(64)));
    let mut slot: hashbrown::HashMap<u32, u32> = hashbrown::HashMap::with_capacity(others);
    for (li, (_, list)) in lists.iter().enumerate() {
        if Some(li) == longest {
            continue;
        }
        for (rank, c) in list.iter().enumerate() {
            let i = *slot.entry(c.pos).or_insert_with(|| {
                entries.push((c.pos, [ABSENT; MAX_LISTS]));
                (entries.len() - 1) as u32
            });
            entries[i as usize].1[li] = rank as u32;
        }
    }
    if let Some(li) = longest {
        // Skipping is exact only while a lone row's score cannot rise with its rank.
        let may_skip =
            keep < usize::MAX && (fusion == Fusion::Seed || weights.get(lists[li].0) > 0.0);
        let (mut alone, mut floor) = (0usize, f32::NEG_INFINITY);
        for (rank, c) in lists[li].1.iter().enumerate() {
            if let Some(&i) = slot.get(&c.pos) {
                entries[i as usize].1[li] = rank as u32;
                continue;
            }
            if may_skip && alone >= keep && (fusion == Fusion::Seed || adds(li, rank) < floor) {
                continue;
            }
            let mut ranks = [ABSENT; MAX_LISTS];
            ranks[li] = rank as u32;
            entries.push((c.pos, ranks));
            alone += 1;
            if alone == keep && fusion != Fusion::Seed {
                floor = adds(li, rank);
            }
        }
    }
    // Sort keys, ascending = best first, each with its entry.
    let mut order: Vec<(u64, u32)> = match fusion {
        Fusion::Seed => {
            // The article's concatenation of CF, content, then popularity: a row sits where
            // its first list in that order has it.
            let seed_order = [Channel::Cf, Channel::Content, Channel::Popular];
            let mut lists_in_order: Vec<usize> = (0..lists.len()).collect();
            lists_in_order.sort_by_key(|&i| seed_order.iter().position(|s| *s == lists[i].0));
            entries
                .iter()
                .enumerate()
                .map(|(e, (_, ranks))| {
                    let (n, li) = lists_in_order
                        .iter()
                        .enumerate()
                        .find(|&(_, &li)| ranks[li] != ABSENT)
                        .expect("every entry is in some list");
                    (((n as u64) << 32) | u64::from(ranks[*li]), e as u32)
                })
                .collect()
        }
        Fusion::Rrf | Fusion::Weighted => entries
            .iter()
            .enumerate()
            .map(|(e, (pos, ranks))| {
                let mut score = 0.0f32;
                for (li, &rank) in ranks.iter().enumerate().take(lists.len()) {
                    if rank != ABSENT {
                        score += adds(li, rank as usize);
                    }
                }
                (best_first_key(score, *pos), e as u32)
            })
            .collect(),
    };
    if keep < order.len() {
        order.select_nth_unstable_by_key(keep, |o| o.0);
        order.truncate(keep);
    }
    order.sort_unstable_by_key(|o| o.0);
    let n = total.max(1) as f32;
    order
        .iter()
        .enumerate()
        .map(|(i, &(key, e))| {
            let (pos, ranks) = &entries[e as usize];
            let mut f = Fused {
                pos: *pos,
                score: match fusion {
                    Fusion::Seed => 1.0 - i as f32 / n,
                    Fusion::Rrf | Fusion::Weighted => key_parts(key).1,
                },
                channels: ChannelScores::default(),
                because: 0,
            };
            for (li, (channel, list)) in lists.iter().enumerate() {
                if let Some(c) = list.get(ranks[li] as usize) {
                    f.channels.set(*channel, c.score);
                    f.because |= c.because;
                }
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::{Rng, SeedableRng};

    /// Random channel lists with overlapping rows and many tied scores.
    /// The order of `items` best first, as indices (positions are unique within one list).
    fn best_first_order<T>(items: &[T], score_pos: impl Fn(&T) -> (f32, u32)) -> Vec<(u64, u32)> {
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let (score, pos) = score_pos(x);
                (best_first_key(score, pos), i as u32)
            })
            .collect()
    }

    /// Sorts a list best first (test lists are made in any order).
    fn sort_ranked(list: &mut Ranked) {
        let mut order = best_first_order(list, |c| (c.score, c.pos));
        radsort::sort_by_key(&mut order, |o| o.0);
        *list = order.iter().map(|&(_, i)| list[i as usize]).collect();
    }

    fn random_lists(rng: &mut rand_chacha::ChaCha8Rng) -> [Ranked; 3] {
        let mut make = |len_max: usize, scale: f32| -> Ranked {
            let len = rng.random_range(0..len_max);
            let mut pos: Vec<u32> = (0..800).collect();
            for i in 0..len {
                let j = rng.random_range(i..pos.len());
                pos.swap(i, j);
            }
            let mut l: Ranked = pos[..len]
                .iter()
                .map(|&p| Cand {
                    pos: p,
                    score: (rng.random_range(0..40) as f32) * scale,
                    because: 1u128 << rng.random_range(0..10),
                })
                .collect();
            sort_ranked(&mut l);
            l
        };
        [make(600, 0.025), make(200, 0.5), make(100, 3.0)]
    }

    #[test]
    fn fusion_agrees_with_its_plain_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for round in 0..300 {
            let [content, cf, popular] = random_lists(&mut rng);
            let lists = [
                (Channel::Content, &content),
                (Channel::Cf, &cf),
                (Channel::Popular, &popular),
            ];
            let keep = [usize::MAX, 0, 1, 50, 500, 20][round % 6];
            let weights = if round % 3 == 0 {
                common::Weights::default()
            } else {
                common::Weights {
                    content: [1.0, 0.0, 0.3][round % 3],
                    cf: 0.7,
                    popular: 0.2,
                }
            };
            for fusion in [Fusion::Seed, Fusion::Rrf, Fusion::Weighted] {
                for n in 0..=3 {
                    let got = fuse(fusion, &weights, &lists[..n], keep);
                    let want = fuse_by_definition(fusion, &weights, &lists[..n], keep);
                    assert_eq!(
                        got, want,
                        "round {round}, {fusion:?}, {n} lists, keep {keep}"
                    );
                }
            }
        }
    }

    /// Fusion written the plain way (every row hashed and scored, as `fuse` was until the
    /// rank entries): the oracle `fuse` must agree with.
    fn fuse_by_definition(
        fusion: Fusion,
        weights: &common::Weights,
        lists: &[(Channel, &Ranked)],
        keep: usize,
    ) -> Vec<Fused> {
        let total: usize = lists.iter().map(|(_, l)| l.len()).sum();
        let mut out: Vec<Fused> = Vec::with_capacity(total);
        let mut slot: hashbrown::HashMap<u32, usize> = hashbrown::HashMap::with_capacity(total);
        // `seed` concatenates CF, then content, then popularity, as in the article.
        let seed_order = [Channel::Cf, Channel::Content, Channel::Popular];
        let mut sorted: Vec<&(Channel, &Ranked)> = lists.iter().collect();
        if fusion == Fusion::Seed {
            sorted.sort_by_key(|(c, _)| seed_order.iter().position(|s| s == c));
        }
        for (channel, list) in sorted {
            let w = weights.get(*channel);
            let (lo, hi) = list
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x.score), hi.max(x.score))
                });
            for (rank, c) in list.iter().enumerate() {
                let i = *slot.entry(c.pos).or_insert_with(|| {
                    out.push(Fused {
                        pos: c.pos,
                        score: 0.0,
                        channels: ChannelScores::default(),
                        because: 0,
                    });
                    out.len() - 1
                });
                let e = &mut out[i];
                e.channels.set(*channel, c.score);
                e.because |= c.because;
                e.score += match fusion {
                    Fusion::Seed => 0.0,
                    Fusion::Rrf => w / (RRF_K + rank as f32 + 1.0),
                    Fusion::Weighted => {
                        w * if hi > lo {
                            (c.score - lo) / (hi - lo)
                        } else {
                            1.0
                        }
                    }
                };
            }
        }
        match fusion {
            Fusion::Seed => {
                let n = total.max(1) as f32;
                for (i, f) in out.iter_mut().enumerate() {
                    f.score = 1.0 - i as f32 / n;
                }
            }
            Fusion::Rrf | Fusion::Weighted => {
                let mut order = best_first_order(&out, |f| (f.score, f.pos));
                if keep < order.len() {
                    order.select_nth_unstable_by_key(keep, |o| o.0);
                    order.truncate(keep);
                }
                order.sort_unstable_by_key(|o| o.0);
                out = order
                    .iter()
                    .map(|&(_, i)| out[i as usize].clone())
                    .collect();
            }
        }
        out.truncate(keep);
        out
    }

    fn list(items: &[(u32, f32)]) -> Ranked {
        items
            .iter()
            .map(|&(pos, score)| Cand {
                pos,
                score,
                because: 1,
            })
            .collect()
    }

    fn order(out: &[Fused]) -> Vec<u32> {
        out.iter().map(|f| f.pos).collect()
    }

    #[test]
    fn best_first_keys_order_like_the_float_comparator() {
        let scores = [
            0.5,
            -0.5,
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.5,
            2.0,
        ];
        let mut by_key: Vec<(f32, u32)> = scores.iter().zip(0u32..).map(|(&s, p)| (s, p)).collect();
        let mut by_cmp = by_key.clone();
        by_key.sort_by_key(|&(s, p)| best_first_key(s, p));
        by_cmp.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        assert_eq!(by_key, by_cmp);
        for (s, p) in by_key {
            let (pos, score) = key_parts(best_first_key(s, p));
            assert_eq!((pos, score.to_bits()), (p, s.to_bits()));
        }
    }

    #[test]
    fn aggregated_hits_merge_each_row_across_clicks_best_first() {
        // Three clicks' neighbours; row 7 is clicked itself and never comes back.
        let k = 4;
        let labels = vec![5, 9, 7, -1, 9, 3, 5, 2, 3, 5, 9, 8];
        let scores = vec![0.9, 0.5, 0.4, 0.0, 0.8, 0.7, 0.2, 0.1, 0.6, 0.3, 0.25, 0.05];
        let found = crate::index::Neighbours { k, scores, labels };
        let rows = |r: &Ranked| -> Vec<(u32, f32, u128)> {
            r.iter().map(|c| (c.pos, c.score, c.because)).collect()
        };
        let max = aggregate_hits(&found, &[0, 1, 2], &[7], Aggregate::Max);
        assert_eq!(
            rows(&max),
            [
                (5, 0.9, 0b111),
                (9, 0.8, 0b111),
                (3, 0.7, 0b110),
                (2, 0.1, 0b010),
                (8, 0.05, 0b100)
            ]
        );
        // Sums add in click order; the third query stands for click 4 (clicks 2 and 3 had no
        // vector).
        let sum = aggregate_hits(&found, &[0, 1, 4], &[7], Aggregate::Sum);
        assert_eq!(
            rows(&sum),
            [
                (9, 0.5 + 0.8 + 0.25, 0b10011),
                (5, 0.9 + 0.2 + 0.3, 0b10011),
                (3, 0.7 + 0.6, 0b10010),
                (2, 0.1, 0b10),
                (8, 0.05, 0b10000)
            ]
        );
    }

    #[test]
    fn aggregation_agrees_with_its_plain_definition() {
        // Searches with rows repeated across clicks, tied scores, empty slots and clicked rows.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let rows = 300u32;
        for round in 0..200 {
            let (nq, k) = (rng.random_range(1..12), rng.random_range(1..60));
            let mut labels = Vec::new();
            let mut scores = Vec::new();
            for _ in 0..nq {
                let mut run: Vec<(f32, i64)> = (0..k)
                    .map(|_| {
                        (
                            rng.random_range(0..30) as f32 / 8.0,
                            rng.random_range(0..rows) as i64,
                        )
                    })
                    .collect();
                // A row at most once per click, best first, as FAISS answers.
                run.sort_by_key(|h| h.1);
                run.dedup_by_key(|h| h.1);
                run.sort_by(|a, b| b.0.total_cmp(&a.0));
                run.resize(k, (0.0, -1));
                scores.extend(run.iter().map(|h| h.0));
                labels.extend(run.iter().map(|h| h.1));
            }
            let found = crate::index::Neighbours { k, scores, labels };
            let sources: Vec<usize> = (0..nq).map(|q| q * 2 + round % 3).collect();
            let skip: Vec<u32> = (0..rng.random_range(0..4))
                .map(|_| rng.random_range(0..rows))
                .collect();
            for how in [Aggregate::Max, Aggregate::Sum] {
                // The definition: every hit of every click, per row, then best first.
                let mut by_row: std::collections::BTreeMap<u32, Cand> = Default::default();
                for (q, &click) in sources.iter().enumerate() {
                    for i in q * k..(q + 1) * k {
                        let (label, score) = (found.labels[i], found.scores[i]);
                        if label < 0 || skip.contains(&(label as u32)) {
                            continue;
                        }
                        let c = by_row.entry(label as u32).or_insert(Cand {
                            pos: label as u32,
                            score: match how {
                                Aggregate::Max => f32::NEG_INFINITY,
                                Aggregate::Sum => 0.0,
                            },
                            because: 0,
                        });
                        c.score = match how {
                            Aggregate::Max => c.score.max(score),
                            Aggregate::Sum => c.score + score,
                        };
                        c.because |= 1u128 << click;
                    }
                }
                let mut want: Ranked = by_row.into_values().collect();
                want.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.pos.cmp(&b.pos)));
                let got = aggregate_hits(&found, &sources, &skip, how);
                assert_eq!(got, want, "round {round}, {how:?}");
            }
        }
    }

    #[test]
    fn aggregated_hits_with_equal_scores_come_in_row_order() {
        // FAISS may return equal scores in any row order; the answer must not depend on it.
        let labels = vec![8, 3, 6, 4, 8, 1];
        let scores = vec![0.5, 0.5, 0.5, 0.7, 0.5, 0.5];
        let found = crate::index::Neighbours {
            k: 3,
            scores,
            labels,
        };
        for how in [Aggregate::Max, Aggregate::Sum] {
            let got: Vec<(u32, u128)> = aggregate_hits(&found, &[0, 1], &[], how)
                .iter()
                .map(|c| (c.pos, c.because))
                .collect();
            let want = match how {
                Aggregate::Max => [(4, 0b10), (1, 0b10), (3, 0b01), (6, 0b01), (8, 0b11)],
                Aggregate::Sum => [(8, 0b11), (4, 0b10), (1, 0b10), (3, 0b01), (6, 0b01)],
            };
            assert_eq!(got, want, "{how:?}");
        }
    }

    #[test]
    fn seed_fusion_puts_cf_first_then_content() {
        let content = list(&[(1, 0.9), (2, 0.8)]);
        let cf = list(&[(3, 3.0), (1, 1.0)]);
        let out = fuse(
            Fusion::Seed,
            &Default::default(),
            &[(Channel::Content, &content), (Channel::Cf, &cf)],
            usize::MAX,
        );
        assert_eq!(order(&out), [3, 1, 2]);
        assert_eq!(out[1].channels.content, Some(0.9));
        assert_eq!(out[1].channels.cf, Some(1.0));
    }

    #[test]
    fn keeping_the_top_gives_the_start_of_the_whole_fused_list() {
        let content: Ranked = (0..300u32)
            .map(|i| Cand {
                pos: i,
                score: 1.0 - (i / 2) as f32 / 300.0,
                because: 1,
            })
            .collect();
        let cf: Ranked = (0..200u32)
            .map(|i| Cand {
                pos: i * 3 % 500,
                score: 10.0 - (i / 3) as f32 / 20.0,
                because: 2,
            })
            .collect();
        let lists = [(Channel::Content, &content), (Channel::Cf, &cf)];
        for fusion in [Fusion::Seed, Fusion::Rrf, Fusion::Weighted] {
            let all = fuse(fusion, &Default::default(), &lists, usize::MAX);
            assert!(all.len() > 300, "{fusion:?}: both lists are in it");
            let top = fuse(fusion, &Default::default(), &lists, 50);
            assert_eq!(top, all[..50], "{fusion:?}");
        }
    }

    #[test]
    fn rrf_rewards_agreement_between_channels() {
        let content = list(&[(10, 0.9), (7, 0.8)]);
        let cf = list(&[(11, 5.0), (7, 4.0)]);
        let out = fuse(
            Fusion::Rrf,
            &Default::default(),
            &[(Channel::Content, &content), (Channel::Cf, &cf)],
            usize::MAX,
        );
        assert_eq!(out[0].pos, 7);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn weighted_fusion_follows_weights() {
        let content = list(&[(1, 0.9), (2, 0.1)]);
        let cf = list(&[(3, 9.0), (4, 1.0)]);
        let w = common::Weights {
            content: 1.0,
            cf: 0.1,
            popular: 0.0,
        };
        assert_eq!(
            fuse(
                Fusion::Weighted,
                &w,
                &[(Channel::Content, &content), (Channel::Cf, &cf)],
                usize::MAX
            )[0]
            .pos,
            1
        );
        let w = common::Weights {
            content: 0.1,
            cf: 1.0,
            popular: 0.0,
        };
        assert_eq!(
            fuse(
                Fusion::Weighted,
                &w,
                &[(Channel::Content, &content), (Channel::Cf, &cf)],
                usize::MAX
            )[0]
            .pos,
            3
        );
    }
}
