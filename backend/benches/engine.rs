//! Criterion benchmarks of the in-process parts of a recall (no HTTP): the bare FAISS batch
//! search (plain, and as the engine calls it, unsorted), enrichment of 500 rows from the build's
//! `products.rows` (what a recall reads), and from SQLite through the enrichment reader (default
//! and whole-file memory map) and through an ordinary pooled (pread) connection (what a recall
//! reads after an import, until a reindex), a whole `Engine::recall` (typed, and straight to
//! bincode), and the encoding of a typed answer (JSON and the app's bincode), for each built data
//! dir in `RECALL_LAB_BENCH_DIRS` (colon-separated; `scripts/bench.sh` makes and passes them).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use recall_lab::catalog;
use recall_lab::index::{Order, Query};
use recall_lab::layout::Layout;
use recall_lab::recall::{Encoding, Engine, EngineOptions, encode_answer};
use std::path::PathBuf;

/// Clicks per recall and items per answer, as in the HTTP benchmark.
const CLICKS: usize = 10;
const TOPN: usize = 500;
/// Distinct inputs cycled through, so one cached answer cannot stand for all.
const INPUTS: usize = 64;

fn dirs() -> Vec<PathBuf> {
    std::env::var("RECALL_LAB_BENCH_DIRS")
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    // The server's malloc settings, so these figures match what it runs.
    recall_lab::util::keep_freed_memory();
    let dirs = dirs();
    if dirs.is_empty() {
        eprintln!(
            "RECALL_LAB_BENCH_DIRS names no built data dir; `bash scripts/bench.sh` makes them \
             (or set it to dirs made by `recall-lab build`)"
        );
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for dir in dirs {
        let layout = Layout::new(&dir);
        let engine =
            Engine::open(layout.clone(), &EngineOptions::default()).expect("open the data dir");
        let loaded = engine.current();
        let n = loaded.asins.len();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let clicks: Vec<Vec<String>> = (0..INPUTS)
            .map(|_| {
                (0..CLICKS)
                    .map(|_| loaded.asins.get(rng.random_range(0..n)).to_string())
                    .collect()
            })
            .collect();
        let batches: Vec<Vec<f32>> = clicks
            .iter()
            .map(|cs| {
                let mut q = Vec::new();
                for a in cs {
                    let p = loaded.asins.position(a).expect("a built asin") as usize;
                    loaded.vectors.extend_row(p, &mut q).unwrap();
                }
                q
            })
            .collect();
        let positions: Vec<Vec<u32>> = (0..INPUTS)
            .map(|_| {
                (0..TOPN.min(n))
                    .map(|_| rng.random_range(0..n) as u32)
                    .collect()
            })
            .collect();
        let rowids: Vec<Vec<i64>> = positions
            .iter()
            .map(|ps| {
                ps.iter()
                    .map(|&p| loaded.rows.rowid(p as usize).unwrap())
                    .collect()
            })
            .collect();
        let k = (TOPN + CLICKS).min(n);
        let nprobe = loaded.index.nprobe_for_k(k);

        let mut g = c.benchmark_group(format!("n{n}"));
        g.sample_size(50);
        let mut i = 0;
        // The plain FAISS search (FAISS's own result heaps, sorted), and the engine's call (its
        // own heaps, left unsorted: the content channel regroups the hits).
        let plain = recall_lab::index::SearchIndex::load_with(
            &layout.index(),
            loaded.index.default_nprobe(),
            recall_lab::index::Heaps::Faiss,
        )
        .expect("load the index");
        g.bench_function(BenchmarkId::new("faiss_search_10x510", "bare"), |b| {
            recall_lab::index::set_search_threads(cores);
            b.iter(|| {
                i += 1;
                plain.search(&batches[i % INPUTS], k, nprobe).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("faiss_search_10x510", "any_order"), |b| {
            recall_lab::index::set_search_threads(cores);
            b.iter(|| {
                i += 1;
                loaded
                    .index
                    .search(&Query {
                        order: Order::Any,
                        ..Query::new(&batches[i % INPUTS], k, nprobe)
                    })
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("enrich_500", "rows_file"), |b| {
            b.iter(|| {
                i += 1;
                loaded.rows.products(&positions[i % INPUTS]).unwrap()
            })
        });
        for (name, map_bytes) in [
            ("reader_default_map", catalog::DEFAULT_READER_MAP_BYTES),
            ("reader_whole_file_mapped", u64::MAX),
        ] {
            let reader = catalog::reader(&layout.db(), map_bytes).unwrap();
            g.bench_function(BenchmarkId::new("enrich_500", name), |b| {
                b.iter(|| {
                    i += 1;
                    catalog::products_by_rowid(&reader, &rowids[i % INPUTS]).unwrap()
                })
            });
        }
        let pooled = catalog::open(&layout.db()).unwrap();
        g.bench_function(BenchmarkId::new("enrich_500", "pread_connection"), |b| {
            b.iter(|| {
                i += 1;
                catalog::products_by_rowid(&pooled, &rowids[i % INPUTS]).unwrap()
            })
        });
        let params = common::RecallParams::default();
        g.bench_function(BenchmarkId::new("recall_10_clicks_top500", "engine"), |b| {
            b.iter(|| {
                i += 1;
                engine.recall(&clicks[i % INPUTS], None, &params).unwrap()
            })
        });
        // The whole answer straight from the engine in each encoding (products written from
        // their records), as the server runs it.
        for (name, encoding) in [
            ("engine_bincode", Encoding::Bincode),
            ("engine_json", Encoding::Json),
        ] {
            g.bench_function(BenchmarkId::new("recall_10_clicks_top500", name), |b| {
                b.iter(|| {
                    i += 1;
                    let mut out = Vec::with_capacity(320 * 1024);
                    engine
                        .recall_into(&clicks[i % INPUTS], None, &params, encoding, &mut out)
                        .unwrap();
                    out
                })
            });
        }
        // A typed answer encoded as the server encodes it, in each format.
        let answers: Vec<_> = clicks
            .iter()
            .map(|c| engine.recall(c, None, &params).unwrap())
            .collect();
        for (name, format) in [("json", Encoding::Json), ("bincode", Encoding::Bincode)] {
            g.bench_function(BenchmarkId::new("encode_answer_500", name), |b| {
                b.iter(|| {
                    i += 1;
                    let answer = &answers[i % INPUTS];
                    let mut out = Vec::with_capacity(1024 + 640 * answer.items.len());
                    encode_answer(answer, format, &mut out).unwrap();
                    out
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
