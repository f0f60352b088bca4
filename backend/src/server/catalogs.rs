//! Several catalogs side by side: each is a data dir under the server's catalogs folder,
//! served at `/c/{name}/api/...` by a router of its own (opened on first use), and made from an
//! uploaded CSV by the admin: upload, preview the column mapping, build in the background with
//! the pipeline's progress. The server's main data dir stays at `/api` as `default`.

use super::api::{ApiResult, Json, check_admin};
use super::config::ServeConfig;
use super::error::ApiError;
use super::{AppState, app};
use crate::layout::Layout;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{CatalogInfo, CatalogPreview, ColumnMapping, Job};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use tower::ServiceExt;

/// The uploaded CSV in a catalog's data dir.
const SOURCE: &str = "source.csv";

/// The catalogs folder and the catalogs opened so far: each one's router, and the task that
/// keeps its CF model current (as `serve` does for the default catalog).
pub struct Catalogs {
    dir: PathBuf,
    open: Mutex<HashMap<String, (Router, tokio::task::JoinHandle<()>)>>,
}

impl Catalogs {
    pub fn new(dir: PathBuf) -> Self {
        Catalogs {
            dir,
            open: Mutex::default(),
        }
    }

    /// A catalog's data dir, for a name of 1 to 40 lower-case letters, digits and dashes.
    fn layout(&self, name: &str) -> Result<Layout, ApiError> {
        let ok = (1..=40).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && name != "default";
        if !ok {
            return Err(ApiError::param(
                "name",
                "a catalog name is 1 to 40 lower-case letters, digits and dashes (not \"default\")",
            ));
        }
        Ok(Layout::new(self.dir.join(name)))
    }

    /// The router of a built catalog, opened on first use.
    fn router(&self, name: &str, config: &ServeConfig) -> Result<Router, ApiError> {
        let layout = self.layout(name)?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((r, _)) = open.get(name) {
            return Ok(r.clone());
        }
        if !layout.manifest().exists() {
            return Err(ApiError::UnknownCatalog(name.to_owned()));
        }
        let state = AppState::open(ServeConfig {
            data_dir: layout.dir.clone(),
            catalogs_dir: Some(self.dir.join(name).join("catalogs")),
            ..config.clone()
        })?;
        let refresh = tokio::spawn(super::cf_refresh::run(state.clone()));
        let router = app(state);
        open.insert(name.to_owned(), (router.clone(), refresh));
        Ok(router)
    }

    /// Drops a catalog's router and stops its CF refresh, so the next request opens its new
    /// build.
    fn forget(&self, name: &str) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, refresh)) = open.remove(name) {
            refresh.abort();
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .filter(|n| self.layout(n).is_ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// `/c/{name}/api/{*rest}`: the request, answered by that catalog's own router.
pub async fn in_catalog(
    State(s): State<AppState>,
    Path((name, _rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    let router = match s.catalogs.router(&name, &s.config) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let prefix = format!("/c/{name}");
    let rewritten = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .and_then(|pq| pq.strip_prefix(&prefix))
        .and_then(|rest| rest.parse().ok());
    let Some(uri) = rewritten else {
        return ApiError::RouteNotFound(req.uri().path().to_owned()).into_response();
    };
    // A new request with the same method, headers and body: the outer route's matched path
    // parameters travel in the extensions and would confuse the inner handlers' `Path`.
    let (parts, body) = req.into_parts();
    let mut inner = Request::new(body);
    *inner.method_mut() = parts.method;
    *inner.uri_mut() = uri;
    *inner.version_mut() = parts.version;
    *inner.headers_mut() = parts.headers;
    match router.oneshot(inner).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

fn info(name: &str, layout: &Layout, default: bool) -> CatalogInfo {
    let products = crate::catalog::open(&layout.db())
        .ok()
        .and_then(|c| crate::catalog::product_count(&c).ok())
        .unwrap_or(0);
    CatalogInfo {
        name: name.to_owned(),
        products,
        built: layout.manifest().exists(),
        default,
    }
}

#[utoipa::path(get, path = "/catalogs",
    responses((status = 200, body = [CatalogInfo], description = "The server's catalogs: `default` (its main data dir) and the ones under its catalogs folder")))]
pub async fn list_catalogs(State(s): State<AppState>) -> ApiResult<Vec<CatalogInfo>> {
    let out = tokio::task::spawn_blocking(move || {
        let mut out = vec![info("default", &s.engine.layout, true)];
        for name in s.catalogs.names() {
            if let Ok(layout) = s.catalogs.layout(&name) {
                out.push(info(&name, &layout, false));
            }
        }
        out
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(out))
}

fn preview_of(layout: &Layout, mapping: &ColumnMapping) -> Result<CatalogPreview, ApiError> {
    let source = layout.dir.join(SOURCE);
    if !source.exists() {
        return Err(ApiError::UnknownCatalog(
            layout
                .dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into()),
        ));
    }
    let map = mapping
        .mapping
        .iter()
        .map(|m| (m.column.clone(), m.field.clone()))
        .collect();
    Ok(crate::catalog::preview(&source, &map)?)
}

#[utoipa::path(put, path = "/catalogs/{name}/source", params(("name" = String, Path)),
    security(("bearer" = [])), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CatalogPreview, description = "The upload, stored; the detected column of each field, the first rows and rejects"),
        (status = 401, body = common::ApiErrorBody), (status = 413, body = common::ApiErrorBody)))]
