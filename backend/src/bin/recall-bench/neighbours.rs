//! `recall-bench neighbours`: a catalog's neighbourhood statistics, which tell a realistic
//! catalog from a degenerate one (and check `recall-bench data`'s fit).

use anyhow::Result;
use recall_lab::layout::Layout;

/// Sorted cosines of sampled items' nearest and 10th-nearest other item.
pub struct Cosines {
    pub top1: Vec<f64>,
    pub top10: Vec<f64>,
}

impl Cosines {
    pub fn top1_p(&self, p: f64) -> f64 {
        crate::percentile(&self.top1, p)
    }
    pub fn top10_p(&self, p: f64) -> f64 {
        crate::percentile(&self.top10, p)
    }
}

/// Exact search for `samples` items evenly spaced over `vectors`' rows.
pub fn neighbour_cosines(vectors: &[f32], dim: usize, samples: usize) -> Result<Cosines> {
    let n = vectors.len() / dim;
    let samples = samples.clamp(1, n);
    let picks: Vec<usize> = (0..samples).map(|i| i * n / samples).collect();
    let queries: Vec<f32> = picks
        .iter()
        .flat_map(|&p| vectors[p * dim..(p + 1) * dim].iter().copied())
        .collect();
    let exact = recall_lab::index::exact_search(vectors, dim, &queries, 11)?;
    let (mut top1, mut top10) = (Vec::new(), Vec::new());
    for (q, &p) in picks.iter().enumerate() {
        let others: Vec<f32> = exact
            .row(q)
            .filter(|(l, _)| *l != p)
            .map(|(_, s)| s)
            .collect();
        if let (Some(&a), Some(&b)) = (others.first(), others.get(9)) {
            top1.push(f64::from(a));
            top10.push(f64::from(b));
        }
    }
    top1.sort_by(f64::total_cmp);
    top10.sort_by(f64::total_cmp);
    anyhow::ensure!(!top1.is_empty(), "too few items for neighbour statistics");
    Ok(Cosines { top1, top10 })
}

/// Prints `nbr.*` figures (see `Command::Neighbours`).
pub fn neighbours(data_dir: &std::path::Path, samples: usize) -> Result<()> {
    let engine = recall_lab::recall::Engine::open(
        Layout::new(data_dir),
        &recall_lab::recall::EngineOptions::default(),
    )?;
    let loaded = engine.current();
    let n = loaded.asins.len();
    let vectors = loaded.vectors.to_vec()?;
    let cos = neighbour_cosines(&vectors, loaded.vectors.cols(), samples)?;
    println!("nbr.items: {n}");
    println!("nbr.samples: {}", cos.top1.len());
    for p in [10, 50, 90] {
        println!("nbr.top1_cos_p{p}: {:.4}", cos.top1_p(f64::from(p) / 100.0));
    }
    for p in [10, 50, 90] {
        println!(
            "nbr.top10_cos_p{p}: {:.4}",
            cos.top10_p(f64::from(p) / 100.0)
        );
    }
    println!(
        "nbr.nlist: {}",
        loaded
            .index
            .nlist()
            .map_or("none".into(), |v| v.to_string())
    );
    println!(
        "nbr.default_nprobe: {}",
        loaded
            .index
            .default_nprobe()
            .map_or("none".into(), |v| v.to_string())
    );
    let sweep = engine.default_sweep();
    let eval = engine.ann_eval(10, &sweep, samples.clamp(1, n).min(2_000))?;
    for point in &eval.points {
        let np = point.nprobe.map_or("all".into(), |v| v.to_string());
        println!("nbr.recall10_nprobe_{np}: {:.3}", point.recall);
    }
    Ok(())
}
