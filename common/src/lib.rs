//! Types shared by the Recall Lab server (`backend`) and browser app (`frontend`): products,
//! recall parameters and responses, and the API's error body.
//!
//! Invariant: this crate builds for `wasm32-unknown-unknown`; it depends on serde and bincode
//! only (plus utoipa behind the `openapi` feature, used by the server to describe its API).

mod product;
pub mod wire;

pub use product::Product;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// Largest `topn` a recall request may ask for.
pub const MAX_TOPN: usize = 10_000;
/// Default number of recalled items.
pub const DEFAULT_TOPN: usize = 500;
/// Default number of recent clicks a recall looks at (the seed's `limit=10`).
pub const DEFAULT_RECENT_CLICKS: usize = 10;
/// Largest `k` for similar-item and semantic search.
pub const MAX_K: usize = 1_000;

/// A recall channel.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Encode, Decode,
)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Title-embedding neighbours of the recent clicks, from the FAISS index.
    Content,
    /// Item-to-item collaborative filtering from co-clicks.
    Cf,
    /// Popularity (bought last month, reviews, stars, bestseller).
    Popular,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Content, Channel::Cf, Channel::Popular];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Content => "content",
            Channel::Cf => "cf",
            Channel::Popular => "popular",
        }
    }
}

/// How channel lists are fused into one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// The article's: CF first, then content, concatenated (then popular).
    Seed,
    /// Reciprocal rank fusion (k = 60), weighted per channel.
    #[default]
    Rrf,
    /// Min-max normalised channel scores blended by weights.
    Weighted,
}

impl Fusion {
    pub const ALL: [Fusion; 3] = [Fusion::Seed, Fusion::Rrf, Fusion::Weighted];
    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Seed => "seed",
            Fusion::Rrf => "rrf",
            Fusion::Weighted => "weighted",
        }
    }
}

/// How a content candidate's similarity is aggregated over the clicks that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// The best similarity to any click (the seed's behaviour).
    #[default]
    Max,
    /// The sum of similarities over the clicks that recalled it.
    Sum,
}

impl Aggregate {
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Max => "max",
            Aggregate::Sum => "sum",
        }
    }
}

/// A value that could not be parsed from its text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ParseError {}

impl FromStr for Channel {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| ParseError {
                field: "channels",
                message: format!("unknown channel {s:?}; expected content, cf or popular"),
            })
    }
}

impl FromStr for Fusion {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fusion::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| ParseError {
                field: "fusion",
                message: format!("unknown fusion {s:?}; expected seed, rrf or weighted"),
            })
    }
}

impl FromStr for Aggregate {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "max" => Ok(Aggregate::Max),
            "sum" => Ok(Aggregate::Sum),
            _ => Err(ParseError {
                field: "aggregate",
                message: format!("unknown aggregate {s:?}; expected max or sum"),
            }),
        }
    }
}

/// Channel weights for `rrf` and `weighted` fusion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Weights {
    pub content: f32,
    pub cf: f32,
    pub popular: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            content: 1.0,
            cf: 1.0,
            popular: 0.2,
        }
    }
}

impl Weights {
    pub fn get(&self, c: Channel) -> f32 {
        match c {
            Channel::Content => self.content,
            Channel::Cf => self.cf,
            Channel::Popular => self.popular,
        }
    }

    /// Parses `content:1,cf:0.5,popular:0.1` (missing channels keep their default).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut w = Weights::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once(':')
                .or_else(|| part.split_once('='))
                .ok_or_else(|| ParseError {
                    field: "weights",
                    message: format!("expected channel:weight, got {part:?}"),
                })?;
            let channel: Channel = name.parse().map_err(|e: ParseError| ParseError {
                field: "weights",
                ..e
            })?;
            let v: f32 = value.trim().parse().map_err(|_| ParseError {
                field: "weights",
                message: format!("weight {value:?} is not a number"),
            })?;
            if !v.is_finite() || v < 0.0 {
                return Err(ParseError {
                    field: "weights",
                    message: format!("weight {v} must be finite and >= 0"),
                });
            }
            match channel {
                Channel::Content => w.content = v,
                Channel::Cf => w.cf = v,
                Channel::Popular => w.popular = v,
            }
        }
        Ok(w)
    }

    pub fn to_param(&self) -> String {
        format!(
            "content:{},cf:{},popular:{}",
            self.content, self.cf, self.popular
        )
    }
}

