//! The manifest (`manifest.json`): what the embeddings and the index were built from, so that a
//! stale artifact is detected and named together with the command that rebuilds it.

use crate::embed::ModelId;
use crate::error::{Error, Result};
use crate::layout::{Layout, write_atomic};
use serde::{Deserialize, Serialize};

/// Bump when the manifest's meaning changes; older manifests are then treated as stale.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub embeddings: Option<EmbeddingsInfo>,
    pub index: Option<IndexInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsInfo {
    pub model: ModelId,
    pub dim: usize,
    pub count: usize,
    /// The catalog revision (see `catalog::catalog_revision`) the vectors were made from.
    pub catalog_revision: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    /// Names this build: artifacts made for it (the CF model) carry it, so that one made for an
    /// earlier build is never read against this one's rows. Empty in manifests from before it.
    #[serde(default)]
    pub build_id: String,
    /// Where the vectors are searched: FAISS in process (manifests from before engines), or a
    /// Milvus collection.
    #[serde(default)]
    pub engine: crate::index::IndexEngine,
    pub factory: String,
    pub metric: String,
    pub nlist: Option<usize>,
    pub default_nprobe: Option<usize>,
    pub dim: usize,
    pub count: usize,
    pub model: ModelId,
    pub catalog_revision: u64,
    pub built_at: String,
    pub build_seconds: f64,
    /// recall@10 against exact search at `default_nprobe`, measured at build time.
    pub recall_at_10: Option<f64>,
}

impl IndexInfo {
    /// The build id as the number artifacts record (0 for a manifest from before build ids).
    pub fn build_number(&self) -> u64 {
        u64::from_str_radix(&self.build_id, 16).unwrap_or(0)
    }
}

impl Manifest {
    /// `Ok(None)` when there is no manifest yet.
    pub fn load(layout: &Layout) -> Result<Option<Manifest>> {
        let path = layout.manifest();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Format {
                    path: path.clone(),
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    pub fn save(&mut self, layout: &Layout) -> Result<()> {
        self.format_version = FORMAT_VERSION;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Format {
            path: layout.manifest(),
            message: e.to_string(),
        })?;
        write_atomic(&layout.manifest(), |w| std::io::Write::write_all(w, &json))
    }

    /// Checks that the embeddings and the index exist and match the catalog at `revision`.
    /// The error names the stale file and the command that rebuilds it.
    pub fn check_fresh(layout: &Layout, revision: u64) -> Result<(EmbeddingsInfo, IndexInfo)> {
        let build = layout.fix("build");
        let m = Manifest::load(layout)?.ok_or_else(|| Error::MissingArtifact {
            what: "the manifest",
            path: layout.manifest(),
            fix: build.clone(),
        })?;
        if m.format_version != FORMAT_VERSION {
            return Err(Error::StaleArtifact {
                what: "the manifest",
                path: layout.manifest(),
                why: format!("format {} is not {FORMAT_VERSION}", m.format_version),
                fix: build,
            });
        }
        // A Milvus build keeps its vectors on the server, not in faiss.index.
        let faiss = !matches!(
            m.index.as_ref().map(|i| &i.engine),
            Some(crate::index::IndexEngine::Milvus { .. })
        );
        for (what, path, fix, needed) in [
            (
                "the embeddings",
                layout.embeddings(),
                layout.fix("embed"),
                true,
            ),
            (
                "the asin list",
                layout.asin_list(),
                layout.fix("embed"),
                true,
            ),
            (
                "the FAISS index",
                layout.index(),
                layout.fix("index"),
                faiss,
            ),
        ] {
            if needed && !path.exists() {
                return Err(Error::MissingArtifact { what, path, fix });
            }
        }
        let emb = m.embeddings.ok_or_else(|| Error::MissingArtifact {
            what: "the embeddings",
            path: layout.embeddings(),
            fix: layout.fix("embed"),
        })?;
        let idx = m.index.ok_or_else(|| Error::MissingArtifact {
            what: "the FAISS index",
            path: layout.index(),
            fix: layout.fix("index"),
        })?;
        if emb.catalog_revision != revision {
            return Err(Error::StaleArtifact {
                what: "the embeddings",
                path: layout.embeddings(),
                why: format!(
                    "the catalog changed (revision {} -> {revision}) since they were made",
                    emb.catalog_revision
                ),
                fix: build,
            });
        }
        if idx.catalog_revision != emb.catalog_revision
            || idx.model != emb.model
            || idx.count != emb.count
            || idx.dim != emb.dim
        {
            return Err(Error::StaleArtifact {
                what: "the FAISS index",
                path: layout.index(),
                why: "it was built from other embeddings than product_emb.npy".into(),
                fix: layout.fix("index"),
            });
        }
        Ok((emb, idx))
    }
}
