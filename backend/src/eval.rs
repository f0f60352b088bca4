//! Recall quality: category precision@K of item-to-item neighbours, ANN recall against exact
//! search, and held-out evaluation of the channels and fusions on simulated sessions.

use crate::error::Result;
use crate::recall::Engine;
use std::collections::HashMap;

/// Which search finds the neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Neighbours {
    /// The index at the nprobe `similar` uses.
    Index,
    /// Exact inner-product search over the same vectors.
    Exact,
}

/// Mean, over every item with a vector, of the share of its `k` nearest neighbours (itself
/// excluded) that are in its category.
pub fn category_precision(engine: &Engine, k: usize, how: Neighbours) -> Result<f64> {
    let loaded = engine.current();
    let conn = engine.conn()?;
    let cat: HashMap<String, i64> = {
        let mut st = conn.prepare("SELECT asin, coalesce(category_id, 0) FROM amazon_products")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
    };
    let all = loaded.vectors.to_vec();
    let n = loaded.vectors.rows();
    let exact = match how {
        Neighbours::Exact => crate::index::exact_search(&all, loaded.vectors.cols(), &all, k + 1)?,
        Neighbours::Index => loaded.index.search(&all, k + 1, loaded.index.nprobe_for_k(k + 1))?,
    };
    let mut total = 0.0;
    for q in 0..n {
        let mine = cat.get(&loaded.asins[q]);
        let hits: Vec<usize> = exact.row(q).map(|(l, _)| l).filter(|&l| l != q).take(k).collect();
        let same = hits.iter().filter(|&&l| cat.get(&loaded.asins[l]) == mine).count();
        total += same as f64 / k as f64;
    }
    Ok(total / n.max(1) as f64)
}
