//! The resumable, incremental `embed` step.
//!
//! Parallelism: `workers` sessions of the model (default one per core, single-threaded each)
//! take the next batch as they get free; parts are still written in the sorted order, because
//! on small batches one session's intra-op threads synchronise inside every operator.
//!
//! Resumability: the titles still to embed are sorted by (token count, asin) and cut into fixed
//! batches; finished batches go to bincode checkpoint parts, written atomically. A rerun after a
//! kill sees exactly the unfinished suffix of the same sorted order, so it forms the same batches
//! and yields bit-identical vectors (a batch's padded shape changes the kernels' summation order,
//! so batch composition matters at the last bit). Checkpoint entries carry a hash of their
//! title, so after a re-import only new or changed titles are embedded.

use super::*;

/// Tuning of an embedding run.
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    pub model: ModelChoice,
    /// Titles per ONNX run (the default is the embed sweep's best, `scripts/embed_sweep.sh`).
    pub batch_size: usize,
    /// Model sessions embedding batches side by side (0: one per core).
    pub workers: usize,
    /// ONNX Runtime intra-op threads of each session (0: the cores divided by the workers).
    pub threads: usize,
    /// Titles per checkpoint part.
    pub checkpoint_every: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            model: ModelChoice::default(),
            batch_size: 8,
            workers: 0,
            threads: 0,
            checkpoint_every: 2048,
        }
    }
}

/// One checkpoint file: a run of finished batches.
#[derive(Debug, Serialize, Deserialize)]
struct Part {
    version: u32,
    model_sha256: String,
    dim: u32,
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    asin: String,
    title_hash: u64,
    vector: Vec<f32>,
}

/// Embeddings already computed, by asin.
struct Checkpoint {
    dir: PathBuf,
    known: HashMap<String, (u64, Vec<f32>)>,
    next_part: u32,
}

const BASE: &str = "base.bin";

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
}

impl Checkpoint {
    /// Loads every readable part made with `model`; parts of another model or format are dropped.
    fn load(dir: &Path, model: &ModelId, dim: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(Error::io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        // base.bin first, then parts in the order they were written.
        files.sort_by_key(|p| (p.file_name().is_none_or(|n| n != BASE), p.clone()));
        let mut known = HashMap::new();
        let mut next_part = 0;
        for f in files {
            let bytes = std::fs::read(&f).map_err(Error::io(&f))?;
            let part: Option<Part> = bincode::serde::decode_from_slice(&bytes, bincode_config())
                .ok()
                .map(|(p, _)| p);
            match part {
                Some(p)
                    if p.version == CHECKPOINT_VERSION
                        && p.model_sha256 == model.sha256
                        && p.dim as usize == dim =>
                {
                    for e in p.entries {
                        known.insert(e.asin, (e.title_hash, e.vector));
                    }
                }
                _ => {
                    tracing::info!(file = %f.display(), "dropping checkpoint part from another model or format")
                }
            }
            if let Some(n) = f
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.strip_prefix("part-"))
                .and_then(|s| s.parse::<u32>().ok())
            {
                next_part = next_part.max(n + 1);
            }
        }
        Ok(Checkpoint {
            dir: dir.to_owned(),
            known,
            next_part,
        })
    }

    fn write_part(
        &mut self,
        name: &str,
        model: &ModelId,
        dim: usize,
        entries: Vec<Entry>,
    ) -> Result<()> {
        let part = Part {
            version: CHECKPOINT_VERSION,
            model_sha256: model.sha256.clone(),
            dim: dim as u32,
            entries,
        };
        let bytes = bincode::serde::encode_to_vec(&part, bincode_config())
            .map_err(|e| Error::Model(e.to_string()))?;
        write_atomic(&self.dir.join(name), |w| {
            std::io::Write::write_all(w, &bytes)
        })?;
        for e in part.entries {
            self.known.insert(e.asin, (e.title_hash, e.vector));
        }
        Ok(())
    }

    fn append(&mut self, model: &ModelId, dim: usize, entries: Vec<Entry>) -> Result<()> {
        let name = format!("part-{:06}.bin", self.next_part);
        self.next_part += 1;
        self.write_part(&name, model, dim, entries)
    }

