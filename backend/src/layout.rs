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
    /// What the artifacts were built from (JSON).
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
    /// The resumable embedding checkpoint (bincode parts).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join("embed-checkpoint")
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
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
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
