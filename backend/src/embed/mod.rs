//! Title embeddings: loading an ONNX sentence model through fastembed (`Embedder`), and the
//! resumable, incremental `embed` step (`run`) that writes the seed's `product_emb.npy` and
//! `asin_list.txt`.
//!
//! Which model embeds is chosen by name from [`models::MODELS`] (`--model`), or a folder
//! (`--model-dir`); residual+LayerNorm stays unfused in every session ([`DISABLED_OPTIMIZERS`])
//! because ONNX Runtime's fused kernel for it was slower; `docs/performance.md` has the figures.

pub mod models;
mod run;

use crate::error::{Error, Result};
use crate::layout::{Layout, write_atomic};
use crate::util::text_hash;
pub use models::{DEFAULT_MODEL, MODELS, ModelChoice, ModelSpec, REFERENCE_MODEL};
pub use run::{EmbedOptions, EmbedReport, run};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// ONNX Runtime graph rewrites the sessions leave out: its CPU `SkipLayerNormalization` (the
/// fusion of a residual Add with the LayerNorm after it) is slower than the unfused pair, which
/// gives the same vectors up to rounding (`scripts/make_int8_model.py` leaves it unfused too).
const DISABLED_OPTIMIZERS: (&str, &str) = (
    "optimization.disable_specified_optimizers",
    "SkipLayerNormFusion;BiasSkipLayerNormFusion",
);

/// The embedding dimension of all-MiniLM-L6-v2.
pub const MINILM_DIM: usize = 384;
/// The checkpoint format; bump when `Part` changes.
const CHECKPOINT_VERSION: u32 = 1;

/// Where the model and ONNX Runtime live (filled by the setup script).
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// A folder with `model.onnx` and the tokenizer files.
    pub model_dir: PathBuf,
    /// `libonnxruntime.so`.
    pub ort_lib: PathBuf,
}

/// The cache folder for models and runtimes: `$RECALL_LAB_CACHE`, else `~/.cache/recall-lab`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("RECALL_LAB_CACHE") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("recall-lab")
}

impl ModelPaths {
    /// The chosen model's folder and ONNX Runtime from the cache; `ORT_DYLIB_PATH` overrides
    /// the runtime.
    pub fn resolve(model: &ModelChoice) -> Result<Self> {
        let model_dir = model.dir()?;
        let ort_lib = std::env::var_os("ORT_DYLIB_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                cache_dir()
                    .join("onnxruntime")
                    .join("libonnxruntime.so.1.31.1")
            });
        Ok(ModelPaths { model_dir, ort_lib })
    }
}

/// Identity of a model: a display name and the SHA-256 of its ONNX file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelId {
    pub name: String,
    pub sha256: String,
}

/// A loaded sentence-embedding model producing L2-normalised vectors.
pub struct Embedder {
    model: fastembed::TextEmbedding,
    pub id: ModelId,
    pub dim: usize,
}

static ORT_INIT: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();

fn init_ort(lib: &Path) -> Result<()> {
    ORT_INIT
        .get_or_init(|| {
            if !lib.exists() {
                return Err(format!(
                    "ONNX Runtime library {} is missing; run the setup script (scripts/setup.sh) or set ORT_DYLIB_PATH",
                    lib.display()
                ));
            }
            ort::init_from(lib).map(drop).map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", lib.display()))
        })
        .clone()
        .map_err(Error::Model)
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let p = dir.join(name);
    std::fs::read(&p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Model(format!(
                "{} is missing; run scripts/setup.sh to make the models, or pass --model-dir",
                p.display()
            ))
        } else {
            Error::Io { path: p, source: e }
        }
    })
}

impl Embedder {
    pub fn load(paths: &ModelPaths, threads: usize) -> Result<Self> {
        init_ort(&paths.ort_lib)?;
        let dir = &paths.model_dir;
        let onnx = read(dir, "model.onnx")?;
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&onnx))
        };
        let tokenizer_files = fastembed::TokenizerFiles {
            tokenizer_file: read(dir, "tokenizer.json")?,
            config_file: read(dir, "config.json")?,
            special_tokens_map_file: read(dir, "special_tokens_map.json")?,
            tokenizer_config_file: read(dir, "tokenizer_config.json")?,
        };
        let model = fastembed::UserDefinedEmbeddingModel::new(onnx, tokenizer_files)
            .with_pooling(fastembed::Pooling::Mean);
        let threads = if threads == 0 {
            available_cores()
        } else {
            threads
        };
        let options = fastembed::InitOptionsUserDefined::new()
            .with_max_length(256)
            .with_intra_threads(threads)
            .with_session_config(DISABLED_OPTIMIZERS.0, DISABLED_OPTIMIZERS.1);
        let mut model = fastembed::TextEmbedding::try_new_from_user_defined(model, options)
            .map_err(|e| Error::Model(e.to_string()))?;
        let probe = model
            .embed(["dimension probe"], None)
            .map_err(|e| Error::Model(e.to_string()))?;
        let dim = probe.first().map(Vec::len).unwrap_or(0);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(Embedder {
            model,
            id: ModelId { name, sha256 },
            dim,
        })
    }

    /// Embeds `texts` as one ONNX batch; vectors are L2-normalised.
    pub fn embed_batch(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = self
            .model
            .embed(texts, None)
            .map_err(|e| Error::Model(e.to_string()))?;
        for v in &mut out {
            normalize(v);
        }
        Ok(out)
    }

    /// The number of tokens the model sees for each of `texts` (after truncation, before any
    /// padding): what a batch's width, and so its cost, follows.
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>> {
        let mut tokenizer = self.model.tokenizer.clone();
        tokenizer.with_padding(None);
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Model(e.to_string()))?;
        Ok(encodings.iter().map(|e| e.get_ids().len()).collect())
    }

    pub fn embed_one(&mut self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed_batch(&[text])?.pop().unwrap_or_default())
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
