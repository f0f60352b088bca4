//! The `/api` handlers: parse and validate at the edge, run engine work where its `Hold` says,
//! answer JSON (recalls also bincode, on request). Each handler is thin glue over
//! `recall::Engine` and the catalog functions.

use super::AppState;
use super::error::ApiError;
use super::query::{AnnQuery, SearchQuery, SimilarQuery, TypedQuery};
use crate::catalog::{self, Listing};
use crate::clicks;
use crate::ids::{Asin, UserId};
use crate::recall::Encoding;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::*;
use std::str::FromStr;

/// JSON body extractor whose rejections are [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

pub(super) type ApiResult<T> = Result<Json<T>, ApiError>;

/// A recall answer already serialised by the engine work that made it (a few hundred KB
/// written straight from the recall, see `Engine::recall_into`).
pub struct Encoded {
    body: Vec<u8>,
    format: Encoding,
}

/// The body format of a recall answer, from the request's `Accept` header: bincode when the
/// client lists its media type, JSON otherwise (also for `*/*`).
pub fn negotiate(headers: &HeaderMap) -> Encoding {
    let asks = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(wire::accepts_bincode);
    if asks {
        Encoding::Bincode
    } else {
        Encoding::Json
    }
}

fn content_type(format: Encoding) -> &'static str {
    match format {
        Encoding::Json => "application/json",
        Encoding::Bincode => wire::RECALL_BINCODE,
    }
}

impl IntoResponse for Encoded {
    fn into_response(self) -> Response {
        use axum::http::{HeaderValue, header};
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(self.format)),
                ),
                (header::VARY, HeaderValue::from_static("accept")),
            ],
            self.body,
        )
            .into_response()
    }
}

/// The OpenAPI schema of a bincode recall answer: opaque bytes, decoded with
/// `common::wire::decode_recall` into a `RecallResponse`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BincodeRecall(pub Vec<u8>);

/// Runs a recall as [`Hold::Brief`] work and encodes its answer there too: `f` appends the
/// answer in the given encoding to the buffer it is given (the engine's `recall_into`).
async fn work_recall(
    state: &AppState,
    format: Encoding,
    f: impl FnOnce(&crate::recall::Engine, Encoding, &mut Vec<u8>) -> crate::Result<()> + Send + 'static,
) -> Result<Encoded, ApiError> {
    let body = work(state, Hold::Brief, move |e| {
        // Sized for a default 500-item answer up front: one allocation instead of a dozen
        // doublings and copies of the body.
        let mut out = Vec::with_capacity(320 * 1024);
        f(e, format, &mut out)?;
        Ok(out)
    })
    .await?;
    Ok(Encoded { body, format })
}

/// Where a piece of engine work runs: by how long it may hold the thread that runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hold {
    /// A few milliseconds of CPU that waits on nothing slow: a recall, a similar-items search.
    /// It runs on the handler's own worker thread, like the async code around it; the
    /// runtime has one worker per core, so these requests share the cores with no thread
    /// handed over: a hand-over per recall (blocking in place) wakes a parked thread every
    /// time and left the cores idle under load (measured in commit a953627).
    Brief,
    /// Work that may run long or wait on the disk, a lock or the model (an ANN sweep, text
    /// embedding, listings): it blocks in place, so the worker's other tasks move to another
    /// thread meanwhile.
    Long,
    /// A small SQLite write (a click, a user): it blocks in place like `Long` but takes no work
    /// slot, so that it is not queued behind the CPU-bound requests; the pool bounds it.
    Write,
}

