//! The engine's error type: one enum, so that every edge (CLI, HTTP) can map each case.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {field}: {message}")]
    InvalidParam {
        field: &'static str,
        message: String,
    },
    #[error("unknown product {0}")]
    UnknownProduct(String),
    #[error("unknown user {0}")]
    UnknownUser(String),
    #[error("unknown click {0}")]
    UnknownClick(i64),
    #[error("unknown scenario {0}")]
    UnknownScenario(String),
    #[error("{what} at {path} is missing; run `{fix}` to make it")]
    MissingArtifact {
        what: &'static str,
        path: PathBuf,
        fix: String,
    },
    #[error("{what} at {path} is stale: {why}; run `{fix}` to rebuild it")]
    StaleArtifact {
        what: &'static str,
        path: PathBuf,
        why: String,
        fix: String,
    },
    #[error(
        "the index was embedded with the model {built}, but text queries are embedded with {configured}; run `{fix}` to re-embed the catalog with it"
    )]
    ModelMismatch {
        built: String,
        configured: String,
        fix: String,
    },
    #[error("the catalog map is not ready: {why}; run `{fix}` to make it")]
    MapNotBuilt { why: String, fix: String },
    #[error("the catalog is empty; run `recall-lab import --csv FILE` first")]
    EmptyCatalog,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("sqlite pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("faiss: {0}")]
    Faiss(#[from] faiss::error::Error),
    /// The Milvus server refused a call or could not be reached; `what` names the call.
    #[error("milvus ({what}): {message}")]
    Milvus { what: &'static str, message: String },
    #[error("embedding model: {0}")]
    Model(String),
    #[error("no model is named {name:?}; the models are: {known} (or pass --model-dir DIR)")]
    UnknownModel { name: String, known: String },
    #[error("http client: {0}")]
    Http(String),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: bad format: {message}")]
    Format { path: PathBuf, message: String },
    #[error("another process is writing to {dir} ({holder}); run this again when it is done")]
    DataDirBusy { dir: PathBuf, holder: String },
    /// The recall's time ran out before the named stage (`recall::deadline`).
    #[error("the time for this recall ran out before {0}")]
    DeadlinePassed(&'static str),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub fn param(field: &'static str, message: impl Into<String>) -> Error {
        Error::InvalidParam {
            field,
            message: message.into(),
        }
    }
}

impl From<common::ParseError> for Error {
    fn from(e: common::ParseError) -> Self {
        Error::InvalidParam {
            field: e.field,
            message: e.message,
        }
    }
}