/// Filters applied to recalled items (and to catalog listings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stars: Option<f64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.min_price.is_none()
            && self.max_price.is_none()
            && self.min_stars.is_none()
    }

    pub fn accepts(&self, p: &Product) -> bool {
        self.category.is_none_or(|c| p.category_id == c)
            && self.min_price.is_none_or(|m| p.price >= m)
            && self.max_price.is_none_or(|m| p.price <= m)
            && self.min_stars.is_none_or(|m| p.stars >= m)
    }

    pub fn validate(&self) -> Result<(), ParseError> {
        for (field, v) in [
            ("min_price", self.min_price),
            ("max_price", self.max_price),
            ("min_stars", self.min_stars),
        ] {
            if let Some(v) = v
                && (!v.is_finite() || v < 0.0)
            {
                return Err(ParseError {
                    field,
                    message: format!("{v} must be a finite number >= 0"),
                });
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price)
            && lo > hi
        {
            return Err(ParseError {
                field: "max_price",
                message: format!("max_price {hi} is below min_price {lo}"),
            });
        }
        if let Some(s) = self.min_stars
            && s > 5.0
        {
            return Err(ParseError {
                field: "min_stars",
                message: format!("min_stars {s} is above 5"),
            });
        }
        Ok(())
    }
}

/// Everything a recall can be asked to do differently. Missing fields take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RecallParams {
    /// Number of items to return, 1..=10000.
    pub topn: usize,
    /// IVF lists to probe; `None` takes the index's default, raised so that `topn` is reachable.
    pub nprobe: Option<usize>,
    pub fusion: Fusion,
    pub aggregate: Aggregate,
    /// Enabled channels.
    pub channels: Vec<Channel>,
    pub weights: Weights,
    /// How many of the most recent clicks drive the recall.
    pub recent_clicks: usize,
    pub filters: Filters,
}

impl Default for RecallParams {
    fn default() -> Self {
        RecallParams {
            topn: DEFAULT_TOPN,
            nprobe: None,
            fusion: Fusion::default(),
            aggregate: Aggregate::default(),
            channels: Channel::ALL.to_vec(),
            weights: Weights::default(),
            recent_clicks: DEFAULT_RECENT_CLICKS,
            filters: Filters::default(),
        }
    }
}

impl RecallParams {
    /// Checks the rules that do not depend on the loaded index.
    pub fn validate(&self) -> Result<(), ParseError> {
        if self.topn == 0 || self.topn > MAX_TOPN {
            return Err(ParseError {
                field: "topn",
                message: format!("topn must be between 1 and {MAX_TOPN}, got {}", self.topn),
            });
        }
        if self.nprobe == Some(0) {
            return Err(ParseError {
                field: "nprobe",
                message: "nprobe must be at least 1".into(),
            });
        }
        if self.channels.is_empty() {
            return Err(ParseError {
                field: "channels",
                message: "at least one channel must be enabled".into(),
            });
        }
        if self.recent_clicks == 0 || self.recent_clicks > 100 {
            return Err(ParseError {
                field: "recent_clicks",
                message: format!(
                    "recent_clicks must be between 1 and 100, got {}",
                    self.recent_clicks
                ),
            });
        }
        self.filters.validate()
    }

    pub fn uses(&self, c: Channel) -> bool {
        self.channels.contains(&c)
    }
}

/// Scores an item received from each channel that recalled it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelScores {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popular: Option<f32>,
}

impl ChannelScores {
    pub fn get(&self, c: Channel) -> Option<f32> {
        match c {
            Channel::Content => self.content,
            Channel::Cf => self.cf,
            Channel::Popular => self.popular,
        }
    }
    pub fn set(&mut self, c: Channel, v: f32) {
        match c {
            Channel::Content => self.content = Some(v),
            Channel::Cf => self.cf = Some(v),
            Channel::Popular => self.popular = Some(v),
        }
    }
    /// The channels that recalled the item, in a fixed order.
    pub fn channels(&self) -> Vec<Channel> {
        Channel::ALL
            .into_iter()
            .filter(|c| self.get(*c).is_some())
            .collect()
    }
}

