//! Recall Lab's engine: catalog (SQLite), title embeddings (fastembed), the FAISS index, click
//! histories, recall channels and their fusion, usable without HTTP. The `server` module and the
//! `recall-lab` binary are thin edges over it.

mod answer_json;
pub mod asin_table;
pub mod catalog;
pub mod cf;
pub mod clicks;
mod cores;
pub mod demo;
pub mod embed;
pub mod error;
pub mod eval;
pub mod ids;
pub mod images;
pub mod index;
pub mod layout;
pub mod manifest;
pub mod map;
pub mod npy;
pub mod pipeline;
pub mod recall;
pub mod review;
pub mod rows;
pub mod server;
pub mod simulate;
pub mod util;

pub use error::{Error, Result};
pub use ids::{Asin, UserId};

#[cfg(test)]
mod tests {
    /// Invariant: the engine (every module but `server`) never uses the HTTP edge, so it stays a
    /// library usable without it.
    #[test]
    fn the_engine_never_imports_from_the_server() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("source folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let engine: Vec<_> = files
            .iter()
            .filter(|p| {
                let rel = p.strip_prefix(&src).expect("under src");
                !rel.starts_with("server")
                    && !rel.starts_with("bin")
                    && !rel.starts_with("cli")
                    && rel != "main.rs"
            })
            .collect();
        assert!(engine.len() > 20, "the engine's files were found");
        for path in engine {
            let text = std::fs::read_to_string(path).expect("source");
            // Built here, so that this file does not match itself.
            for needle in ["crate", "recall_lab", "super"].map(|p| format!("{p}::server")) {
                assert!(
                    !text.contains(&needle),
                    "{} uses the HTTP edge ({needle})",
                    path.display()
                );
            }
        }
    }
}
