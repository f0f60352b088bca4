//! Fidelity of a build's vectors to the fp32 reference model: the same titles embedded by
//! [`REFERENCE_MODEL`], compared vector by vector (cosine) and neighbourhood by neighbourhood
//! (how many of each title's 10 nearest, by exact inner product among the compared titles, agree).
//! It reads the build's own vectors, so it measures what the index serves, not a re-run.

use crate::embed::{Embedder, ModelChoice, ModelPaths, REFERENCE_MODEL};
use crate::error::Result;
use crate::recall::Engine;
use common::Fidelity;

/// Neighbours compared per title.
const K: usize = 10;

/// Compares up to `max_titles` titles (every n-th row of the build, so the whole catalog is
/// spread over) with the reference; `Ok(None)` when the reference model is not installed.
pub fn measure(engine: &Engine, max_titles: usize) -> Result<Option<Fidelity>> {
    let Ok(paths) = ModelPaths::resolve(&ModelChoice::Named(REFERENCE_MODEL.into())) else {
        return Ok(None);
    };
    if !paths.model_dir.join("model.onnx").is_file() {
        return Ok(None);
    }
    let loaded = engine.current();
    let n = loaded.vectors.rows();
    let dim = loaded.vectors.cols();
    let step = n.div_ceil(max_titles.max(1)).max(1);
    let picked: Vec<usize> = (0..n).step_by(step).collect();
    if picked.len() <= K {
        return Ok(None);
    }
    let all = loaded.vectors.to_vec()?;
    let built: Vec<f32> = picked
        .iter()
        .flat_map(|&r| all[r * dim..(r + 1) * dim].iter().copied())
        .collect();
    let titles: Vec<String> = {
        let conn = engine.conn()?;
        let mut st =
            conn.prepare_cached("SELECT coalesce(title, '') FROM amazon_products WHERE asin = ?1")?;
        picked
            .iter()
            .map(|&r| st.query_row([loaded.asins.get(r)], |row| row.get(0)))
            .collect::<rusqlite::Result<_>>()?
    };
    let reference = embed_sorted(&paths, &titles)?;
    if reference.len() != built.len() {
        return Ok(None);
    }
    let cosines: Vec<f64> = built
        .chunks_exact(dim)
        .zip(reference.chunks_exact(dim))
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum())
        .collect();
    let top10_overlap = neighbour_overlap(&built, &reference, dim)?;
    Ok(Some(Fidelity {
        reference: REFERENCE_MODEL.into(),
        titles: picked.len(),
        cosine_mean: cosines.iter().sum::<f64>() / cosines.len() as f64,
        cosine_min: cosines.iter().copied().fold(f64::INFINITY, f64::min),
        top10_overlap,
    }))
}

/// The reference's vectors of `titles`, in their order; embedded shortest first, in batches of
/// like length, as `recall-lab embed` does.
fn embed_sorted(paths: &ModelPaths, titles: &[String]) -> Result<Vec<f32>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut model = Embedder::load(paths, cores)?;
    let mut order: Vec<usize> = (0..titles.len()).collect();
    order.sort_by_key(|&i| titles[i].len());
    let dim = model.dim;
    let mut out = vec![0f32; titles.len() * dim];
    for batch in order.chunks(32) {
        let texts: Vec<&str> = batch.iter().map(|&i| titles[i].as_str()).collect();
        for (&i, v) in batch.iter().zip(model.embed_batch(&texts)?) {
            out[i * dim..(i + 1) * dim].copy_from_slice(&v);
        }
    }
    Ok(out)
}

/// The mean share of each title's K nearest (exact inner product, itself left out) that the two
/// vector sets agree on.
fn neighbour_overlap(a: &[f32], b: &[f32], dim: usize) -> Result<f64> {
    let n = a.len() / dim;
    let nearest = |v: &[f32]| -> Result<Vec<Vec<usize>>> {
        let found = crate::index::exact_search(v, dim, v, K + 1)?;
        Ok((0..n)
            .map(|q| {
                found
                    .row(q)
                    .map(|(l, _)| l)
                    .filter(|&l| l != q)
                    .take(K)
                    .collect()
            })
            .collect())
    };
    let (na, nb) = (nearest(a)?, nearest(b)?);
    let shared: usize = na
        .iter()
        .zip(&nb)
        .map(|(x, y)| x.iter().filter(|l| y.contains(l)).count())
        .sum();
    Ok(shared as f64 / (n * K) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn identical_sets_agree_fully_and_a_shuffled_one_does_not() {
        let dim = 4;
        let pts: Vec<f32> = (0..40)
            .flat_map(|i| {
                unit(&[
                    1.0,
                    (i as f32 * 0.37).sin(),
                    (i as f32 * 0.11).cos(),
                    i as f32 * 0.05,
                ])
            })
            .collect();
        assert_eq!(neighbour_overlap(&pts, &pts, dim).unwrap(), 1.0);
        // The same points under other labels (i -> 17i mod 40): each label's neighbours change.
        let other: Vec<f32> = (0..40)
            .flat_map(|i| pts[(i * 17 % 40) * dim..(i * 17 % 40 + 1) * dim].to_vec())
            .collect();
        assert!(neighbour_overlap(&pts, &other, dim).unwrap() < 0.5);
    }
}