    /// Rewrites the checkpoint as one base file holding exactly `rows`, then removes the parts.
    fn compact(&mut self, model: &ModelId, dim: usize, rows: &[(String, String)]) -> Result<()> {
        let entries = rows
            .iter()
            .filter_map(|(asin, _)| {
                self.known.get(asin).map(|(h, v)| Entry {
                    asin: asin.clone(),
                    title_hash: *h,
                    vector: v.clone(),
                })
            })
            .collect();
        self.known.clear();
        self.write_part(BASE, model, dim, entries)?;
        for e in std::fs::read_dir(&self.dir)
            .map_err(Error::io(&self.dir))?
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with("part-") {
                std::fs::remove_file(e.path()).map_err(Error::io(e.path()))?;
            }
        }
        self.next_part = 0;
        Ok(())
    }
}

/// What an embedding run did.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedReport {
    pub model: ModelId,
    pub dim: usize,
    pub rows: usize,
    /// Titles embedded in this run.
    pub embedded: usize,
    /// Titles whose vector came from the checkpoint.
    pub reused: usize,
    pub seconds: f64,
    /// Embedding throughput of this run (titles/s): titles over the wall time from the first
    /// batch to the last checkpoint part (model loading and the final artifacts excluded).
    pub titles_per_second: f64,
    pub catalog_revision: u64,
}

/// Loads `workers` sessions of the model side by side.
fn load_sessions(paths: &ModelPaths, workers: usize, threads: usize) -> Result<Vec<Embedder>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| s.spawn(|| Embedder::load(paths, threads)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Model("model loading panicked".into())))
            })
            .collect()
    })
}

