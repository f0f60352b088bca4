//! Recall channels: each turns a recall's clicks into a ranked candidate list with evidence,
//! behind the one [`Channel`] trait. Fusion, counts, timings and the wire types work for any
//! channel in [`REGISTRY`].
//!
//! Adding a channel: one file here implementing [`Channel`], a `mod` line and an entry in
//! [`REGISTRY`] below, and its label in the app (`frontend/src/channels.rs`).

mod category;
mod cf;
mod content;
mod popular;

use super::loaded::Loaded;
use crate::error::{Error, Result};
use crate::ids::UserId;
use common::RecallParams;

/// Most channels a recall can fuse (the size of each fused item's per-channel score array).
pub const MAX_CHANNELS: usize = 8;

/// A candidate of one channel: its row in the build, its score, and which clicks recalled it
/// (bit i set: `clicks[i]`; at most 100 clicks drive a recall).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cand {
    pub pos: u32,
    pub score: f32,
    pub because: u128,
}

/// One channel's list, best first, a row at most once.
pub type Ranked = Vec<Cand>;

/// What a channel is given: the loaded build, the recall's clicks and parameters.
pub struct Input<'a> {
    pub loaded: &'a Loaded,
    /// The CF model, when one has been built (for this build or an earlier one: check
    /// `meta.build_id` against `loaded.info.build_id`).
    pub cf: Option<&'a crate::cf::CfModel>,
    /// The clicks that drive the recall, most recent first, without repeats.
    pub clicks: &'a [String],
    /// The build rows of the clicks that are in the build.
    pub clicked: &'a [u32],
    pub user: Option<&'a UserId>,
    pub params: &'a RecallParams,
    /// Neighbours to ask for per click (topn plus the clicks, more with filters).
    pub k: usize,
    /// The nprobe of the recall's index searches.
    pub nprobe: Option<usize>,
    /// The request's read snapshot of the catalog, opened on first use.
    pub catalog: &'a super::snapshot::Snapshot<'a>,
}

/// What a channel answers.
#[derive(Debug, Default)]
pub struct Output {
    pub list: Ranked,
    /// Notes for the answer's reader (e.g. clicks the channel could not use).
    pub warnings: Vec<String>,
    /// Parts of the channel's time worth logging on their own, as (name, ms).
    pub parts_ms: Vec<(&'static str, f64)>,
}

/// A recall channel.
pub trait Channel: Sync {
    /// Its name on the wire, in parameters, weights, scores, counts and timings.
    fn name(&self) -> &'static str;
    /// One line for the API's channel list.
    fn description(&self) -> &'static str;
    /// The weight it gets in `rrf` and `weighted` fusion when a request names none.
    fn default_weight(&self) -> f32 {
        1.0
    }
    /// Whether a request that names no channels runs it.
    fn on_by_default(&self) -> bool {
        true
    }
    /// Where its list goes in `seed` fusion's concatenation (lower first).
    fn seed_order(&self) -> u8;
    /// Its candidates for the input's clicks, best first, clicked rows excluded.
    fn recall(&self, input: &Input<'_>) -> Result<Output>;
}

/// Every channel, in the order answers list them.
pub static REGISTRY: &[&dyn Channel] = &[
    &content::Content,
    &cf::Cf,
    &popular::Popular,
    &category::Category,
];

/// The registered channels as the API lists them.
pub fn infos() -> Vec<common::ChannelInfo> {
    REGISTRY
        .iter()
        .map(|c| common::ChannelInfo {
            name: c.name().to_owned(),
            description: c.description().to_owned(),
            default_weight: c.default_weight(),
            on_by_default: c.on_by_default(),
        })
        .collect()
}

/// The channels a request runs, with their weights, in registry order. Unknown names in the
/// request's channels or weights are parameter errors.
pub fn resolve(params: &RecallParams) -> Result<Vec<(&'static dyn Channel, f32)>> {
    let names = || {
        REGISTRY
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let known = |field: &'static str, name: &str| -> Result<()> {
        if REGISTRY.iter().any(|c| c.name() == name) {
            Ok(())
        } else {
            Err(Error::param(
                field,
                format!("unknown channel {name:?}; expected {}", names()),
            ))
        }
    };
    if let Some(list) = &params.channels {
        for name in list {
            known("channels", name)?;
        }
    }
    for name in params.weights.keys() {
        known("weights", name)?;
    }
    let chosen: Vec<_> = REGISTRY
        .iter()
        .copied()
        .filter(|c| params.names(c.name()).unwrap_or_else(|| c.on_by_default()))
        .map(|c| {
            let w = params
                .weights
                .get(c.name())
                .copied()
                .unwrap_or_else(|| c.default_weight());
            (c, w)
        })
        .collect();
    if chosen.is_empty() {
        return Err(Error::param(
            "channels",
            "at least one channel must be enabled",
        ));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit_the_score_array() {
        let mut names: Vec<_> = REGISTRY.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
        assert!(REGISTRY.len() <= MAX_CHANNELS);
    }

    #[test]
    fn requests_name_known_channels_only() {
        let default = resolve(&RecallParams::default()).unwrap();
        let names: Vec<_> = default.iter().map(|(c, _)| c.name()).collect();
        assert_eq!(
            names,
            ["content", "cf", "popular"],
            "category is off by default"
        );
        let w: Vec<f32> = default.iter().map(|(_, w)| *w).collect();
        assert_eq!(w, [1.0, 1.0, 0.2]);
        for (p, field) in [("channels", "content,bogus"), ("weights", "bogus:1")]
            .map(|(k, v)| (RecallParams::from_pairs([(k, v)]).unwrap(), k))
        {
            match resolve(&p) {
                Err(Error::InvalidParam { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {:?}", other.map(|v| v.len())),
            }
        }
    }
}
