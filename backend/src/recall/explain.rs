//! Why one item is where it is in a recall: the fused score and its parts, each channel's rank
//! and score for the item, every click with its similarity and co-click evidence, its
//! popularity rank, and the recall's notes. The recall runs as usual; its channel lists are
//! read before they are dropped.

use super::channels::REGISTRY;
use super::engine::Engine;
use super::fuse::{RRF_K, contribution, score_range};
use crate::catalog;
use crate::error::{Error, Result};
use common::{ChannelEvidence, ClickEvidence, Explanation, Fusion, RecallParams};

/// How `fusion` makes its score, in words (the explanation panel's first line).
pub fn formula(fusion: Fusion) -> String {
    match fusion {
        Fusion::Seed => {
            let mut order: Vec<_> = REGISTRY.iter().collect();
            order.sort_by_key(|c| c.seed_order());
            let names: Vec<_> = order.iter().map(|c| c.name()).collect();
            format!(
                "seed: the channels' lists concatenated ({}); an item takes its place in the first list that holds it, and the score is that list's",
                names.join(", then ")
            )
        }
        Fusion::Rrf => format!(
            "RRF: the sum over channels of weight / ({RRF_K} + the item's rank in that channel)"
        ),
        Fusion::Weighted => "weighted: the sum over channels of weight × the item's score, scaled to 0–1 within that channel's list".into(),
    }
}

impl Engine {
    /// Explains `asin`'s place in the recall of `clicks_recent_first` with `params`.
    pub fn explain(
        &self,
        clicks_recent_first: &[String],
        params: &RecallParams,
        asin: &str,
    ) -> Result<Explanation> {
        let _running = self.running();
        let mut plan = self.plan(clicks_recent_first, None, params)?;
        let loaded = plan.loaded.clone();
        let pos = loaded
            .asins
            .position(asin)
            .ok_or_else(|| Error::UnknownProduct(asin.to_owned()))?;
        let lists = std::mem::take(&mut plan.lists);
        let names = plan.channels.clone();
        let clicks = plan.clicks.clone();
        let fusion = params.fusion;
        let answer = self.materialise(plan, params)?;
        let item = answer.items.iter().find(|i| i.product.asin == asin);
        let channels = names
            .iter()
            .zip(&lists)
            .map(|(name, (list, weight))| {
                let rank = list.iter().position(|c| c.pos == pos);
                ChannelEvidence {
                    channel: (*name).to_owned(),
                    rank: rank.map(|r| r + 1),
                    score: rank.map(|r| list[r].score),
                    candidates: list.len(),
                    weight: *weight,
                    contribution: rank.map_or(0.0, |r| {
                        contribution(fusion, list, *weight, score_range(list), r)
                    }),
                }
            })
            .collect();
        let conn = self.conn()?;
        let products = catalog::products_in_order(&conn, clicks.iter().map(String::as_str))?;
        let item_vec = loaded.vectors.row(pos as usize)?;
        let cf = self
            .cf_model()
            .filter(|m| m.meta.build_id == loaded.info.build_id);
        let clicks = clicks
            .iter()
            .zip(products)
            .map(|(a, product)| {
                let at = loaded.asins.position(a);
                let similarity = match at {
                    Some(p) => Some(
                        loaded
                            .vectors
                            .row(p as usize)?
                            .iter()
                            .zip(&item_vec)
                            .map(|(x, y)| x * y)
                            .sum(),
                    ),
                    None => None,
                };
                Ok(ClickEvidence {
                    product,
                    asin: a.clone(),
                    similarity,
                    recalled_it: item.is_some_and(|i| i.because.contains(a)),
                    co_click: at.zip(cf.as_deref()).and_then(|(p, m)| {
                        m.neighbours(p).find(|&(n, _)| n == pos).map(|(_, s)| s)
                    }),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let product = match &item {
            Some(i) => i.product.clone(),
            None => catalog::products_in_order(&conn, [asin])?
                .pop()
                .flatten()
                .ok_or_else(|| Error::UnknownProduct(asin.to_owned()))?,
        };
        Ok(Explanation {
            product,
            rank: item.map(|i| i.rank),
            fusion,
            score: item.map(|i| i.score),
            formula: formula(fusion),
            channels,
            clicks,
            popularity_rank: loaded
                .popular
                .iter()
                .position(|e| e.pos == pos)
                .map(|r| r + 1),
            notes: answer.warnings,
        })
    }
}
