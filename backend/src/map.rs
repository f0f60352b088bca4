//! The catalog map: the build's title embeddings projected to 2D, made once per build and kept
//! in `catalog_map.json`. PCA (nalgebra's symmetric eigendecomposition of the covariance) takes
//! the vectors to 50 dimensions, then Barnes-Hut t-SNE (`bhtsne`) lays them out; catalogs
//! larger than `max_points` are mapped on an evenly spread sample of rows.

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::manifest::Manifest;
use crate::npy::Matrix;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The version of `catalog_map.json`; a file of another version is rebuilt.
pub const FORMAT_VERSION: u32 = 1;

/// How the map is made.
#[derive(Debug, Clone)]
pub struct MapOptions {
    /// Larger catalogs are mapped on a sample of this many rows.
    pub max_points: usize,
    /// Dimensions PCA keeps before t-SNE.
    pub pca_dims: usize,
    pub perplexity: f32,
    pub epochs: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            max_points: 50_000,
            pca_dims: 50,
            perplexity: 30.0,
            epochs: 1000,
        }
    }
}

/// `catalog_map.json`: row `rows[i]` of the build sits at `(xy[2i], xy[2i+1])`, both in
/// `0..=1000`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapFile {
    pub format: u32,
    /// The build the rows belong to (`IndexInfo::build_id`).
    pub build_id: String,
    pub method: String,
    pub seconds: f64,
    pub rows: Vec<u32>,
    pub xy: Vec<f32>,
}

/// What `build` did.
#[derive(Debug, Clone, Serialize)]
pub struct MapReport {
    pub points: usize,
    pub method: String,
    pub seconds: f64,
}

/// Evenly spread rows: all of them when there are at most `max`, else every (n/max)-th.
fn sample_rows(n: usize, max: usize) -> Vec<u32> {
    if n <= max {
        return (0..n as u32).collect();
    }
    (0..max).map(|i| (i * n / max) as u32).collect()
}

/// The rows' vectors projected on the `dims` principal components of the sample.
fn pca(vectors: &[f32], n: usize, d: usize, dims: usize) -> Vec<f32> {
    let dims = dims.min(d);
    let mut x = nalgebra::DMatrix::<f32>::from_row_slice(n, d, vectors);
    let mean = x.row_mean();
    for mut row in x.row_iter_mut() {
        row -= &mean;
    }
    let cov = (x.transpose() * &x) / (n.max(2) - 1) as f32;
    let eig = nalgebra::SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let basis = nalgebra::DMatrix::from_fn(d, dims, |r, c| eig.eigenvectors[(r, order[c])]);
    let projected = x * basis;
    let mut out = Vec::with_capacity(n * dims);
    for r in 0..n {
        out.extend(projected.row(r).iter());
    }
    out
}

/// Builds the map of the current build and writes `catalog_map.json`.
pub fn build(layout: &Layout, opts: &MapOptions) -> Result<MapReport> {
    let _lock = layout.lock_writer()?;
    let started = Instant::now();
    let manifest = Manifest::load(layout)?.ok_or_else(|| Error::MissingArtifact {
        what: "the manifest",
        path: layout.manifest(),
        fix: layout.fix("build"),
    })?;
    let build_id = manifest
        .index
        .as_ref()
        .map(|i| i.build_id.clone())
        .ok_or_else(|| Error::MissingArtifact {
            what: "the index",
            path: layout.index(),
            fix: layout.fix("index"),
        })?;
    let matrix = Matrix::open(&layout.embeddings())?;
    let (n, d) = (matrix.rows(), matrix.cols());
    let rows = sample_rows(n, opts.max_points);
    let mut vectors = Vec::with_capacity(rows.len() * d);
    for &r in &rows {
        matrix.extend_row(r as usize, &mut vectors)?;
    }
    let m = rows.len();
    let mut xy = vec![0f32; 2 * m];
    let method = if m >= 4 {
        let reduced = pca(&vectors, m, d, opts.pca_dims);
        let k = reduced.len() / m;
        let points: Vec<&[f32]> = reduced.chunks_exact(k).collect();
        // t-SNE needs about three times the perplexity in neighbours per point.
        let perplexity = opts.perplexity.min(((m - 1) as f32 / 3.0).floor()).max(1.0);
        let embedding = bhtsne::tSNE::new(&points)
            .embedding_dim(2)
            .perplexity(perplexity)
            .epochs(opts.epochs)
            .barnes_hut(0.5, |a, b| {
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f32>()
                    .sqrt()
            })
            .embedding();
        xy.copy_from_slice(&embedding);
        format!("PCA to {k} dimensions, then Barnes-Hut t-SNE (perplexity {perplexity})")
    } else {
        "too few products to lay out".to_owned()
    };
    normalise(&mut xy);
    let seconds = started.elapsed().as_secs_f64();
    let file = MapFile {
        format: FORMAT_VERSION,
        build_id,
        method: method.clone(),
        seconds,
        rows,
        xy,
    };
    crate::layout::write_atomic(&layout.catalog_map(), |w| {
        serde_json::to_writer(w, &file).map_err(std::io::Error::other)
    })?;
    Ok(MapReport {
        points: m,
        method,
        seconds,
    })
}