pub async fn upload_catalog(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<CatalogPreview> {
    check_admin(&s, &headers)?;
    let layout = s.catalogs.layout(&name)?;
    // The upload has its own cap, larger than the API's body limit.
    let body = axum::body::to_bytes(req.into_body(), s.config.upload_limit_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let out = tokio::task::spawn_blocking(move || -> Result<CatalogPreview, ApiError> {
        std::fs::create_dir_all(&layout.dir).map_err(crate::Error::io(&layout.dir))?;
        crate::layout::write_atomic(&layout.dir.join(SOURCE), |w| {
            std::io::Write::write_all(w, &body)
        })?;
        preview_of(&layout, &ColumnMapping::default())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/catalogs/{name}/preview", params(("name" = String, Path)),
    security(("bearer" = [])), request_body = ColumnMapping,
    responses((status = 200, body = CatalogPreview), (status = 401, body = common::ApiErrorBody), (status = 404, body = common::ApiErrorBody)))]
pub async fn preview_catalog(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Json(mapping): Json<ColumnMapping>,
) -> ApiResult<CatalogPreview> {
    check_admin(&s, &headers)?;
    let layout = s.catalogs.layout(&name)?;
    let out = tokio::task::spawn_blocking(move || preview_of(&layout, &mapping))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/catalogs/{name}/build", params(("name" = String, Path)),
    security(("bearer" = [])), request_body = ColumnMapping,
    responses((status = 202, body = Job, description = "The build, started: follow it at /api/jobs/{id} (stages import, embed, index, cf, map, images)"),
        (status = 401, body = common::ApiErrorBody), (status = 404, body = common::ApiErrorBody), (status = 409, body = common::ApiErrorBody)))]
pub async fn build_catalog(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Json(mapping): Json<ColumnMapping>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    check_admin(&s, &headers)?;
    let layout = s.catalogs.layout(&name)?;
    let source = layout.dir.join(SOURCE);
    if !source.exists() {
        return Err(ApiError::UnknownCatalog(name));
    }
    let job = s
        .jobs
        .start("queued")
        .ok_or_else(|| ApiError::Conflict("a build is already running".into()))?;
    let (jobs, catalogs, id) = (s.jobs.clone(), s.catalogs.clone(), job.id);
    let model = mapping.model.clone();
    tokio::task::spawn_blocking(move || {
        crate::index::set_search_threads(1);
        let progress = super::jobs::JobProgress { jobs: &jobs, id };
        let mut opts = crate::pipeline::BuildOptions {
            csv: Some(source),
            map: mapping
                .mapping
                .into_iter()
                .map(|m| (m.column, m.field))
                .collect(),
            draw_images: true,
            ..Default::default()
        };
        if let Some(model) = model {
            opts.embed.model = crate::embed::ModelChoice::Named(model);
        }
        let result = crate::pipeline::build(&layout, &opts, &progress)
            .map(|r| {
                let loaded = r.import.as_ref().map_or(0, |i| i.loaded + i.updated);
                format!(
                    "{loaded} products imported, {} embedded, index {} built; open it as catalog {name}",
                    r.embed.embedded, r.index.factory
                )
            })
            .map_err(|e| {
                tracing::warn!(catalog = %name, error = %e, "catalog build failed");
                e.to_string()
            });
        catalogs.forget(&name);
        jobs.finish(id, result);
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}
