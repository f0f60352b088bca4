//! `recall-bench data`: a larger catalog whose neighbourhood structure is fitted to a real one.
//!
//! Each synthetic vector lies between a real item and one of its ten nearest real neighbours,
//! plus Gaussian noise with the real vectors' own covariance, renormalised. One number, the
//! noise's scale, is fitted at the catalog's size: the catalog made must have the real set's
//! median nearest-neighbour cosine. The other statistics (the spread of the nearest and the
//! 10th-nearest cosine, recall@10 against nprobe) are left free, so they check the fit.
//! Copying real vectors with small noise (what this replaced) gave every item ~N/4,960
//! near-duplicates and made every large-N search an easy one.

use crate::neighbours::{Cosines, neighbour_cosines};
use anyhow::{Context, Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recall_lab::layout::Layout;
use recall_lab::manifest::{EmbeddingsInfo, Manifest};
use std::time::Instant;

/// The generator's name, recorded in the data dir so a benchmark's cache of an older
/// generator's catalog is not reused.
pub const GENERATOR: &str = "fitted-v1";

/// Real neighbours a synthetic vector may lie towards.
const PAIR_NEIGHBOURS: usize = 10;
/// Centred real vectors summed per noise draw: their Gaussian-weighted sum has the real
/// vectors' covariance (exactly in expectation, near-Gaussian in shape) without an
/// eigendecomposition of it.
const NOISE_TERMS: usize = 8;
/// Items whose neighbours the fit compares (evenly spaced), as `recall-bench neighbours` does.
const FIT_SAMPLES: usize = 500;

/// The generator's state, fitted to one real catalog.
pub struct Fitted {
    real: Vec<f32>,
    dim: usize,
    /// Each real row's `PAIR_NEIGHBOURS` nearest other rows.
    pairs: Vec<u32>,
    /// Real rows minus their mean.
    centred: Vec<f32>,
    /// The noise's scale.
    pub scale: f32,
}

impl Fitted {
    fn rows(&self) -> usize {
        self.real.len() / self.dim
    }

    /// A synthetic vector into `out` (cleared first); returns the real row it was drawn near,
    /// whose product fields the synthetic product copies.
    pub fn draw(&self, rng: &mut ChaCha8Rng, out: &mut Vec<f32>) -> usize {
        let (n, dim) = (self.rows(), self.dim);
        let i = rng.random_range(0..n);
        let j = self.pairs[i * PAIR_NEIGHBOURS + rng.random_range(0..PAIR_NEIGHBOURS)] as usize;
        // At most halfway to the neighbour, so the copied fields (category, price) stay the
        // nearer real item's.
        let t: f32 = rng.random::<f32>() * 0.5;
        out.clear();
        out.extend(
            self.real[i * dim..(i + 1) * dim]
                .iter()
                .zip(&self.real[j * dim..(j + 1) * dim])
                .map(|(a, b)| (1.0 - t) * a + t * b),
        );
        let w = self.scale / (NOISE_TERMS as f32).sqrt();
        for _ in 0..NOISE_TERMS {
            let r = rng.random_range(0..n);
            let g = w * gaussian(rng);
            for (x, c) in out.iter_mut().zip(&self.centred[r * dim..(r + 1) * dim]) {
                *x += g * c;
            }
        }
        recall_lab::embed::normalize(out);
        i
    }

    /// A catalog of `size` vectors as `data` makes it (the real rows first), from a fixed
    /// seed: the fit's trial sets.
    fn trial(&self, size: usize) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let real = self.rows().min(size);
        let (mut all, mut v) = (Vec::with_capacity(size * self.dim), Vec::new());
        all.extend_from_slice(&self.real[..real * self.dim]);
        for _ in real..size {
            self.draw(&mut rng, &mut v);
            all.extend_from_slice(&v);
        }
        all
    }

    /// Fits the noise scale to `real` (row-major, `dim` columns, unit rows) by bisection, so
    /// that a catalog of `size` (the real rows and synthetic ones) has the real rows' median
    /// nearest-neighbour cosine; returns the generator and the real and fitted statistics.
    pub fn fit(real: Vec<f32>, dim: usize, size: usize) -> Result<(Fitted, Cosines, Cosines)> {
        let n = real.len() / dim;
        if n <= PAIR_NEIGHBOURS {
            bail!("the source catalog needs more than {PAIR_NEIGHBOURS} items");
        }
        let exact = recall_lab::index::exact_search(&real, dim, &real, PAIR_NEIGHBOURS + 1)?;
        let mut pairs = Vec::with_capacity(n * PAIR_NEIGHBOURS);
        for q in 0..n {
            let before = pairs.len();
            pairs.extend(
                exact
                    .row(q)
                    .filter(|&(l, _)| l != q)
                    .take(PAIR_NEIGHBOURS)
                    .map(|(l, _)| l as u32),
            );
            // A row with exact duplicates may not list itself; never more than its share.
            pairs.truncate(before + PAIR_NEIGHBOURS);
            while pairs.len() < before + PAIR_NEIGHBOURS {
                pairs.push(pairs[before]);
            }
        }
        let mut mean = vec![0f32; dim];
        for row in real.chunks_exact(dim) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x / n as f32;
            }
        }
        let centred = real
            .chunks_exact(dim)
            .flat_map(|row| row.iter().zip(&mean).map(|(x, m)| x - m))
            .collect();
        let target = neighbour_cosines(&real, dim, FIT_SAMPLES)?;
        let mut g = Fitted {
            real,
            dim,
            pairs,
            centred,
            scale: 0.0,
        };
        // The median nearest cosine falls as the scale grows; 14 halvings of [0, 2] fix the
        // scale to ~1e-4.
        let (mut lo, mut hi) = (0.0f32, 2.0f32);
        for _ in 0..14 {
            g.scale = (lo + hi) / 2.0;
            let got = neighbour_cosines(&g.trial(size), dim, FIT_SAMPLES)?;
            if got.top1_p(0.5) > target.top1_p(0.5) {
                lo = g.scale;
            } else {
                hi = g.scale;
            }
        }
        g.scale = (lo + hi) / 2.0;
        let fitted = neighbour_cosines(&g.trial(size), dim, FIT_SAMPLES)?;
        Ok((g, target, fitted))
    }
}

