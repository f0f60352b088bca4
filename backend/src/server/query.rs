//! Typed query strings: a handler reads its parameters into one struct, the same one that
//! documents them in OpenAPI (`IntoParams`), and an error names the parameter at fault.
//! Empty values read as absent (as forms send them); an unknown parameter is an error.

use super::error::ApiError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

/// `T` read from the request's query string.
pub struct TypedQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for TypedQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let kept = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k, v.trim().to_owned()))
                    .filter(|(_, v)| !v.is_empty()),
            )
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(TypedQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                // serde names an unknown field in its message, not in the path.
                let field = match message.split('`').nth(1) {
                    Some(f) if message.starts_with("unknown field") => f.to_owned(),
                    _ => path,
                };
                ApiError::param(&field, message)
            })
    }
}

/// `GET /api/products/{asin}/similar`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    /// Neighbours to return (default 20).
    pub k: Option<usize>,
    /// Inverted lists to probe (default: the build's calibrated nprobe).
    pub nprobe: Option<usize>,
}

/// `GET /api/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The text to search for (required).
    pub q: Option<String>,
    /// Results to return (default 24).
    pub k: Option<usize>,
}

/// `GET /api/eval/ann`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnnQuery {
    /// Neighbours compared per query (default 10).
    pub k: Option<usize>,
    /// One nprobe or a comma list; default: powers of two up to nlist.
    pub nprobe: Option<String>,
    /// Queries sampled (default 200).
    pub samples: Option<usize>,
}

/// `DELETE /api/scenarios/{id}/judgments/{asin}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewerQuery {
    /// The reviewer whose judgment is taken back.
    pub reviewer: String,
}
