//! Types shared by the Recall Lab server (`backend`) and browser app (`frontend`): products,
//! recall parameters and responses, and the API's error body.
//!
//! Invariant: this crate builds for `wasm32-unknown-unknown`; it depends on serde and bincode
//! only (plus utoipa behind the `openapi` feature, used by the server to describe its API).

pub mod answer;
pub mod params;
mod product;
pub mod review;
pub mod wire;

pub use answer::*;
pub use params::*;
pub use product::{FieldValue, Product, ProductRef, Text};
pub use review::*;

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// Largest `k` for similar-item and semantic search.
pub const MAX_K: usize = 1_000;

/// A product category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub products: i64,
}

/// One page of a catalog listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub total: i64,
    pub page: usize,
    pub per_page: usize,
}

/// Sort orders of the catalog listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Keyword relevance when `q` is given, else catalog order.
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Stars,
    Reviews,
    Popular,
}

impl FromStr for SortOrder {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relevance" => Ok(SortOrder::Relevance),
            "price_asc" => Ok(SortOrder::PriceAsc),
            "price_desc" => Ok(SortOrder::PriceDesc),
            "stars" => Ok(SortOrder::Stars),
            "reviews" => Ok(SortOrder::Reviews),
            "popular" => Ok(SortOrder::Popular),
            _ => Err(ParseError::new(
                "sort",
                format!(
                    "unknown sort {s:?}; expected relevance, price_asc, price_desc, stars, reviews or popular"
                ),
            )),
        }
    }
}

/// A click of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Click {
    /// Identifies this click for deletion (`DELETE /api/users/{id}/clicks/{click_id}`).
    pub id: i64,
    pub asin: String,
    /// Milliseconds since the Unix epoch.
    pub click_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
}

/// `POST /api/users/{id}/clicks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewClick {
    pub asin: String,
}

/// A simulated or real user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: String,
    pub name: String,
    pub clicks: i64,
}

/// `POST /api/users`: create (or rename) a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Optional id; one is made up when missing.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /api/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Stats {
    pub products: i64,
    pub categories: i64,
    pub users: i64,
    pub clicks: i64,
    /// The embedding model that built the index (`recall-lab models` lists the named ones).
    pub model: String,
    /// What the model trades, in a line; empty for a model from another folder.
    #[serde(default)]
    pub model_summary: String,
    pub dim: usize,
    /// Where the vectors are searched: `faiss` (in the server) or `milvus`.
    #[serde(default)]
    pub index_engine: String,
    /// For a Milvus build: the server, the alias and this build's collection, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_location: Option<String>,
    pub index_factory: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub vectors: usize,
    /// RFC 3339 time of the index build.
    pub built_at: String,
    /// Names the index build (a reindex makes a new one); empty for a build from before ids.
    #[serde(default)]
    pub build_id: String,
    pub build_seconds: f64,
    /// Incremented by every reindex that replaced the index while serving.
    pub generation: u64,
    /// The item-to-item CF model recalls read; `None` until one is built.
    pub cf: Option<CfStats>,
    /// Product images cached in the data dir, served at `/api/images/{asin}`.
    #[serde(default)]
    pub images: ImageStats,
}

/// A catalog the server can serve: its own data dir under the server's catalogs folder (or the
/// server's main data dir, `default`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CatalogInfo {
    pub name: String,
    /// Products in its catalog table (0 before its first build).
    pub products: i64,
    /// Whether it has been built (an index to recall from).
    pub built: bool,
    /// The server's main data dir, served at `/api`; the others at `/c/{name}/api`.
    pub default: bool,
}

/// Which CSV column feeds a product field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FieldColumn {
    /// The field's seed name (`asin`, `title`, `imgUrl`, ...).
    pub field: String,
    /// The CSV column, `None` when none feeds it (the field takes its default).
    pub column: Option<String>,
    /// An import cannot run without it.
    pub required: bool,
}

/// A rejected CSV row: its line and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RowReject {
    pub line: u64,
    pub reason: String,
}

/// What importing an uploaded CSV with a mapping would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CatalogPreview {
    /// The CSV's header.
    pub columns: Vec<String>,
    /// Each product field and its column (detected, or as mapped).
    pub fields: Vec<FieldColumn>,
    /// The first products as they would be imported.
    pub rows: Vec<Product>,
    /// The first rejected rows.
    pub rejects: Vec<RowReject>,
    /// Records read, and how many of them would be rejected.
    pub records: u64,
    pub rejected: u64,
    /// Why the import cannot run as mapped (a required field without a column).
    pub problem: Option<String>,
}

/// Column → field pairs for a catalog's import (`recall-lab build --map COLUMN=FIELD`), and for
/// its build the embedding model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ColumnMapping {
    pub mapping: Vec<ColumnToField>,
    /// The named embedding model to build with (`recall-lab models`); unset: the default.
    #[serde(default)]
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ColumnToField {
    pub column: String,
    pub field: String,
}

