//! `recall-bench`: benchmark helpers that are not part of the product CLI: synthetic catalogs at
//! larger sizes made from the real sample, bare in-process FAISS search timings to compare the
//! HTTP figures against, and the neighbourhood statistics that tell a realistic catalog from a
//! degenerate one.

mod data;
mod neighbours;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rand::{Rng, SeedableRng};
use recall_lab::layout::Layout;
use recall_lab::manifest::Manifest;
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
    /// Make a catalog of `size` items from a built one: its real rows, then synthetic ones
    /// (new asins, numbered titles, the other fields of the real item drawn near) whose vectors
    /// follow a generator fitted to the real vectors' neighbourhood structure (see `data.rs`).
    Data {
        /// A built data dir (the real sample).
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        size: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Bare index search (FAISS in process, or the build's Milvus collection over gRPC): search
    /// the vectors of `clicks` catalog items with k neighbours each, as one batch, like a
    /// recall does; p50/p99 at concurrency 1 and throughput at `concurrency`, printed under
    /// the engine's name.
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
        Command::Data { from, size, out } => data::data(&data::DataArgs {
            from: &Layout::new(from),
            size,
            out: &Layout::new(out),
        }),
        Command::Neighbours(a) => neighbours::neighbours(&a.data_dir, a.samples),
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
    use recall_lab::index::{
        Heaps, IndexEngine, Order, Query, SearchIndex, SearchKernels, VectorIndex,
    };
    let heaps = if load.unordered {
        Heaps::Caller
    } else {
        Heaps::Faiss
    };
    let index: Box<dyn VectorIndex> = match &m.engine {
        // A Milvus build: the same batches as gRPC searches of its collection (Milvus's own
        // search time, round trip included).
        IndexEngine::Milvus {
            uri, collection, ..
        } => Box::new(recall_lab::index::milvus::MilvusIndex::open(
            uri, collection, &m,
        )?),
        IndexEngine::Faiss => {
            let index = match load.kernels {
                None => SearchIndex::load_with(&layout.index(), m.default_nprobe, heaps)?,
                Some(k) => {
                    let kernels = match k {
                        Kernels::Faiss => SearchKernels::Faiss,
                        Kernels::Engine => SearchKernels::Engine,
                    };
                    SearchIndex::load_with_kernels(
                        &layout.index(),
                        m.default_nprobe,
                        heaps,
                        kernels,
                    )?
                }
            };
            // Every page of the lists mapped in first, as the server does after its start:
            // the timed searches must not pay this process's first-touch page faults.
            if let Some(prefault) = index.prefault_in_background(&layout.index()) {
                let _ = prefault.join();
            }
            Box::new(index)
        }
    };
    let engine = index.engine().name();
    let vectors = recall_lab::npy::Matrix::open(&layout.embeddings())?;
    let (k, seconds) = (load.k, load.seconds);
    let nprobe = match load.nprobe {
        Some(n) => Some(n),
        None => index.nprobe_for_k(k),
    };
    let order = if load.unordered {
        Order::Any
    } else {
        Order::BestFirst
    };
    let search = |q: &[f32]| {
        index.search(&Query {
            order,
            ..Query::new(q, k, nprobe)
        })
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
        "{engine}.nprobe: {}",
        nprobe.map_or("-".into(), |n| n.to_string())
    );
    println!(
        "{engine}.c1_p50_ms: {:.3}\n{engine}.c1_p99_ms: {:.3}\n{engine}.c1_qps: {:.1}",
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
        "{engine}.c{}_qps: {:.1}",
        load.concurrency,
        n as f64 / t0.elapsed().as_secs_f64()
    );
    Ok(())
}