/// Runs engine work where its [`Hold`] says, bounded by the work semaphore and by the request
/// timeout: recall work stops at its next stage once the timeout has passed since the request
/// began waiting here (`recall::deadline`), answered as [`ApiError::Timeout`].
pub(super) async fn work<T: Send + 'static>(
    state: &AppState,
    hold: Hold,
    f: impl FnOnce(&crate::recall::Engine) -> crate::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let started = std::time::Instant::now();
    let _permit = match hold {
        Hold::Write => None,
        Hold::Brief | Hold::Long => Some(
            state
                .work
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
    };
    let engine = state.engine.clone();
    let timeout_ms = state.config.request_timeout_ms;
    let deadline = started + std::time::Duration::from_millis(timeout_ms);
    let f = move |e: &crate::recall::Engine| {
        crate::recall::deadline::within(deadline, || f(e)).map_err(|e| match e {
            crate::Error::DeadlinePassed(_) => ApiError::Timeout(timeout_ms),
            e => ApiError::from(e),
        })
    };
    if hold == Hold::Brief {
        return f(&engine);
    }
    match tokio::runtime::Handle::current().runtime_flavor() {
        // The server's runtime: the handler's own worker runs the work, and tokio hands the
        // worker's other tasks to another thread meanwhile. No hop to a blocking-pool thread
        // and back. The permit is held until the work ends (with `spawn_blocking` a timed-out
        // request dropped its permit while its work ran on).
        tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(move || f(&engine))
        }
        // A current-thread runtime (most `oneshot` tests) cannot block in place.
        _ => tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    }
}

