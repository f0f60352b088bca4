//! The answer to a recall and to a neighbour search. Per-channel figures (scores, weights,
//! timings, counts) are maps keyed by the channel's name, so any registered channel appears
//! without a change here.

use crate::Product;
use crate::params::{Aggregate, Filters, Fusion, RecallParams, Weights};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The scores an item received from each channel that recalled it, by channel name.
pub type ChannelScores = BTreeMap<String, f32>;

/// One recalled item, in recall order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecallItem {
    /// 1-based position in the fused list.
    pub rank: usize,
    /// The fused score (its meaning depends on the fusion).
    pub score: f32,
    /// Per-channel scores by channel name: content similarity (aggregated), CF co-click score,
    /// popularity, ...
    pub channels: ChannelScores,
    /// The clicked asins whose neighbours (content), co-clicks (CF) or categories recalled it.
    pub because: Vec<String>,
    pub product: Product,
}

/// Where time went in one recall, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Timings {
    pub clicks_ms: f64,
    /// Each channel's own time, by channel name.
    pub channels_ms: BTreeMap<String, f64>,
    pub fusion_ms: f64,
    pub enrich_ms: f64,
    pub total_ms: f64,
}

/// What one channel contributed: its candidates, and how many returned items it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelCount {
    pub candidates: usize,
    pub returned: usize,
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
    /// The channels that ran, in the registry's order.
    pub channels: Vec<String>,
    /// The weight of every channel that ran.
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
    /// Per channel, by name.
    pub counts: BTreeMap<String, ChannelCount>,
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

/// A registered recall channel, as `GET /api/channels` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelInfo {
    pub name: String,
    pub description: String,
    /// The weight it gets when a request names none.
    pub default_weight: f32,
    /// Whether a request that names no channels runs it.
    pub on_by_default: bool,
}

/// `POST /api/recall/explain`: why one item is where it is in the recall of a click list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// Clicked asins, oldest first (as in [`RecallRequest`]).
    pub clicks: Vec<String>,
    #[serde(default)]
    pub params: RecallParams,
    /// The item to explain.
    pub asin: String,
}

/// One channel's part in an item's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChannelEvidence {
    pub channel: String,
    /// 1-based rank of the item in the channel's own list, when the channel recalled it.
    pub rank: Option<usize>,
    /// Its score there.
    pub score: Option<f32>,
    /// The length of the channel's list.
    pub candidates: usize,
    pub weight: f32,
    /// What this channel added to the fused score (0 for `seed`, which orders by position).
    pub contribution: f32,
}

/// One click's part in an item's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClickEvidence {
    /// The clicked product (absent when the click names an asin the catalog lacks).
    pub product: Option<Product>,
    pub asin: String,
    /// Cosine similarity of the click's title embedding and the item's.
    pub similarity: Option<f32>,
    /// Whether the recall counts this click among the item's reasons (`RecallItem::because`).
    pub recalled_it: bool,
    /// The CF model's similarity of the two items (co-clicks), when they are neighbours there.
    pub co_click: Option<f32>,
}

/// The answer to an explain request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Explanation {
    pub product: Product,
    /// 1-based rank in the answer, when the item is in it.
    pub rank: Option<usize>,
    pub fusion: Fusion,
    /// The fused score, when the item is in the answer.
    pub score: Option<f32>,
    /// How the fusion makes its score, in words.
    pub formula: String,
    /// Every channel that ran, in the registry's order.
    pub channels: Vec<ChannelEvidence>,
    /// Every click that drove the recall, most recent first.
    pub clicks: Vec<ClickEvidence>,
    /// 1-based rank in the catalog's popularity ranking, when within the part the popular
    /// channel reads.
    pub popularity_rank: Option<usize>,
    /// The recall's notes (see [`RecallResponse::warnings`]).
    pub notes: Vec<String>,
}

/// `POST /api/recall/summary`: beyond-accuracy figures of a recalled list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryRequest {
    /// The clicks that drove the list, oldest first.
    pub clicks: Vec<String>,
    /// The list's asins in recall order; the first `k` are summarised.
    pub asins: Vec<String>,
    /// How many of the list's items to summarise (default 50, at most 500).
    #[serde(default)]
    pub k: Option<usize>,
}

/// A category's share of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CategoryShare {
    pub category_id: i64,
    pub name: String,
    pub items: usize,
}

/// An item of the list that nearly repeats a click or a better-ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NearDuplicate {
    pub asin: String,
    /// 1-based rank in the list.
    pub rank: usize,
    /// The click or better-ranked item it nearly repeats.
    pub of: String,
    /// Whether `of` is a click (else an item ranked above it).
    pub of_click: bool,
    pub cosine: f32,
}

/// Beyond-accuracy figures of a list's top `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecallSummary {
    pub k: usize,
    /// Categories by how many of the top `k` they hold, most first.
    pub categories: Vec<CategoryShare>,
    /// Mean cosine similarity of every pair of the top `k`'s title embeddings (intra-list
    /// similarity: lower is more diverse).
    pub mean_pairwise_cosine: f64,
    /// Mean popularity percentile of the top `k` (100: the catalog's most popular item, 0: its
    /// least; lower is more novel).
    pub mean_popularity_percentile: f64,
    pub min_price: f64,
    pub median_price: f64,
    pub max_price: f64,
    /// Items at cosine ≥ [`NEAR_DUPLICATE_COSINE`] to a click or a better-ranked item.
    pub near_duplicates: Vec<NearDuplicate>,
}

/// The cosine at and above which an item counts as a near-duplicate.
pub const NEAR_DUPLICATE_COSINE: f32 = 0.95;
