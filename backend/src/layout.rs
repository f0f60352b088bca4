//! Where things live in a data directory, and the commands that make each artifact.

use std::path::{Path, PathBuf};

/// The files of one data directory (`--data-dir`, default `./data`).
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Layout { dir: dir.into() }
    }
    /// SQLite file with `amazon_products`, `amazon_categories`, `user_clicks` and the side tables.
    pub fn db(&self) -> PathBuf {
        self.dir.join("recommend.db")
    }
    /// The seed's N×d float32 embedding matrix.
    pub fn embeddings(&self) -> PathBuf {
        self.dir.join("product_emb.npy")
    }
    /// The seed's asin list, one per line, in the matrix's row order.
    pub fn asin_list(&self) -> PathBuf {
        self.dir.join("asin_list.txt")
    }
    /// The FAISS index, readable by Python's `faiss.read_index`.
    pub fn index(&self) -> PathBuf {
        self.dir.join("faiss.index")
    }
    /// The build's product rows in index order, for enrichment (see `rows`).
    pub fn rows(&self) -> PathBuf {
        self.dir.join("products.rows")
    }
    /// The item-to-item CF model of the current build (see `cf::store`).
    pub fn cf_model(&self) -> PathBuf {
        self.dir.join("cf.model")
    }
    /// What the artifacts were built from (JSON).
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
    /// The resumable embedding checkpoint (bincode parts).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join("embed-checkpoint")
    }
    /// The catalog map of the current build (see `map`).
    pub fn catalog_map(&self) -> PathBuf {
        self.dir.join("catalog_map.json")
    }
    /// Cached product images, one file per asin (see `images`).
    pub fn images_dir(&self) -> PathBuf {
        self.dir.join("images")
    }
    /// Every rejected import row, with its line number and reason.
    pub fn rejects(&self) -> PathBuf {
        self.dir.join("import_rejects.txt")
    }

    /// The command that (re)builds an artifact, for error messages.
    pub fn fix(&self, step: &str) -> String {
        format!("recall-lab {step} --data-dir {}", self.dir.display())
    }
}

/// The data directory's writer lock: while one is held, no other process builds artifacts in
/// the directory (`embed`, `index`, `build`, the CF model, the server's reindex). Taking it again
/// in the holding process nests; the lock goes with the last guard.
pub struct WriterLock {
    key: PathBuf,
}

static HELD: std::sync::Mutex<Vec<(PathBuf, std::fs::File, usize)>> =
    std::sync::Mutex::new(Vec::new());

impl Layout {
    /// Takes the writer lock, or fails at once naming the process that holds it.
    pub fn lock_writer(&self) -> crate::Result<WriterLock> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(&self.dir).map_err(crate::Error::io(&self.dir))?;
        let key = std::fs::canonicalize(&self.dir).map_err(crate::Error::io(&self.dir))?;
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = held.iter_mut().find(|(k, _, _)| *k == key) {
            entry.2 += 1;
            return Ok(WriterLock { key });
        }
        let path = self.dir.join(".writer.lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(crate::Error::io(&path))?;
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(crate::Error::DataDirBusy {
                dir: self.dir.clone(),
                holder: holder.trim().to_owned(),
            });
        }
        let _ = file.set_len(0);
        let _ = write!(file, "pid {}", std::process::id());
        // No other writer runs now: temporary files are what a killed one left behind.
        self.remove_stale_temporaries();
        held.push((key.clone(), file, 1));
        Ok(WriterLock { key })
    }
}

impl Layout {
    /// Removes the temporary files of interrupted writes (`write_atomic`'s `.NAME.tmp-PID`, the
    /// index's `faiss.index.tmp`). Only under the writer lock.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stale =
                (name.starts_with('.') && name.contains(".tmp-")) || name == "faiss.index.tmp";
            if stale && e.path().is_file() {
                tracing::info!(file = %name, "removing a temporary file an interrupted write left");
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|(k, _, _)| *k == self.key) {
            held[i].2 -= 1;
            if held[i].2 == 0 {
                // Closing the file releases the lock.
                held.remove(i);
            }
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> crate::Result<()> {
    use std::io::Write;
    let err = crate::Error::io(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique within the process too: two threads may write the same artifact at once.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}