/// Scales the points into `0..=1000` on both axes, keeping their aspect ratio.
fn normalise(xy: &mut [f32]) {
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in xy.chunks_exact(2) {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(f32::EPSILON);
    for p in xy.chunks_exact_mut(2) {
        for a in 0..2 {
            let centre = (span - (hi[a] - lo[a])) / 2.0;
            p[a] = ((p[a] - lo[a] + centre) / span * 1000.0).clamp(0.0, 1000.0);
        }
    }
}

/// The map of the build `build_id`, or the error that says how to make it.
pub fn load(layout: &Layout, build_id: &str) -> Result<MapFile> {
    let path = layout.catalog_map();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MapNotBuilt {
                why: "it has not been made".into(),
                fix: layout.fix("map"),
            });
        }
        Err(e) => return Err(Error::io(&path)(e)),
    };
    let file: MapFile = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let why = if file.format != FORMAT_VERSION {
        Some(format!(
            "format {} (this version reads {FORMAT_VERSION})",
            file.format
        ))
    } else if file.build_id != build_id {
        Some(format!(
            "made for build {}, serving {build_id}",
            file.build_id
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::MapNotBuilt {
            why: format!("the one there is stale: {why}"),
            fix: layout.fix("map"),
        }),
        None => Ok(file),
    }
}

/// The current build's map with each point's product and category, for the app.
pub fn of_build(layout: &Layout, loaded: &crate::recall::Loaded) -> Result<common::CatalogMap> {
    let file = load(layout, &loaded.info.build_id)?;
    let mut points = Vec::with_capacity(file.rows.len());
    for (&row, p) in file.rows.iter().zip(file.xy.chunks_exact(2)) {
        let row = row as usize;
        if row >= loaded.asins.len() {
            return Err(Error::Format {
                path: layout.catalog_map(),
                message: format!("row {row} is past the build's {} rows", loaded.asins.len()),
            });
        }
        points.push(common::MapPoint {
            asin: loaded.asins.get(row).to_owned(),
            x: p[0],
            y: p[1],
            category_id: loaded.rows.category_id(row)?,
        });
    }
    Ok(common::CatalogMap {
        method: file.method,
        products: loaded.asins.len(),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_catalog() {
        assert_eq!(sample_rows(5, 10), vec![0, 1, 2, 3, 4]);
        let s = sample_rows(1_000_000, 50_000);
        assert_eq!(
            (s.len(), s[0], s[1], *s.last().unwrap()),
            (50_000, 0, 20, 999_980)
        );
    }

    #[test]
    fn pca_keeps_the_direction_of_largest_spread() {
        // Points on a line along (1, 1, 0) with small noise on the third axis.
        let mut v = Vec::new();
        for i in 0..50 {
            let t = i as f32 / 10.0;
            v.extend([t, t, if i % 2 == 0 { 0.01 } else { -0.01 }]);
        }
        let p = pca(&v, 50, 3, 1);
        let spread =
            p.iter().cloned().fold(f32::MIN, f32::max) - p.iter().cloned().fold(f32::MAX, f32::min);
        assert!((spread - 4.9 * 2f32.sqrt()).abs() < 1e-3, "{spread}");
    }

    #[test]
    fn normalised_points_fill_the_square() {
        let mut xy = vec![-5.0, 0.0, 5.0, 1.0, 0.0, 2.0];
        normalise(&mut xy);
        assert_eq!(xy[0], 0.0);
        assert_eq!(xy[2], 1000.0);
        assert!(xy.iter().all(|v| (0.0..=1000.0).contains(v)));
    }
}
