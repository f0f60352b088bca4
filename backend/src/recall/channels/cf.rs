//! The collaborative-filtering channel: the items most similar to the clicks in the
//! precomputed item-to-item model (`crate::cf`), their similarities summed over the clicks.

use super::{Cand, Channel, Input, Output};
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
        if input.clicked.is_empty() {
            return Ok(out);
        }
        let Some(model) = input.cf else {
            out.warnings.push(
                "no CF model yet: it is built in the background from the click log (or by `recall-lab cf build`)"
                    .into(),
            );
            return Ok(out);
        };
        if model.meta.build_id != input.loaded.info.build_id {
            out.warnings.push(
                "the CF model is from an earlier build; CF answers again once it is rebuilt".into(),
            );
            return Ok(out);
        }
        // Work: clicks × K neighbours, whatever the size of the click log.
        let mut scores: hashbrown::HashMap<u32, (f32, u128)> = hashbrown::HashMap::with_capacity(
            (input.clicked.len() * model.meta.options.k).min(model.meta.pairs as usize),
        );
        for (i, click) in input.clicks.iter().enumerate() {
            let Some(pos) = input.loaded.asins.position(click) else {
                continue;
            };
            for (j, sim) in model.neighbours(pos) {
                let e = scores.entry(j).or_insert((0.0, 0));
                e.0 += sim;
                e.1 |= 1u128 << i;
            }
        }
        for pos in input.clicked {
            scores.remove(pos);
        }
        let mut list: Vec<Cand> = scores
            .into_iter()
            .map(|(pos, (score, because))| Cand {
                pos,
                score,
                because,
            })
            .collect();
        let best = |a: &Cand, b: &Cand| b.score.total_cmp(&a.score).then(a.pos.cmp(&b.pos));
        if list.len() > input.k && input.k > 0 {
            list.select_nth_unstable_by(input.k - 1, best);
        }
        list.truncate(input.k);
        list.sort_unstable_by(best);
        out.list = list;
        Ok(out)
    }
}
