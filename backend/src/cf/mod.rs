//! The item-to-item collaborative-filtering model: for each row of a build, its top-K co-clicked
//! rows with their similarity, precomputed from the click log ([`build`]), kept in `cf.model`
//! beside the build ([`store`]) and read by the `cf` recall channel in O(clicks × K) per recall.
//!
//! Similarity is the cosine of two items' user vectors. User u's weight on item i is
//! w(u,i) = 0.5^(age / half-life), the age being that of u's latest click on i measured back
//! from the newest click in the log (w = 1 without a half-life), and
//! sim(i, j) = Σ_u w(u,i)·w(u,j) / √(Σ_u w(u,i)² · Σ_u w(u,j)²): with unit weights,
//! |U(i) ∩ U(j)| / √(|U(i)|·|U(j)|). A pair needs `min_support` users who clicked both. Each user
//! counts with their `max_user_items` most recently clicked distinct items, which bounds the
//! work one heavy user (or a bot) adds to a rebuild.
//!
//! Invariant: a recall never reads the click log for CF; it reads the model, which may lag the
//! log by the rebuild interval (the server's `cf_refresh_secs`) plus one rebuild.

pub mod build;
pub mod store;

use crate::error::{Error, Result};
use crate::layout::Layout;
use serde::{Deserialize, Serialize};

/// Rebuilds the model of the data dir's current build from its click log and saves it, without
/// an engine (the build pipeline's last stage; a serving engine uses `Engine::refresh_cf`).
pub fn rebuild(layout: &Layout, options: &CfOptions) -> Result<CfModel> {
    let _writer = layout.lock_writer()?;
    let manifest = crate::manifest::Manifest::load(layout)?;
    let info = manifest
        .and_then(|m| m.index)
        .ok_or_else(|| Error::MissingArtifact {
            what: "the index",
            path: layout.index(),
            fix: layout.fix("index"),
        })?;
    let path = layout.asin_list();
    let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    let asins = crate::asin_table::AsinTable::from_lines(text);
    let conn = crate::catalog::open(&layout.db())?;
    build::build_and_save(
        &build::Source {
            conn: &conn,
            asins: &asins,
            build_id: &info.build_id,
        },
        options,
        0,
        &layout.cf_model(),
    )
}

/// How a model is built.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CfOptions {
    /// Neighbours kept per item.
    pub k: usize,
    /// Users who must have clicked both items of a pair.
    pub min_support: u32,
    /// Most recently clicked distinct items of a user that count.
    pub max_user_items: usize,
    /// Half-life of a click's weight, in days; `None`: every click weighs the same.
    pub half_life_days: Option<f64>,
}

impl Default for CfOptions {
    fn default() -> Self {
        CfOptions {
            k: 100,
            min_support: 1,
            max_user_items: 200,
            half_life_days: None,
        }
    }
}

/// Where the click log stood when a model read it: a model is stale when the log has moved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickMark {
    /// The highest click rowid (new clicks raise it).
    pub max_rowid: i64,
    /// Bumped by every deletion of clicks (`clicks::clicks_revision`).
    pub revision: u64,
}

/// What a model was built from and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfMeta {
    /// The build (`IndexInfo::build_id`) whose rows the model's positions are.
    pub build_id: String,
    /// Rows of that build.
    pub rows: usize,
    pub mark: ClickMark,
    /// Clicks read from the log, users they came from, and those on items not in the build.
    pub clicks: u64,
    pub users: u64,
    pub clicks_not_in_build: u64,
    /// Neighbour entries kept (at most `rows × k`).
    pub pairs: u64,
    pub options: CfOptions,
    /// RFC 3339 time the build finished, and the same in Unix milliseconds.
    pub built_at: String,
    pub built_at_ms: i64,
    pub build_seconds: f64,
}

/// The model: per row, its neighbours best first.
#[derive(Debug, Clone, PartialEq)]
pub struct CfModel {
    pub meta: CfMeta,
    /// `offsets[i]..offsets[i + 1]` index row i's neighbours in `items` and `sims`.
    offsets: Vec<u32>,
    items: Vec<u32>,
    sims: Vec<f32>,
}

impl CfModel {
    /// Assembles a model from per-row lists; each list best first.
    pub(crate) fn from_lists(meta: CfMeta, lists: Vec<Vec<(u32, f32)>>) -> CfModel {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let total: usize = lists.iter().map(Vec::len).sum();
        let (mut items, mut sims) = (Vec::with_capacity(total), Vec::with_capacity(total));
        offsets.push(0);
        for list in lists {
            for (j, s) in list {
                items.push(j);
                sims.push(s);
            }
            offsets.push(items.len() as u32);
        }
        CfModel {
            meta: CfMeta {
                pairs: items.len() as u64,
                ..meta
            },
            offsets,
            items,
            sims,
        }
    }

    /// Row `pos`'s neighbours as (row, similarity), best first; none for a row the model does
    /// not know.
    pub fn neighbours(&self, pos: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let p = pos as usize;
        let range = match (self.offsets.get(p), self.offsets.get(p + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        };
        self.items[range.clone()]
            .iter()
            .copied()
            .zip(self.sims[range].iter().copied())
    }

    /// Rows with at least one neighbour.
    pub fn rows_with_neighbours(&self) -> usize {
        self.offsets.windows(2).filter(|w| w[1] > w[0]).count()
    }
}
