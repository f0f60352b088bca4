//! The collaborative-filtering channel: items other users clicked together with the clicks
//! (item-to-item cosine over co-clicks, `clicks::cf_candidates`).

use super::{Cand, Channel, Input, Output};
use crate::clicks;
use crate::error::Result;

pub struct Cf;

impl Channel for Cf {
    fn name(&self) -> &'static str {
        "cf"
    }

    fn description(&self) -> &'static str {
        "item-to-item collaborative filtering from co-clicks of other users"
    }

    fn seed_order(&self) -> u8 {
        0
    }

    fn recall(&self, input: &Input<'_>) -> Result<Output> {
        let mut out = Output::default();
        if input.clicks.is_empty() {
            return Ok(out);
        }
        let conn = input.catalog.conn()?;
        let mut unindexed = 0;
        for c in clicks::cf_candidates(conn, input.clicks, input.user, input.k)? {
            let Some(pos) = input.loaded.asins.position(&c.asin) else {
                unindexed += 1;
                continue;
            };
            let because = c
                .because
                .iter()
                .filter_map(|b| input.clicks.iter().position(|x| x == b))
                .fold(0u128, |m, i| m | 1u128 << i);
            out.list.push(Cand {
                pos,
                score: c.score,
                because,
            });
        }
        if unindexed > 0 {
            out.warnings.push(format!(
                "{unindexed} CF candidates were added after the last build and are skipped until a reindex"
            ));
        }
        Ok(out)
    }
}