#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[utoipa::path(get, path = "/stats", responses((status = 200, body = Stats)))]
pub async fn stats(State(s): State<AppState>) -> ApiResult<Stats> {
    let refresh_seconds = s.config.cf_refresh_secs;
    let cf_options = s.config.cf_options();
    let out = work(&s, Hold::Long, move |e| {
        let c = e.conn()?;
        let loaded = e.current();
        let (clicks, users) = clicks::count_clicks(&c)?;
        Ok(Stats {
            products: catalog::product_count(&c)?,
            categories: c.query_row("SELECT count(*) FROM amazon_categories", [], |r| r.get(0))?,
            users,
            clicks,
            model: loaded.embeddings.model.name.clone(),
            model_summary: crate::embed::models::spec(&loaded.embeddings.model.name)
                .map_or_else(String::new, |m| m.summary.to_owned()),
            dim: loaded.index.dim(),
            index_engine: loaded.index.engine().name().to_owned(),
            index_location: match loaded.index.engine() {
                crate::index::IndexEngine::Faiss => None,
                crate::index::IndexEngine::Milvus {
                    uri,
                    alias,
                    collection,
                    index_type,
                } => Some(format!(
                    "{uri}, alias {alias} → collection {collection} ({})",
                    index_type.name()
                )),
            },
            index_factory: loaded.info.factory.clone(),
            nlist: loaded.index.nlist(),
            default_nprobe: loaded.index.default_nprobe(),
            vectors: loaded.index.ntotal(),
            built_at: loaded.info.built_at.clone(),
            build_id: loaded.info.build_id.clone(),
            build_seconds: loaded.info.build_seconds,
            generation: e.generation(),
            cf: e
                .cf_model()
                .map(|m| -> crate::Result<common::CfStats> {
                    let o = &m.meta.options;
                    Ok(common::CfStats {
                        built_at: m.meta.built_at.clone(),
                        age_seconds: (crate::util::now_millis() - m.meta.built_at_ms).max(0) as f64
                            / 1e3,
                        build_seconds: m.meta.build_seconds,
                        clicks: m.meta.clicks,
                        users: m.meta.users,
                        items: m.rows_with_neighbours(),
                        pairs: m.meta.pairs,
                        k: o.k,
                        min_support: o.min_support,
                        max_user_items: o.max_user_items,
                        half_life_days: o.half_life_days,
                        stale: e.cf_stale(&c, &cf_options)?,
                        refresh_seconds,
                    })
                })
                .transpose()?,
            images: crate::images::counts(&c)?,
        })
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(get, path = "/channels", responses((status = 200, body = [ChannelInfo])))]
pub async fn channels() -> Json<Vec<ChannelInfo>> {
    Json(crate::recall::channels::infos())
}

#[utoipa::path(get, path = "/categories", responses((status = 200, body = [Category])))]
pub async fn categories(State(s): State<AppState>) -> ApiResult<Vec<Category>> {
    Ok(Json(
        work(&s, Hold::Long, |e| {
            Ok(e.catalog_stats()?.categories.clone())
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/products", params(ProductQuery),
    responses((status = 200, body = ProductPage), (status = 400, body = ApiErrorBody)))]
pub async fn products(
    State(s): State<AppState>,
    TypedQuery(p): TypedQuery<ProductQuery>,
) -> ApiResult<ProductPage> {
    let filters = Filters {
        category: p.category,
        min_price: p.min_price,
        max_price: p.max_price,
        min_stars: p.min_stars,
    };
    filters.validate()?;
    let page = p.page.unwrap_or(1);
    if page == 0 || page > 100_000 {
        return Err(ApiError::param("page", "page must be between 1 and 100000"));
    }
    let per_page = p.per_page.unwrap_or(24);
    if per_page == 0 || per_page > 100 {
        return Err(ApiError::param(
            "per_page",
            "per_page must be between 1 and 100",
        ));
    }
    let q = p.q;
    if q.as_ref().is_some_and(|q| q.chars().count() > 500) {
        return Err(ApiError::param(
            "q",
            "the query is longer than 500 characters",
        ));
    }
    let listing = Listing {
        q,
        filters,
        bestseller: p.bestseller,
        sort: p
            .sort
            .as_deref()
            .map(SortOrder::from_str)
            .transpose()?
            .unwrap_or_default(),
        page,
        per_page,
    };
    Ok(Json(
        work(&s, Hold::Long, move |e| {
            let stats = e.catalog_stats()?;
            catalog::list_products(&*e.conn()?, &listing, &stats)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/products/{asin}", params(("asin" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ApiErrorBody)))]
pub async fn product(State(s): State<AppState>, Path(asin): Path<String>) -> ApiResult<Product> {
    let asin = Asin::parse(&asin)?;
    Ok(Json(
        work(&s, Hold::Long, move |e| {
            catalog::get_product(&*e.conn()?, &asin)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/products/{asin}/similar", params(("asin" = String, Path), SimilarQuery),
    responses((status = 200, body = NeighboursResponse), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn similar(
    State(s): State<AppState>,
    Path(asin): Path<String>,
    TypedQuery(p): TypedQuery<SimilarQuery>,
) -> ApiResult<NeighboursResponse> {
    let asin = Asin::parse(&asin)?;
    let k = p.k.unwrap_or(20);
    let nprobe = p.nprobe;
    Ok(Json(
        work(&s, Hold::Brief, move |e| e.similar(&asin, k, nprobe)).await?,
    ))
}

#[utoipa::path(get, path = "/search", params(SearchQuery),
    responses((status = 200, body = NeighboursResponse), (status = 400, body = ApiErrorBody),
        (status = 409, description = "model_mismatch: the index was embedded with another model", body = ApiErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    TypedQuery(p): TypedQuery<SearchQuery>,
) -> ApiResult<NeighboursResponse> {
    let text =
        p.q.ok_or_else(|| ApiError::param("q", "the query text is required"))?;
    let k = p.k.unwrap_or(24);
    Ok(Json(
        work(&s, Hold::Long, move |e| e.search_text(&text, k)).await?,
    ))
}

#[utoipa::path(get, path = "/users", responses((status = 200, body = [User])))]
pub async fn users(State(s): State<AppState>) -> ApiResult<Vec<User>> {
    Ok(Json(
        work(&s, Hold::Long, |e| clicks::list_users(&*e.conn()?)).await?,
    ))
}

#[utoipa::path(post, path = "/users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = ApiErrorBody), (status = 415, body = ApiErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let id = body.id.as_deref().map(UserId::parse).transpose()?;
    let user = work(&s, Hold::Write, move |e| {
        let c = e.conn()?;
        match id {
            Some(id) => clicks::upsert_user(&c, &id, body.name.as_deref()),
            None => clicks::create_new_user(&c, body.name.as_deref()),
        }
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/users/{id}/clicks", params(("id" = String, Path)),
    responses((status = 200, body = [Click]), (status = 404, body = ApiErrorBody)))]
pub async fn list_clicks(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<Click>> {
    let id = UserId::parse(&id)?;
    let out = work(&s, Hold::Long, move |e| {
        let c = e.conn()?;
        clicks::get_user(&c, &id)?;
        let mut list = clicks::list_clicks(&c, &id)?;
        let products = catalog::products_in_order(&c, list.iter().map(|k| k.asin.as_str()))?;
        for (k, p) in list.iter_mut().zip(products) {
            k.product = p;
        }
        Ok(list)
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/users/{id}/clicks", params(("id" = String, Path)), request_body = NewClick,
    responses((status = 201, body = Click), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn add_click(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<NewClick>,
) -> Result<(StatusCode, Json<Click>), ApiError> {
    let id = UserId::parse(&id)?;
    let asin = Asin::parse(&body.asin)?;
    let click = work(&s, Hold::Write, move |e| {
        clicks::add_click(&*e.conn()?, &id, &asin)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(click)))
}

#[utoipa::path(delete, path = "/users/{id}/clicks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody)))]
pub async fn clear_clicks(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = UserId::parse(&id)?;
    work(&s, Hold::Write, move |e| {
        let c = e.conn()?;
        clicks::get_user(&c, &id)?;
        clicks::clear_clicks(&c, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/users/{id}/clicks/{click_id}", params(("id" = String, Path), ("click_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody)))]
pub async fn delete_click(
    State(s): State<AppState>,
    Path((id, click)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = UserId::parse(&id)?;
    let click: i64 = click
        .parse()
        .map_err(|_| ApiError::param("click_id", format!("{click:?} is not an integer")))?;
    work(&s, Hold::Write, move |e| {
        let c = e.conn()?;
        clicks::get_user(&c, &id)?;
        clicks::delete_click(&c, &id, click)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recall parameters from the query string, read by `common`'s one parser of their text form.
pub struct RecallQuery(pub RecallParams);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RecallQuery {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::param("query", e.body_text()))?;
        // An unknown key is named as the field at fault.
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| !RecallParams::KEYS.contains(&k.as_str()))
        {
            return Err(ApiError::param(
                k,
                format!(
                    "unknown parameter; expected one of {}",
                    RecallParams::KEYS.join(", ")
                ),
            ));
        }
        let params = RecallParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(RecallQuery(params))
    }
}

#[utoipa::path(get, path = "/users/{id}/recall",
    params(("id" = String, Path), ("topn" = Option<usize>, Query), ("nprobe" = Option<usize>, Query),
        ("fusion" = Option<String>, Query, description = "seed | rrf | weighted"), ("aggregate" = Option<String>, Query, description = "max | sum"),
        ("channels" = Option<String>, Query, description = "comma list of channel names (GET /api/channels); default: the channels on by default"),
        ("weights" = Option<String>, Query, description = "channel:weight list, e.g. content:1,cf:0.5; a channel not named keeps its default weight"), ("recent_clicks" = Option<usize>, Query),
        ("category" = Option<i64>, Query), ("min_price" = Option<f64>, Query), ("max_price" = Option<f64>, Query), ("min_stars" = Option<f64>, Query)),
    responses((status = 200, description = "The recall. JSON, or with `Accept: application/vnd.recall-lab.v2+bincode` the same answer in bincode (what the app asks for)", content((RecallResponse = "application/json"), (BincodeRecall = "application/vnd.recall-lab.v2+bincode"))), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn recall_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RecallQuery(params): RecallQuery,
    headers: HeaderMap,
) -> Result<Encoded, ApiError> {
    let id = UserId::parse(&id)?;
    work_recall(&s, negotiate(&headers), move |e, format, out| {
        e.recall_user_into(&id, &params, format, out)
    })
    .await
}

#[utoipa::path(post, path = "/recall", request_body = RecallRequest,
    responses((status = 200, description = "The recall. JSON, or with `Accept: application/vnd.recall-lab.v2+bincode` the same answer in bincode (what the app asks for)", content((RecallResponse = "application/json"), (BincodeRecall = "application/vnd.recall-lab.v2+bincode"))), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 415, body = ApiErrorBody)))]
pub async fn recall(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<RecallRequest>,
) -> Result<Encoded, ApiError> {
    if body.clicks.len() > 1_000 {
        return Err(ApiError::param("clicks", "at most 1000 clicks"));
    }
    let clicks: Vec<String> = body
        .clicks
        .iter()
        .map(|a| Asin::parse(a).map(Asin::into_string))
        .collect::<crate::Result<_>>()?;
    body.params.validate()?;
    work_recall(&s, negotiate(&headers), move |e, format, out| {
        e.check_known(&clicks)?;
        // The list is oldest first, as clicks happen; the engine wants most recent first.
        let recent: Vec<String> = clicks.into_iter().rev().collect();
        e.recall_into(&recent, None, &body.params, format, out)
    })
    .await
}

#[utoipa::path(get, path = "/eval/report",
    responses((status = 200, body = EvalReport), (status = 404, body = ApiErrorBody)))]
pub async fn eval_report(State(s): State<AppState>) -> ApiResult<EvalReport> {
    let report = work(&s, Hold::Long, |e| crate::eval::load_report(&e.layout)).await?;
    report.map(Json).ok_or(ApiError::NoEvaluation)
}

#[utoipa::path(get, path = "/eval/ann",
    params(AnnQuery),
    responses((status = 200, body = AnnEval), (status = 400, body = ApiErrorBody)))]
pub async fn eval_ann(
    State(s): State<AppState>,
    TypedQuery(p): TypedQuery<AnnQuery>,
) -> ApiResult<AnnEval> {
    let k = p.k.unwrap_or(10);
    let samples = p.samples.unwrap_or(200);
    let nprobes: Option<Vec<usize>> = p
        .nprobe
        .as_deref()
        .map(|l| {
            l.split(',')
                .map(|v| {
                    v.trim().parse::<usize>().map_err(|_| {
                        ApiError::param("nprobe", format!("{v:?} is not a non-negative integer"))
                    })
                })
                .collect()
        })
        .transpose()?;
    if nprobes.as_ref().is_some_and(|v| v.len() > 32) {
        return Err(ApiError::param("nprobe", "at most 32 values"));
    }
    Ok(Json(
        work(&s, Hold::Long, move |e| {
            let sweep = nprobes.unwrap_or_else(|| e.default_sweep());
            e.ann_eval(k, &sweep, samples)
        })
        .await?,
    ))
}

pub(super) fn check_admin(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = s.config.admin_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(ApiError::AdminDisabled);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time comparison: the time taken does not reveal how much of the token matched.
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[utoipa::path(post, path = "/admin/reindex", security(("bearer" = [])),
    responses((status = 202, body = Job), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
pub async fn reindex(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    check_admin(&s, &headers)?;
    let job = s
        .jobs
        .start("queued")
        .ok_or_else(|| ApiError::Conflict("a reindex is already running".into()))?;
    let (engine, jobs, id) = (s.engine.clone(), s.jobs.clone(), job.id);
    let cf = s.config.cf_options();
    tokio::task::spawn_blocking(move || {
        // One OpenMP thread: a background build must not fight the requests being served
        // (OpenMP teams spin-wait at barriers and stall when their threads are descheduled).
        crate::index::set_search_threads(1);
        let progress = super::jobs::JobProgress { jobs: &jobs, id };
        let result = (|| -> crate::Result<String> {
            let report = crate::pipeline::build(
                &engine.layout,
                &crate::pipeline::BuildOptions {
                    cf,
                    // A data dir whose pictures were drawn gets drawings for new products too.
                    draw_images: crate::images::counts(&*engine.conn()?)?.drawn > 0,
                    ..Default::default()
                },
                &progress,
            )?;
            jobs.set_stage(id, "loading", None);
            let next = crate::recall::Loaded::load(&engine.layout, &engine.pool, engine.kernels)?;
            engine.swap(next);
            // The pipeline wrote the new build's CF model: read it now rather than answering
            // without CF until the next refresh.
            engine.reload_cf();
            Ok(format!(
                "embedded {} new or changed titles, index {} rebuilt in {:.1}s; now serving generation {}",
                report.embed.embedded,
                report.index.factory,
                report.index.seconds,
                engine.generation()
            ))
        })();
        if let Err(e) = &result {
            tracing::error!(job = id, error = %e, "reindex failed");
        }
        jobs.finish(id, result.map_err(|e| e.to_string()));
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[utoipa::path(get, path = "/admin/jobs/{id}", params(("id" = u64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Job> {
    check_admin(&s, &headers)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::param("id", format!("{id:?} is not a job id")))?;
    s.jobs.get(id).map(Json).ok_or(ApiError::UnknownJob(id))
}