/// A standard Gaussian (Box–Muller).
fn gaussian(rng: &mut impl Rng) -> f32 {
    let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// A product row of the seed's table, in its column order.
type Row = (
    String,
    String,
    String,
    String,
    f64,
    i64,
    f64,
    f64,
    i64,
    i64,
    i64,
);

/// What `recall-bench data` makes.
pub struct DataArgs<'a> {
    pub from: &'a Layout,
    pub size: usize,
    pub out: &'a Layout,
}

pub fn data(a: &DataArgs) -> Result<()> {
    let (from, size, out) = (a.from, a.size, a.out);
    let t = Instant::now();
    let m = Manifest::load(from)?.context("source has no manifest")?;
    let emb = m.embeddings.context("source has no embeddings")?;
    let src = recall_lab::npy::Matrix::open(&from.embeddings())?;
    let dim = src.cols();
    std::fs::create_dir_all(&out.dir)?;
    if out.db().exists() {
        bail!("{} exists; use a fresh folder", out.db().display());
    }
    let (gen_, real_cos, fit_cos) = Fitted::fit(src.to_vec()?, dim, size)?;
    println!("bench.data_generator: {GENERATOR}");
    println!("bench.data_noise_scale: {:.4}", gen_.scale);
    for (name, c) in [("real", &real_cos), ("fitted", &fit_cos)] {
        println!(
            "bench.data_fit_{name}_top1_cos_p10_p50_p90: {:.3} {:.3} {:.3}",
            c.top1_p(0.1),
            c.top1_p(0.5),
            c.top1_p(0.9)
        );
    }
    let conn = recall_lab::catalog::open(&out.db())?;
    conn.execute_batch("PRAGMA synchronous = OFF;")?;
    conn.execute("ATTACH DATABASE ?1 AS src", [from.db().to_string_lossy()])?;
    conn.execute_batch("INSERT INTO amazon_categories SELECT * FROM src.amazon_categories;")?;
    let rows: Vec<Row> = {
        let mut st = conn.prepare("SELECT asin, title, imgUrl, productURL, stars, reviews, price, listPrice, category_id, isBestSeller, boughtInLastMonth FROM src.amazon_products ORDER BY rowid")?;
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    anyhow::ensure!(rows.len() == src.rows(), "source rows and vectors differ");
    let real_rows = rows.len().min(size);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut vectors = Vec::with_capacity(size * dim);
    let mut out_asins = Vec::with_capacity(size);
    let mut v = Vec::with_capacity(dim);
    conn.execute_batch("BEGIN")?;
    {
        let mut ins = conn.prepare(
            "INSERT INTO amazon_products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for i in 0..size {
            let (asin, title, j) = if i < real_rows {
                v = src.row(i)?;
                (rows[i].0.clone(), rows[i].1.clone(), i)
            } else {
                let j = gen_.draw(&mut rng, &mut v);
                (
                    format!("Z{i:09}"),
                    format!("{} (variant {i})", rows[j].1),
                    j,
                )
            };
            let r = &rows[j];
            ins.execute(rusqlite::params![
                asin, title, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10
            ])?;
            vectors.extend_from_slice(&v);
            out_asins.push(asin);
        }
    }
    conn.execute_batch("COMMIT")?;
    recall_lab::catalog::compute_popularity(&conn)?;
    let revision = recall_lab::catalog::bump_revision(&conn)?;
    conn.execute_batch("DETACH DATABASE src")?;
    recall_lab::npy::write(&out.embeddings(), &vectors, dim)?;
    recall_lab::layout::write_atomic(&out.asin_list(), |w| {
        for a in &out_asins {
            std::io::Write::write_all(w, a.as_bytes())?;
            std::io::Write::write_all(w, b"\n")?;
        }
        Ok(())
    })?;
    let mut manifest = Manifest {
        embeddings: Some(EmbeddingsInfo {
            model: emb.model,
            dim,
            count: size,
            catalog_revision: revision,
        }),
        ..Default::default()
    };
    manifest.save(out)?;
    std::fs::write(out.dir.join("generator.txt"), format!("{GENERATOR}\n"))?;
    println!(
        "bench.data_rows: {size}\nbench.data_seconds: {:.1}",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
