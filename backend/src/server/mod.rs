//! The HTTP edge: an axum router over the engine (`/api`), the browser app's files (`/`),
//! OpenAPI generated from the handlers, and the middleware (body limit, timeout, CORS, one log
//! line per request).

pub mod api;
pub mod catalogs;
mod cf_refresh;
pub mod config;
pub mod error;
pub mod images;
pub mod jobs;
pub mod query;
pub mod review;

use crate::layout::Layout;
use crate::recall::{Engine, EngineOptions};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use config::ServeConfig;
use error::ApiError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::cors::CorsLayer;
use tower_http::services::{ServeDir, ServeFile};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub config: Arc<ServeConfig>,
    pub jobs: Arc<jobs::Jobs>,
    /// Bounds the CPU-bound requests running at once.
    pub work: Arc<tokio::sync::Semaphore>,
    /// The other catalogs this server serves at `/c/{name}/api`.
    pub catalogs: Arc<catalogs::Catalogs>,
}

impl AppState {
    pub fn new(engine: Engine, config: ServeConfig) -> Self {
        let permits = config.max_concurrent_work.max(1);
        let catalogs_dir = config
            .catalogs_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("catalogs"));
        AppState {
            catalogs: Arc::new(catalogs::Catalogs::new(catalogs_dir)),
            engine: Arc::new(engine),
            config: Arc::new(config),
            jobs: Default::default(),
            work: Arc::new(tokio::sync::Semaphore::new(permits)),
        }
    }

    /// Opens the engine over `config.data_dir`; a missing or stale artifact is an error naming
    /// the file and the command that makes it.
    pub fn open(config: ServeConfig) -> crate::Result<Self> {
        let options = EngineOptions {
            pool_size: config.pool_size,
            reader_map_bytes: config.reader_map_mb << 20,
            model_dir: config.model_dir.clone(),
            search_kernels: config.search_kernels.unwrap_or_default(),
        };
        let engine = Engine::open(Layout::new(&config.data_dir), &options)?;
        Ok(Self::new(engine, config))
    }
}

/// The document's frame: its title and security scheme. Its paths come from the router
/// ([`api_routes`]), so a route cannot exist undocumented.
#[derive(OpenApi)]
#[openapi(
    info(title = "Recall Lab API", description = "Product recall: FAISS over title embeddings, co-click CF, popularity and more channels, fused."),
    components(schemas(common::ApiErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Every `/api` route with its OpenAPI operation, from the handlers' `#[utoipa::path]`
/// (paths relative to `/api`); one `routes!` per path.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::health))
        .routes(routes!(api::stats))
        .routes(routes!(api::channels))
        .routes(routes!(api::categories))
        .routes(routes!(api::products))
        .routes(routes!(api::product))
        .routes(routes!(images::image))
        .routes(routes!(images::catalog_map))
        .routes(routes!(catalogs::list_catalogs))
        .routes(routes!(catalogs::upload_catalog))
        .routes(routes!(catalogs::preview_catalog))
        .routes(routes!(catalogs::build_catalog))
        .routes(routes!(api::similar))
        .routes(routes!(api::search))
        .routes(routes!(api::users, api::create_user))
        .routes(routes!(api::list_clicks, api::add_click, api::clear_clicks))
        .routes(routes!(api::delete_click))
        .routes(routes!(api::recall_user))
        .routes(routes!(api::recall))
        .routes(routes!(review::explain))
        .routes(routes!(review::summary))
        .routes(routes!(review::scenarios, review::create_scenario))
        .routes(routes!(review::export_scenarios))
        .routes(routes!(review::report))
        .routes(routes!(review::judgments_csv))
        .routes(routes!(review::import_scenarios))
        .routes(routes!(
            review::scenario,
            review::update_scenario,
            review::delete_scenario
        ))
        .routes(routes!(review::judgments))
        .routes(routes!(review::judge, review::unjudge))
        .routes(routes!(review::check_scenario))
        .routes(routes!(api::eval_ann))
        .routes(routes!(api::eval_report))
        .routes(routes!(api::reindex))
        .routes(routes!(api::job))
}

/// The OpenAPI document of the `/api` routes.
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    let (_, paths) = api_routes().split_for_parts();
    ApiDoc::openapi().nest("/api", paths)
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> axum::Json<&'static utoipa::openapi::OpenApi> {
    static DOC: std::sync::LazyLock<utoipa::openapi::OpenApi> =
        std::sync::LazyLock::new(openapi_doc);
    axum::Json(&DOC)
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// One structured log line per request, with its latency.
async fn log_requests(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let t = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(method = %method, path = %path, status = resp.status().as_u16(), latency_us = t.elapsed().as_micros() as u64, "request");
    resp
}

/// The router, with all middleware; tests drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let timeout_ms = state.config.request_timeout_ms;
    let (routes, _) = api_routes().split_for_parts();
    let api = routes
        .route("/openapi.json", get(openapi))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(Duration::from_millis(timeout_ms), next.run(req)).await {
                    Ok(resp) => resp,
                    Err(_) => {
                        axum::response::IntoResponse::into_response(ApiError::Timeout(timeout_ms))
                    }
                }
            },
        ));

    let dist = state.config.dist_dir.clone();
    let index_html = dist.join("index.html");
    let static_files = ServeDir::new(&dist)
        .precompressed_gzip()
        .fallback(ServeFile::new(index_html));
    // A path no file can have (a segment longer than a file name may be) is an unknown page,
    // like any other missing file, not a failed file system call.
    let static_files = tower::ServiceBuilder::new()
        .map_request(|mut req: Request| {
            if req.uri().path().split('/').any(|seg| seg.len() > 255) {
                *req.uri_mut() = axum::http::Uri::from_static("/index.html");
            }
            req
        })
        .service(static_files);
    let mut router = Router::new()
        .nest("/api", api)
        // Another catalog's API, answered by its own router (`catalogs`).
        .route(
            "/c/{name}/api/{*rest}",
            axum::routing::any(catalogs::in_catalog),
        )
        .fallback_service(static_files)
        .with_state(state.clone());
    if !state.config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = state
            .config
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    axum::http::header::CONTENT_TYPE,
                    axum::http::header::AUTHORIZATION,
                ]),
        );
    }
    router.layer(axum::middleware::from_fn(log_requests))
}

/// Binds and serves until Ctrl-C or SIGTERM; in-flight requests finish first.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let addr = state.config.addr;
    let db = state.engine.layout.db();
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(&db) {
        tracing::warn!(path = %db.display(), error = %e,
            "the catalog is read-only: recalls work, but clicks, users and imports answer 503 read_only");
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, vectors = state.engine.current().index.ntotal(), "serving");
    // Without TCP_NODELAY a body sent in several writes (static files: the app's wasm) waits on
    // Nagle and the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    tokio::spawn(cf_refresh::run(state.clone()));
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
