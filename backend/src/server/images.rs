//! The catalog's pictures over HTTP: a product's cached image at a stable URL with cache
//! headers, and the catalog map the Map view draws.

use super::AppState;
use super::api::{ApiResult, Hold, Json, work};
use super::error::ApiError;
use crate::ids::Asin;
use crate::images::ImageStore;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

/// How long a browser may reuse a picture before asking again (a redraw or refetch changes it).
const MAX_AGE: &str = "public, max-age=86400";

#[utoipa::path(get, path = "/images/{asin}", params(("asin" = String, Path)),
    responses(
        (status = 200, description = "The product's cached picture (JPEG thumbnail or SVG illustration), with Last-Modified and Cache-Control", content_type = "image/*"),
        (status = 404, body = common::ApiErrorBody)))]
pub async fn image(
    State(s): State<AppState>,
    Path(asin): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let asin = Asin::parse(&asin)?;
    let store = ImageStore::new(&s.engine.layout);
    let Some((path, mime)) = store.find(&asin) else {
        return Err(ApiError::NoImage(asin.into_string()));
    };
    let mime: mime::Mime = mime.parse().map_err(|_| ApiError::Internal(mime.into()))?;
    // ServeFile answers conditional and range requests from the file's modification time.
    let mut resp = tower_http::services::ServeFile::new_with_mime(&path, &mime)
        .oneshot(req)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // An SVG opened on its own is a document: it may draw, never run anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/map",
    responses(
        (status = 200, body = common::CatalogMap, description = "The current build's catalog map"),
        (status = 404, body = common::ApiErrorBody, description = "`map_not_built`: run `recall-lab map`")))]
pub async fn catalog_map(State(s): State<AppState>) -> ApiResult<common::CatalogMap> {
    Ok(Json(
        work(&s, Hold::Long, |e| {
            crate::map::of_build(&e.layout, &e.current())
        })
        .await?,
    ))
}