/// The catalog map of the current build (`GET /api/map`): title embeddings laid out in 2D,
/// coordinates in `0..=1000`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CatalogMap {
    /// How the layout was made (e.g. PCA, then t-SNE).
    pub method: String,
    /// Products in the build; the map may show a sample of them.
    pub products: usize,
    pub points: Vec<MapPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MapPoint {
    pub asin: String,
    pub x: f32,
    pub y: f32,
    pub category_id: i64,
}

/// The data dir's image cache: products with a cached picture (fetched or drawn) and products
/// whose picture could not be fetched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImageStats {
    pub cached: u64,
    /// Of the cached, those drawn by Recall Lab (`recall-lab images draw`).
    pub drawn: u64,
    pub failed: u64,
}

/// The CF model behind the `cf` channel: what it was built from, when, and how stale it may be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CfStats {
    /// RFC 3339 time the model was built.
    pub built_at: String,
    /// Seconds since then.
    pub age_seconds: f64,
    pub build_seconds: f64,
    /// Clicks and users the model was built from.
    pub clicks: u64,
    pub users: u64,
    /// Items with at least one neighbour, and neighbour pairs kept.
    pub items: usize,
    pub pairs: u64,
    /// Neighbours kept per item, users needed per pair, clicks per user counted, click
    /// half-life in days (`None`: clicks never fade).
    pub k: usize,
    pub min_support: u32,
    pub max_user_items: usize,
    pub half_life_days: Option<f64>,
    /// Whether the click log or the build has moved on since; a rebuild follows within
    /// `refresh_seconds`.
    pub stale: bool,
    /// Seconds between the server's checks for a rebuild (0: only at start-up).
    pub refresh_seconds: u64,
}

/// One point of an ANN-vs-exact comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnnPoint {
    pub nprobe: Option<usize>,
    pub k: usize,
    /// Mean fraction of the exact top-k that the index returned.
    pub recall: f64,
    /// Mean ANN search time per query, in milliseconds.
    pub ann_ms: f64,
    /// Mean exact search time per query, in milliseconds.
    pub exact_ms: f64,
}

/// Category precision@K of item-to-item neighbours, by the index and by exact search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PrecisionPoint {
    pub k: usize,
    pub index: f64,
    pub exact: f64,
}

/// One configuration's held-out figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeldOutRow {
    pub config: String,
    /// hit-rate@K for each K of the report.
    pub hit_rate: Vec<f64>,
    pub ndcg: Vec<f64>,
    pub mean_ms: f64,
}

/// Held-out evaluation of each channel alone and each fusion on simulated sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeldOut {
    pub ks: Vec<usize>,
    pub train_sessions: usize,
    pub test_sessions: usize,
    pub rows: Vec<HeldOutRow>,
}

/// How close a build's vectors are to the fp32 reference model's on the same titles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Fidelity {
    /// The reference model's name.
    pub reference: String,
    /// Titles compared (all of a small catalog; an even spread of a large one).
    pub titles: usize,
    pub cosine_mean: f64,
    pub cosine_min: f64,
    /// Mean share of each title's 10 nearest (exact, among the compared titles) both agree on.
    pub top10_overlap: f64,
}

/// `recall-lab eval`'s report (`eval/eval_report.json`; `GET /api/eval/report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EvalReport {
    /// The model that embedded the build (empty in reports from before it was recorded).
    #[serde(default)]
    pub model: String,
    /// The index build it measured ([`Stats::build_id`]): a report of an earlier build (say,
    /// one embedded with another model) is told apart from the current one's. Empty in reports
    /// from before it was recorded.
    #[serde(default)]
    pub build_id: String,
    /// `None` when the reference model is not installed, or in reports from before it.
    #[serde(default)]
    pub fidelity: Option<Fidelity>,
    pub catalog: usize,
    pub index_factory: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub ann_at_10: AnnEval,
    pub ann_at_100: AnnEval,
    pub precision: Vec<PrecisionPoint>,
    pub held_out: HeldOut,
    pub generated_at: String,
}

impl EvalReport {
    /// Whether the report measured the build `s` describes: the same build id, or for builds
    /// and reports from before ids, not another model.
    pub fn describes(&self, s: &Stats) -> bool {
        if !self.build_id.is_empty() && !s.build_id.is_empty() {
            self.build_id == s.build_id
        } else {
            self.model.is_empty() || self.model == s.model
        }
    }
}

/// `GET /api/eval/ann`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnnEval {
    pub samples: usize,
    pub points: Vec<AnnPoint>,
}

/// State of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// `GET /api/admin/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Job {
    pub id: u64,
    pub state: JobState,
    /// What the job is doing now.
    pub stage: String,
    /// 0.0..=1.0 within the current stage.
    pub progress: f64,
    pub message: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// The body of every error answer: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Query parameters of the catalog listing, shared by the app's URL and the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    pub q: Option<String>,
    pub category: Option<i64>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub min_stars: Option<f64>,
    pub bestseller: Option<bool>,
    pub sort: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}