/// Embeds `todo` in batches of `batch`, each session taking the next batch as it gets free, and
/// hands the vectors to `sink` in order, `per_part` titles at a time (the last part may be
/// shorter). A batch's vectors depend only on its titles, not on which session ran it.
fn embed_batches<'a, T: Sync>(
    embedders: Vec<Embedder>,
    todo: &'a [(&'a str, &'a str, T)],
    batch: usize,
    per_part: usize,
    progress: &indicatif::ProgressBar,
    mut sink: impl FnMut(&'a [(&'a str, &'a str, T)], Vec<Vec<f32>>) -> Result<()>,
) -> Result<()> {
    let batches: Vec<&[(&str, &str, T)]> = todo.chunks(batch).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Vec<Vec<f32>>>)>();
    std::thread::scope(|s| {
        for mut embedder in embedders {
            let (tx, next, stop, batches) = (tx.clone(), &next, &stop, &batches);
            s.spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                while !stop.load(Relaxed) {
                    let i = next.fetch_add(1, Relaxed);
                    let Some(b) = batches.get(i) else { break };
                    let titles: Vec<&str> = b.iter().map(|x| x.1).collect();
                    if tx.send((i, embedder.embed_batch(&titles))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let result = (|| {
            let per_part_batches = (per_part / batch).max(1);
            let mut done: HashMap<usize, Vec<Vec<f32>>> = HashMap::new();
            let mut part_start = 0;
            for (i, vectors) in rx.iter() {
                let vectors = vectors?;
                progress.inc(vectors.len() as u64);
                done.insert(i, vectors);
                loop {
                    let part_end = (part_start + per_part_batches).min(batches.len());
                    if part_start >= part_end
                        || !(part_start..part_end).all(|j| done.contains_key(&j))
                    {
                        break;
                    }
                    let mut vectors = Vec::new();
                    for j in part_start..part_end {
                        vectors.extend(done.remove(&j).unwrap_or_default());
                    }
                    let first = part_start * batch;
                    let last = (part_end * batch).min(todo.len());
                    sink(&todo[first..last], vectors)?;
                    part_start = part_end;
                }
            }
            if part_start < batches.len() {
                return Err(Error::Model("an embedding session stopped early".into()));
            }
            Ok(())
        })();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    })
}

/// Embeds every title that has no up-to-date vector and writes the seed's artifacts.
pub fn run(
    layout: &Layout,
    opts: &EmbedOptions,
    progress: &indicatif::ProgressBar,
) -> Result<EmbedReport> {
    let _writer = layout.lock_writer()?;
    let started = std::time::Instant::now();
    let conn = crate::catalog::open(&layout.db())?;
    let catalog_revision = crate::catalog::catalog_revision(&conn)?;
    let rows: Vec<(String, String)> = {
        let mut st =
            conn.prepare("SELECT asin, coalesce(title, '') FROM amazon_products ORDER BY rowid")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    drop(conn);
    if rows.is_empty() {
        return Err(Error::EmptyCatalog);
    }
    let paths = ModelPaths::resolve(&opts.model)?;
    let cores = available_cores();
    let workers = if opts.workers == 0 {
        cores
    } else {
        opts.workers
    };
    let threads = if opts.threads == 0 {
        (cores / workers).max(1)
    } else {
        opts.threads
    };
    let embedders = load_sessions(&paths, workers, threads)?;
    let (model, dim) = (embedders[0].id.clone(), embedders[0].dim);
    let mut ckpt = Checkpoint::load(&layout.checkpoint_dir(), &model, dim)?;

    let mut todo: Vec<(&str, &str, u64)> = rows
        .iter()
        .map(|(a, t)| (a.as_str(), t.as_str(), text_hash(t)))
        .filter(|(a, _, h)| ckpt.known.get(*a).is_none_or(|(kh, _)| kh != h))
        .collect();
    let embedded = todo.len();
    progress.set_length(embedded as u64);
    tracing::info!(rows = rows.len(), to_embed = embedded, reused = rows.len() - embedded, model = %model.name, workers, threads, "embedding titles");

    // Counting tokens is part of the embedding work, and timed with it.
    let embed_started = std::time::Instant::now();
    // Batches of titles with the same token count carry no padding, which sorting by characters
    // did not achieve. The asin breaks ties, so a rerun forms the same batches.
    let tokens = embedders[0].token_counts(&todo.iter().map(|t| t.1).collect::<Vec<_>>())?;
    let mut order: Vec<usize> = (0..todo.len()).collect();
    order.sort_by(|&a, &b| {
        tokens[a]
            .cmp(&tokens[b])
            .then_with(|| todo[a].0.cmp(todo[b].0))
    });
    todo = order.into_iter().map(|i| todo[i]).collect();

    let batch = opts.batch_size.max(1);
    let per_part = opts.checkpoint_every.max(batch) / batch * batch;
    embed_batches(
        embedders,
        &todo,
        batch,
        per_part,
        progress,
        |group, vectors| {
            let entries = group
                .iter()
                .zip(vectors)
                .map(|((asin, _, hash), vector)| Entry {
                    asin: (*asin).to_owned(),
                    title_hash: *hash,
                    vector,
                })
                .collect();
            ckpt.append(&model, dim, entries)
        },
    )?;
    let embed_secs = embed_started.elapsed().as_secs_f64();

    let mut matrix = Vec::with_capacity(rows.len() * dim);
    for (asin, _) in &rows {
        let (_, v) = ckpt
            .known
            .get(asin)
            .ok_or_else(|| Error::Model(format!("no vector for {asin} after embedding")))?;
        matrix.extend_from_slice(v);
    }
    crate::npy::write(&layout.embeddings(), &matrix, dim)?;
    write_atomic(&layout.asin_list(), |w| {
        for (asin, _) in &rows {
            std::io::Write::write_all(w, asin.as_bytes())?;
            std::io::Write::write_all(w, b"\n")?;
        }
        Ok(())
    })?;
    let mut manifest = crate::manifest::Manifest::load(layout)
        .ok()
        .flatten()
        .unwrap_or_default();
    manifest.embeddings = Some(crate::manifest::EmbeddingsInfo {
        model: model.clone(),
        dim,
        count: rows.len(),
        catalog_revision,
    });
    manifest.save(layout)?;
    if embedded > 0 || ckpt.next_part > 0 {
        ckpt.compact(&model, dim, &rows)?;
    }
    Ok(EmbedReport {
        model,
        dim,
        rows: rows.len(),
        embedded,
        reused: rows.len() - embedded,
        seconds: started.elapsed().as_secs_f64(),
        titles_per_second: if embedded > 0 && embed_secs > 0.0 {
            embedded as f64 / embed_secs
        } else {
            0.0
        },
        catalog_revision,
    })
}
