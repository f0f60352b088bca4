//! `recall-bench`: benchmark helpers that are not part of the product CLI: synthetic catalogs at
//! larger sizes made from the real sample, bare in-process FAISS search timings to compare the
//! HTTP figures against, and the neighbourhood statistics that tell a realistic catalog from a
//! degenerate one.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rand::{Rng, SeedableRng};
use recall_lab::layout::Layout;
use recall_lab::manifest::{EmbeddingsInfo, Manifest};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "recall-bench", about = "Benchmark helpers for Recall Lab")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a catalog of `size` items from a built one: rows copied from the real rows (new
    /// asins, numbered titles), vectors made by perturbing the real vectors and renormalising.
    Data {
        /// A built data dir (the real sample).
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        size: usize,
        #[arg(long)]
        out: PathBuf,
        /// Standard deviation of the per-dimension noise.
        #[arg(long, default_value_t = 0.01)]
        sigma: f32,
    },
    /// Bare FAISS: search the vectors of `clicks` catalog items with k neighbours each, as one
    /// batch, like a recall does; p50/p99 at concurrency 1 and throughput at `concurrency`.
    /// Every search draws its own clicks at random, as the HTTP load's requests do.
    Search {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 10)]
        clicks: usize,
        /// Draw the clicks from these asins (one per line; the HTTP load's list) instead of
        /// the whole catalog.
        #[arg(long)]
        clicks_from: Option<PathBuf>,
        #[arg(long, default_value_t = 510)]
        k: usize,
        #[arg(long)]
        nprobe: Option<usize>,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Idle this many microseconds between the concurrency-1 searches, as a server at
        /// concurrency 1 idles between its searches (the answer's writing, the HTTP round
        /// trip): shows what a search pays for starting on idle cores.
        #[arg(long, default_value_t = 0)]
        pause_us: u64,
        /// Search as the engine's content channel does: its coarse step and list scan in
        /// `faiss_ivf.cpp` (FAISS's results, bit for bit) into its own result heaps, left
        /// unsorted (`SearchIndex::search_any_order`). By default the plain FAISS search:
        /// FAISS's quantizer, list scan and heaps, sorted best first.
        #[arg(long)]
        unordered: bool,
        /// Whose code runs the coarse step and the list scan (`SearchKernels`): `faiss` (its
        /// quantizer and IVFFlat scanner) or `engine` (`faiss_ivf.cpp`'s kernels). By default
        /// FAISS's for the plain search and the engine's default for `--unordered`.
        #[arg(long, value_enum)]
        kernels: Option<Kernels>,
    },
    /// A build's neighbourhood structure, to compare a synthetic catalog with the real sample:
    /// the cosine of each sampled item's nearest and 10th-nearest other item (exact search),
    /// as percentiles, and recall@10 against exact search at each nprobe of the default sweep.
    Neighbours(NeighbourArgs),
}

/// `recall-bench neighbours`'s options.
#[derive(clap::Args)]
struct NeighbourArgs {
    #[arg(long)]
    data_dir: PathBuf,
    /// Items sampled (evenly spaced over the build's rows).
    #[arg(long, default_value_t = 500)]
    samples: usize,
}

/// `--kernels`: [`recall_lab::index::SearchKernels`] on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Kernels {
    Faiss,
    Engine,
}

