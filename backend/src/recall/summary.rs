//! Beyond accuracy: what a recalled list's top K looks like as a whole. Its category mix, how
//! alike its items are (mean pairwise cosine of their title embeddings), how popular (mean
//! popularity percentile), its price range, and the items that nearly repeat a click or a
//! better-ranked item (cosine ≥ `NEAR_DUPLICATE_COSINE`).

use super::engine::Engine;
use crate::catalog;
use crate::error::{Error, Result};
use common::{CategoryShare, NEAR_DUPLICATE_COSINE, NearDuplicate, RecallSummary};

/// Most items a summary covers: its pairwise cosines grow with the square.
pub const MAX_SUMMARY_K: usize = 500;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Engine {
    /// Summarises the first `k` of `asins` (a list in recall order) recalled for `clicks`.
    pub fn summarise(
        &self,
        clicks: &[String],
        asins: &[String],
        k: usize,
    ) -> Result<RecallSummary> {
        if !(1..=MAX_SUMMARY_K).contains(&k) {
            return Err(Error::param("k", format!("k must be 1 to {MAX_SUMMARY_K}")));
        }
        let loaded = self.current();
        let top: Vec<&String> = asins.iter().take(k).collect();
        let rows: Vec<u32> = top
            .iter()
            .map(|a| {
                loaded
                    .asins
                    .position(a)
                    .ok_or_else(|| Error::UnknownProduct((*a).clone()))
            })
            .collect::<Result<_>>()?;
        let vectors: Vec<Vec<f32>> = rows
            .iter()
            .map(|&r| loaded.vectors.row(r as usize))
            .collect::<Result<_>>()?;
        let clicked: Vec<(&String, Vec<f32>)> = clicks
            .iter()
            .filter_map(|a| Some((a, loaded.asins.position(a)?)))
            .map(|(a, r)| Ok((a, loaded.vectors.row(r as usize)?)))
            .collect::<Result<_>>()?;
        let conn = self.conn()?;
        let products = catalog::products_in_order(&conn, top.iter().map(|a| a.as_str()))?;
        // Categories, most items first (ties by name).
        let mut counts: hashbrown::HashMap<i64, usize> = hashbrown::HashMap::new();
        for p in products.iter().flatten() {
            *counts.entry(p.category_id).or_default() += 1;
        }
        let mut categories: Vec<CategoryShare> = counts
            .into_iter()
            .map(|(id, items)| CategoryShare {
                category_id: id,
                name: loaded
                    .category_names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("category {id}")),
                items,
            })
            .collect();
        categories.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.name.cmp(&b.name)));
        // Mean pairwise cosine, and near-duplicates of a click or a better-ranked item.
        let (mut sum, mut pairs) = (0f64, 0usize);
        let mut near_duplicates = Vec::new();
        for (i, v) in vectors.iter().enumerate() {
            let mut best: Option<(String, bool, f32)> = None;
            for (a, c) in &clicked {
                let cos = dot(v, c);
                if best.as_ref().is_none_or(|b| cos > b.2) {
                    best = Some(((*a).clone(), true, cos));
                }
            }
            for (j, w) in vectors[..i].iter().enumerate() {
                let cos = dot(v, w);
                sum += f64::from(cos);
                pairs += 1;
                if best.as_ref().is_none_or(|b| cos > b.2) {
                    best = Some((top[j].clone(), false, cos));
                }
            }
            if let Some((of, of_click, cosine)) = best
                && cosine >= NEAR_DUPLICATE_COSINE
            {
                near_duplicates.push(NearDuplicate {
                    asin: top[i].clone(),
                    rank: i + 1,
                    of,
                    of_click,
                    cosine,
                });
            }
        }
        let ranks = loaded.popularity_ranks(&conn)?;
        let n = ranks.len().max(1) as f64;
        let percentile: Vec<f64> = rows
            .iter()
            .map(|&r| match ranks.get(r as usize) {
                Some(&rank) if rank != u32::MAX => 100.0 * (1.0 - f64::from(rank) / n),
                _ => 0.0,
            })
            .collect();
        let mut prices: Vec<f64> = products.iter().flatten().map(|p| p.price).collect();
        prices.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        Ok(RecallSummary {
            k: top.len(),
            categories,
            mean_pairwise_cosine: if pairs == 0 { 0.0 } else { sum / pairs as f64 },
            mean_popularity_percentile: mean(&percentile),
            min_price: prices.first().copied().unwrap_or(0.0),
            median_price: prices.get(prices.len() / 2).copied().unwrap_or(0.0),
            max_price: prices.last().copied().unwrap_or(0.0),
            near_duplicates,
        })
    }
}