/// One recalled item, in recall order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecallItem {
    /// 1-based position in the fused list.
    pub rank: usize,
    /// The fused score (its meaning depends on the fusion).
    pub score: f32,
    /// Per-channel scores: content similarity (aggregated), CF co-click score, popularity.
    pub channels: ChannelScores,
    /// The clicked asins whose neighbours (content) or co-clicks (CF) recalled this item.
    pub because: Vec<String>,
    pub product: Product,
}

/// Where time went in one recall, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Timings {
    pub clicks_ms: f64,
    pub search_ms: f64,
    pub cf_ms: f64,
    pub popular_ms: f64,
    pub fusion_ms: f64,
    pub enrich_ms: f64,
    pub total_ms: f64,
}

/// How many candidates each channel produced, and how many of the returned items each holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelCounts {
    pub content_candidates: usize,
    pub cf_candidates: usize,
    pub popular_candidates: usize,
    pub content_returned: usize,
    pub cf_returned: usize,
    pub popular_returned: usize,
}

/// The parameters a recall actually ran with (defaults filled in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UsedParams {
    pub topn: usize,
    /// The nprobe used by the content search (`None` for indexes without lists).
    pub nprobe: Option<usize>,
    /// Neighbours requested per click from the index.
    pub k_per_click: usize,
    pub fusion: Fusion,
    pub aggregate: Aggregate,
    pub channels: Vec<Channel>,
    pub weights: Weights,
    pub recent_clicks: usize,
    pub filters: Filters,
}

/// The answer to a recall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecallResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The clicks that drove the recall, most recent first.
    pub clicks: Vec<String>,
    pub params: UsedParams,
    pub items: Vec<RecallItem>,
    pub timings: Timings,
    pub counts: ChannelCounts,
    /// Notes for the reader, e.g. why fewer than `topn` items came back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `POST /api/recall`: a recall for a click list that is not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    /// Clicked asins, oldest first (as they happened).
    pub clicks: Vec<String>,
    #[serde(default)]
    pub params: RecallParams,
}

/// A neighbour of an item, from the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScoredProduct {
    pub rank: usize,
    pub score: f32,
    pub product: Product,
}

/// `GET /api/products/{asin}/similar` and `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NeighboursResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub k: usize,
    pub nprobe: Option<usize>,
    pub items: Vec<ScoredProduct>,
    pub took_ms: f64,
}

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
            _ => Err(ParseError {
                field: "sort",
                message: format!(
                    "unknown sort {s:?}; expected relevance, price_asc, price_desc, stars, reviews or popular"
                ),
            }),
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
    pub model: String,
    pub dim: usize,
    pub index_factory: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub vectors: usize,
    /// RFC 3339 time of the index build.
    pub built_at: String,
    pub build_seconds: f64,
    /// Incremented by every reindex that replaced the index while serving.
    pub generation: u64,
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
#[cfg_attr(feature = "openapi", derive(IntoParams))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_reject() {
        let w = Weights::parse("content:2, cf:0.5").unwrap();
        assert_eq!(
            (w.content, w.cf, w.popular),
            (2.0, 0.5, Weights::default().popular)
        );
        assert_eq!(Weights::parse("bogus:1").unwrap_err().field, "weights");
        assert_eq!(Weights::parse("cf:-1").unwrap_err().field, "weights");
        assert_eq!(Weights::parse(&w.to_param()).unwrap(), w);
    }

    #[test]
    fn params_validation_names_the_field() {
        let mut p = RecallParams {
            topn: 0,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().field, "topn");
        p.topn = MAX_TOPN + 1;
        assert_eq!(p.validate().unwrap_err().field, "topn");
        p.topn = 10;
        p.filters.min_price = Some(10.0);
        p.filters.max_price = Some(5.0);
        assert_eq!(p.validate().unwrap_err().field, "max_price");
    }

    #[test]
    fn recall_request_json_roundtrip_uses_defaults() {
        let r: RecallRequest =
            serde_json::from_str(r#"{"clicks":["A"],"params":{"topn":7,"fusion":"seed"}}"#)
                .unwrap();
        assert_eq!(r.params.topn, 7);
        assert_eq!(r.params.fusion, Fusion::Seed);
        assert_eq!(r.params.channels, Channel::ALL.to_vec());
        assert!(
            serde_json::from_str::<RecallRequest>(r#"{"clicks":[],"params":{"fusion":"nope"}}"#)
                .is_err()
        );
    }
}