fn main() -> Result<()> {
    // As the server does, so the bare figures are not slowed by page faults the server avoids.
    recall_lab::util::keep_freed_memory();
    match Cli::parse().command {
        Command::Data {
            from,
            size,
            out,
            sigma,
        } => data(&Layout::new(from), size, &Layout::new(out), sigma),
        Command::Neighbours(a) => neighbours(&a),
        Command::Search {
            data_dir,
            clicks,
            clicks_from,
            k,
            nprobe,
            concurrency,
            seconds,
            pause_us,
            unordered,
            kernels,
        } => search(
            &Layout::new(data_dir),
            &SearchLoad {
                clicks,
                clicks_from,
                k,
                nprobe,
                concurrency,
                seconds,
                pause: std::time::Duration::from_micros(pause_us),
                unordered,
                kernels,
            },
        ),
    }
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

fn data(from: &Layout, size: usize, out: &Layout, sigma: f32) -> Result<()> {
    let t = Instant::now();
    let m = Manifest::load(from)?.context("source has no manifest")?;
    let emb = m.embeddings.context("source has no embeddings")?;
    let src = recall_lab::npy::Matrix::open(&from.embeddings())?;
    let dim = src.cols();
    let asins: Vec<String> = std::fs::read_to_string(from.asin_list())?
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::create_dir_all(&out.dir)?;
    if out.db().exists() {
        bail!("{} exists; use a fresh folder", out.db().display());
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
    anyhow::ensure!(rows.len() == asins.len(), "source rows and vectors differ");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut vectors = Vec::with_capacity(size * dim);
    let mut out_asins = Vec::with_capacity(size);
    conn.execute_batch("BEGIN")?;
    {
        let mut ins = conn.prepare(
            "INSERT INTO amazon_products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for i in 0..size {
            let j = i % rows.len();
            let r = &rows[j];
            let asin = if i < rows.len() {
                r.0.clone()
            } else {
                format!("Z{:09}", i)
            };
            let title = if i < rows.len() {
                r.1.clone()
            } else {
                format!("{} (variant {})", r.1, i / rows.len())
            };
            ins.execute(rusqlite::params![
                asin, title, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10
            ])?;
            let mut v = src.row(j)?;
            if i >= rows.len() {
                for x in &mut v {
                    // Box-Muller for a Gaussian.
                    let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
                    *x += sigma * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                }
                recall_lab::embed::normalize(&mut v);
            }
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
    println!(
        "bench.data_rows: {size}\nbench.data_seconds: {:.1}",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What `recall-bench search` runs: the shape of each batch and the load.
struct SearchLoad {
    clicks: usize,
    clicks_from: Option<PathBuf>,
    k: usize,
    nprobe: Option<usize>,
    concurrency: usize,
    seconds: f64,
    pause: std::time::Duration,
    unordered: bool,
    kernels: Option<Kernels>,
}

fn search(layout: &Layout, load: &SearchLoad) -> Result<()> {
    let m = Manifest::load(layout)?
        .context("no manifest")?
        .index
        .context("no index")?;
    use recall_lab::index::{Heaps, SearchIndex, SearchKernels};
    let heaps = if load.unordered {
        Heaps::Caller
    } else {
        Heaps::Faiss
    };
    let index = match load.kernels {
        None => SearchIndex::load_with(&layout.index(), m.default_nprobe, heaps)?,
        Some(k) => {
            let kernels = match k {
                Kernels::Faiss => SearchKernels::Faiss,
                Kernels::Engine => SearchKernels::Engine,
            };
            SearchIndex::load_with_kernels(&layout.index(), m.default_nprobe, heaps, kernels)?
        }
    };
    // Every page of the lists mapped in first, as the server does after its start: the timed
    // searches must not pay this process's first-touch page faults.
    if let Some(prefault) = index.prefault_in_background(&layout.index()) {
        let _ = prefault.join();
    }
    let vectors = recall_lab::npy::Matrix::open(&layout.embeddings())?;
    let (k, seconds) = (load.k, load.seconds);
    let nprobe = match load.nprobe {
        Some(n) => Some(n),
        None => index.nprobe_for_k(k),
    };
    let search = |q: &[f32]| {
        if load.unordered {
            index.search_any_order(q, k, nprobe)
        } else {
            index.search(q, k, nprobe)
        }
    };
    // The rows clicks are drawn from: the HTTP load's asins, or the whole catalog.
    let pool: Option<Vec<usize>> = match &load.clicks_from {
        Some(path) => {
            let asins = recall_lab::asin_table::AsinTable::from_lines(
                std::fs::read_to_string(layout.asin_list()).context("reading the asin list")?,
            );
            let wanted = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let rows = wanted
                .lines()
                .filter(|a| !a.trim().is_empty())
                .map(|a| {
                    asins
                        .position(a.trim())
                        .map(|p| p as usize)
                        .with_context(|| format!("{a} is not in the catalog's build"))
                })
                .collect::<Result<Vec<_>>>()?;
            if rows.is_empty() {
                bail!("{} lists no asins", path.display());
            }
            Some(rows)
        }
        None => None,
    };
    // One batch as a recall makes it: `clicks` rows drawn at random with replacement (as the
    // HTTP load draws its clicks), a repeated row dropped (as the engine drops a repeated click).
    let batch = |rng: &mut rand_chacha::ChaCha8Rng, q: &mut Vec<f32>| -> Result<()> {
        let mut rows: Vec<usize> = Vec::with_capacity(load.clicks);
        for _ in 0..load.clicks {
            let row = match &pool {
                Some(p) => p[rng.random_range(0..p.len())],
                None => rng.random_range(0..vectors.rows()),
            };
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
        q.clear();
        for row in rows {
            vectors.extend_row(row, q)?;
        }
        Ok(())
    };
    recall_lab::index::set_search_threads(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut q = Vec::new();
    // A few untimed searches first (caches, the helper threads' start).
    for _ in 0..16 {
        batch(&mut rng, &mut q)?;
        search(&q)?;
    }
    let mut lat = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < seconds / 2.0 {
        batch(&mut rng, &mut q)?;
        // Only the search is timed here; under concurrency (below) the batch's making (a
        // vector copy per click) is counted too, as the server counts it.
        let t = Instant::now();
        search(&q)?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        if !load.pause.is_zero() {
            std::thread::sleep(load.pause);
        }
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "faiss.nprobe: {}",
        nprobe.map_or("-".into(), |n| n.to_string())
    );
    println!(
        "faiss.c1_p50_ms: {:.3}\nfaiss.c1_p99_ms: {:.3}\nfaiss.c1_qps: {:.1}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len() as f64 / lat.iter().sum::<f64>() * 1e3
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..load.concurrency)
            .map(|w| {
                let (search, batch, done) = (&search, &batch, &done);
                s.spawn(move || -> Result<()> {
                    recall_lab::index::set_search_threads(1);
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(100 + w as u64);
                    let mut q = Vec::new();
                    while t0.elapsed().as_secs_f64() < seconds / 2.0 {
                        batch(&mut rng, &mut q)?;
                        search(&q)?;
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a search thread panicked")?;
        }
        Ok(())
    })?;
    let n = done.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "faiss.c{}_qps: {:.1}",
        load.concurrency,
        n as f64 / t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints `nbr.*` figures (see [`Command::Neighbours`]).
fn neighbours(a: &NeighbourArgs) -> Result<()> {
    let engine = recall_lab::recall::Engine::open(
        Layout::new(&a.data_dir),
        &recall_lab::recall::EngineOptions::default(),
    )?;
    let loaded = engine.current();
    let n = loaded.asins.len();
    let dim = loaded.vectors.cols();
    let samples = a.samples.clamp(1, n);
    let vectors = loaded.vectors.to_vec()?;
    let picks: Vec<usize> = (0..samples).map(|i| i * n / samples).collect();
    let queries: Vec<f32> = picks
        .iter()
        .flat_map(|&p| vectors[p * dim..(p + 1) * dim].iter().copied())
        .collect();
    let exact = recall_lab::index::exact_search(&vectors, dim, &queries, 11)?;
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
    println!("nbr.items: {n}");
    println!("nbr.samples: {}", top1.len());
    for (name, v) in [("top1", &top1), ("top10", &top10)] {
        for p in [10, 50, 90] {
            println!(
                "nbr.{name}_cos_p{p}: {:.4}",
                percentile(v, f64::from(p) / 100.0)
            );
        }
    }
    println!(
        "nbr.nlist: {}",
        loaded.index.nlist.map_or("none".into(), |v| v.to_string())
    );
    println!(
        "nbr.default_nprobe: {}",
        loaded
            .index
            .default_nprobe
            .map_or("none".into(), |v| v.to_string())
    );
    let sweep = engine.default_sweep();
    let eval = engine.ann_eval(10, &sweep, samples.min(2_000))?;
    for point in &eval.points {
        let np = point.nprobe.map_or("all".into(), |v| v.to_string());
        println!("nbr.recall10_nprobe_{np}: {:.3}", point.recall);
    }
    Ok(())
}
