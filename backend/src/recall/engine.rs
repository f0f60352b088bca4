//! The engine: the catalog pool, the current build (swapped atomically by a reindex), and the
//! entry points of a recall; the other questions it answers live beside it (`neighbours`).

use super::loaded::Loaded;
use crate::catalog::{self, Pool};
use crate::cf::{self, CfModel, CfOptions};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::index::SearchKernels;
use crate::layout::Layout;
use common::{RecallParams, RecallResponse};
use std::sync::{Arc, Mutex};

/// The engine: catalog pool, the current build, and a lazily loaded model for text queries.
pub struct Engine {
    pub layout: Layout,
    pub pool: Pool,
    pub(super) loaded: arc_swap::ArcSwap<Loaded>,
    pub(super) generation: std::sync::atomic::AtomicU64,
    /// The model folder text queries use; `None`: the named model the current build was made with.
    pub(super) model_dir: Option<std::path::PathBuf>,
    pub(super) embedder: Mutex<Option<Embedder>>,
    /// The enrichment reader (memory-mapped, see [`catalog::reader`]); one per process.
    pub(super) reader: Mutex<rusqlite::Connection>,
    /// Product and category counts for the catalog listing, per catalog revision.
    pub(super) stats: catalog::StatsCache,
    /// Recalls running now, to size each one's FAISS team.
    pub(super) inflight: std::sync::atomic::AtomicUsize,
    pub(super) cores: usize,
    /// The search kernels every build this engine loads uses.
    pub kernels: SearchKernels,
    /// The CF model, swapped whole by [`Engine::refresh_cf`].
    cf: arc_swap::ArcSwapOption<CfModel>,
    /// Held by a CF rebuild: one at a time.
    cf_rebuild: Mutex<()>,
}

/// A recall in progress: counted while it lives. Uncounts on drop.
pub(super) struct InFlight<'a> {
    count: &'a std::sync::atomic::AtomicUsize,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How a recall answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The public JSON of [`RecallResponse`].
    Json,
    /// The bincode of `common::wire` (what the browser app asks for).
    Bincode,
}

/// How an [`Engine`] opens its catalog and model.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// SQLite connections in the pool.
    pub pool_size: u32,
    /// How much of the database the enrichment reader memory-maps ([`catalog::reader`]).
    pub reader_map_bytes: u64,
    /// A folder with another ONNX sentence model (the one the index was built with) for text
    /// queries; by default the named model recorded in the build.
    pub model_dir: Option<std::path::PathBuf>,
    /// Whose code runs the index search's coarse step and list scan.
    pub search_kernels: SearchKernels,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pool_size: 2,
            reader_map_bytes: catalog::DEFAULT_READER_MAP_BYTES,
            model_dir: None,
            search_kernels: SearchKernels::default(),
        }
    }
}

impl Engine {
    pub fn open(layout: Layout, options: &EngineOptions) -> Result<Engine> {
        let pool = catalog::pool(&layout.db(), options.pool_size)?;
        let loaded = Loaded::load(&layout, &pool, options.search_kernels)?;
        let reader = Mutex::new(catalog::reader(&layout.db(), options.reader_map_bytes)?);
        // A model of another build is kept until a rebuild replaces it (the channel skips it).
        let cf = cf::store::load(&layout.cf_model()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the CF model cannot be read; it will be rebuilt");
            None
        });
        Ok(Engine {
            cf: arc_swap::ArcSwapOption::from_pointee(cf),
            cf_rebuild: Mutex::new(()),
            reader,
            layout,
            pool,
            loaded: arc_swap::ArcSwap::from_pointee(loaded),
            generation: 0.into(),
            model_dir: options.model_dir.clone(),
            embedder: Mutex::new(None),
            stats: catalog::StatsCache::default(),
            inflight: 0.into(),
            kernels: options.search_kernels,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        })
    }

    /// The build requests run on now.
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
    pub(super) fn running(&self) -> InFlight<'_> {
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
    pub(super) fn reader(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
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

    /// The CF model recalls read now.
    pub fn cf_model(&self) -> Option<Arc<CfModel>> {
        self.cf.load_full()
    }

    /// Whether the CF model is missing, of another build, built with other `options`, or
    /// behind the click log (read through `conn`).
    pub fn cf_stale(&self, conn: &rusqlite::Connection, options: &CfOptions) -> Result<bool> {
        let Some(model) = self.cf_model() else {
            return Ok(true);
        };
        Ok(model.meta.build_id != self.current().info.build_id
            || model.meta.options != *options
            || model.meta.mark != crate::clicks::click_mark(conn)?)
    }

    /// Reads `cf.model` again (after a build wrote it), keeping the current model if the file
    /// cannot be read.
    pub fn reload_cf(&self) {
        match cf::store::load(&self.layout.cf_model()) {
            Ok(Some(model)) => self.cf.store(Some(Arc::new(model))),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the CF model cannot be read"),
        }
    }

    /// Rebuilds the CF model from the click log for the current build on `threads` threads
    /// (0: every core), saves it and makes it the one recalls read. One rebuild runs at a time;
    /// recalls go on with the old model.
    pub fn refresh_cf_on(&self, options: &CfOptions, threads: usize) -> Result<Arc<CfModel>> {
        let _one = self.cf_rebuild.lock().unwrap_or_else(|e| e.into_inner());
        let _writer = self.layout.lock_writer()?;
        let loaded = self.current();
        let conn = self.conn()?;
        let model = Arc::new(cf::build::build_and_save(
            &cf::build::Source {
                conn: &conn,
                asins: &loaded.asins,
                build_id: &loaded.info.build_id,
            },
            options,
            threads,
            &self.layout.cf_model(),
        )?);
        self.cf.store(Some(model.clone()));
        tracing::info!(
            clicks = model.meta.clicks,
            users = model.meta.users,
            pairs = model.meta.pairs,
            seconds = model.meta.build_seconds,
            "CF model rebuilt"
        );
        Ok(model)
    }

    /// [`Engine::refresh_cf_on`] on every core.
    pub fn refresh_cf(&self, options: &CfOptions) -> Result<Arc<CfModel>> {
        self.refresh_cf_on(options, 0)
    }

    /// Whether this recall is the only one running (and there is a core to spare).
    pub(super) fn alone(&self) -> bool {
        self.cores > 1 && self.inflight.load(std::sync::atomic::Ordering::SeqCst) <= 1
    }
}
