//! The API's one error type: every failure maps, exhaustively, to a status and a stable code,
//! with a JSON body `{code, message, field?}` that never carries internals.

use crate::error::Error;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::ApiErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid {field}: {message}")]
    InvalidParam { field: String, message: String },
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than this server accepts (body_limit_bytes)")]
    PayloadTooLarge,
    #[error("unknown product {0}")]
    UnknownProduct(String),
    #[error("unknown user {0}")]
    UnknownUser(String),
    #[error("unknown click {0}")]
    UnknownClick(i64),
    #[error("unknown scenario {0}")]
    UnknownScenario(String),
    #[error("this build has not been evaluated yet: run `recall-lab eval` on its data dir")]
    NoEvaluation,
    #[error("unknown job {0}")]
    UnknownJob(u64),
    #[error("no catalog {0} is built here; upload and build it first")]
    UnknownCatalog(String),
    #[error("no image is cached for {0}")]
    NoImage(String),
    #[error("{0}")]
    NoMap(String),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("a bearer token is required")]
    Unauthorized,
    #[error("admin endpoints are off: no admin token is configured (RECALL_LAB_ADMIN_TOKEN)")]
    AdminDisabled,
    #[error("{0}")]
    Conflict(String),
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    #[error("{0}")]
    NotBuilt(String),
    /// Text search against an index embedded with another model than the server's.
    #[error("{0}")]
    ModelMismatch(String),
    #[error("the server's disk is full: the change was not saved")]
    StorageFull,
    #[error("the server's data is read-only: the change was not saved")]
    ReadOnly,
    /// The vector database (Milvus) did not answer; details are logged, never sent.
    #[error("the vector index server is unavailable; try again shortly")]
    IndexUnavailable,
    /// Details are logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The status and stable code of each case: the API's code table.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidParam { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnknownProduct(_) => (StatusCode::NOT_FOUND, "unknown_product"),
            ApiError::UnknownUser(_) => (StatusCode::NOT_FOUND, "unknown_user"),
            ApiError::UnknownClick(_) => (StatusCode::NOT_FOUND, "unknown_click"),
            ApiError::UnknownScenario(_) => (StatusCode::NOT_FOUND, "unknown_scenario"),
            ApiError::NoEvaluation => (StatusCode::NOT_FOUND, "no_evaluation"),
            ApiError::UnknownJob(_) => (StatusCode::NOT_FOUND, "unknown_job"),
            ApiError::NoImage(_) => (StatusCode::NOT_FOUND, "no_image"),
            ApiError::UnknownCatalog(_) => (StatusCode::NOT_FOUND, "unknown_catalog"),
            ApiError::NoMap(_) => (StatusCode::NOT_FOUND, "map_not_built"),
            ApiError::RouteNotFound(_) => (StatusCode::NOT_FOUND, "route_not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::AdminDisabled => (StatusCode::FORBIDDEN, "admin_disabled"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "job_running"),
            ApiError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::NotBuilt(_) => (StatusCode::CONFLICT, "not_in_index"),
            ApiError::ModelMismatch(_) => (StatusCode::CONFLICT, "model_mismatch"),
            ApiError::StorageFull => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            ApiError::ReadOnly => (StatusCode::SERVICE_UNAVAILABLE, "read_only"),
            ApiError::IndexUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "index_unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn param(field: &str, message: impl Into<String>) -> Self {
        ApiError::InvalidParam {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidParam { field, message } => ApiError::InvalidParam {
                field: field.to_owned(),
                message,
            },
            Error::UnknownProduct(a) => ApiError::UnknownProduct(a),
            Error::UnknownUser(u) => ApiError::UnknownUser(u),
            Error::UnknownClick(c) => ApiError::UnknownClick(c),
            Error::UnknownScenario(id) => ApiError::UnknownScenario(id),
            Error::StaleArtifact { why, .. } => ApiError::NotBuilt(why),
            Error::DataDirBusy { .. } => ApiError::Conflict(
                "another process is writing this server's data; try again when it is done".into(),
            ),
            // The handler's `work` knows the configured time and sets it.
            Error::DeadlinePassed(_) => ApiError::Timeout(0),
            // Without the fix: it names the server's data folder.
            Error::ModelMismatch {
                built, configured, ..
            } => ApiError::ModelMismatch(format!(
                "the index was embedded with the model {built}, but this server embeds text \
                 queries with {configured}; text search needs the catalog rebuilt with it \
                 (`recall-lab build`)"
            )),
            Error::UnknownModel { name, .. } => ApiError::ModelMismatch(format!(
                "the index was embedded with the model {name}, which this server does not have; \
                 text search needs the catalog rebuilt with a named model (`recall-lab build`), \
                 or the server started with --model-dir pointing at that model"
            )),
            Error::Sqlite(e) if sqlite_code(&e) == Some(rusqlite::ErrorCode::DiskFull) => {
                tracing::error!(error = %e, "a write failed: the disk is full");
                ApiError::StorageFull
            }
            Error::Sqlite(e) if sqlite_code(&e) == Some(rusqlite::ErrorCode::ReadOnly) => {
                tracing::error!(error = %e, "a write failed: the data dir is read-only");
                ApiError::ReadOnly
            }
            e @ Error::MapNotBuilt { .. } => ApiError::NoMap(e.to_string()),
            e @ Error::Milvus { .. } => {
                tracing::error!(error = %e, "the Milvus server failed a call");
                ApiError::IndexUnavailable
            }
            e @ (Error::MissingArtifact { .. }
            | Error::EmptyCatalog
            | Error::Sqlite(_)
            | Error::Pool(_)
            | Error::Faiss(_)
            | Error::Model(_)
            | Error::Http(_)
            | Error::Csv(_)
            | Error::Io { .. }
            | Error::Format { .. }) => ApiError::Internal(e.to_string()),
        }
    }
}

fn sqlite_code(e: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    e.sqlite_error_code()
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => ApiError::MalformedJson(e.body_text()),
            JsonRejection::JsonDataError(e) => ApiError::InvalidBody(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            other => ApiError::InvalidBody(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::param("query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::param("path", r.body_text())
    }
}

impl From<common::ParseError> for ApiError {
    fn from(e: common::ParseError) -> Self {
        ApiError::param(e.field, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let (message, field) = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                ("internal error; see the server log".to_owned(), None)
            }
            ApiError::InvalidParam { field, .. } => (self.to_string(), Some(field.clone())),
            other => (other.to_string(), None),
        };
        (
            status,
            axum::Json(ApiErrorBody {
                code: code.to_owned(),
                message,
                field,
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> Error {
        Error::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            Some("a message with internals".into()),
        ))
    }

    #[test]
    fn a_full_disk_and_a_read_only_data_dir_have_their_own_status_and_code() {
        let full = ApiError::from(sqlite(rusqlite::ffi::SQLITE_FULL));
        assert_eq!(
            full.status_and_code(),
            (StatusCode::INSUFFICIENT_STORAGE, "storage_full")
        );
        let ro = ApiError::from(sqlite(rusqlite::ffi::SQLITE_READONLY));
        assert_eq!(
            ro.status_and_code(),
            (StatusCode::SERVICE_UNAVAILABLE, "read_only")
        );
        assert!(!ro.to_string().contains("internals"));
        let other = ApiError::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT));
        assert_eq!(other.status_and_code().1, "internal");
    }
}
