//! The review workbench's `/api` handlers: scenarios, judgments, expectation checks, export
//! and import, the explanation of one item's place in a recall, and a list's beyond-accuracy
//! summary. Thin glue over `review`
//! and `Engine::explain`.

use super::AppState;
use super::api::{ApiResult, Hold, Json, work};
use super::error::ApiError;
use super::query::{ReviewerQuery, TypedQuery};
use crate::ids::Asin;
use crate::review;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::*;

/// The asins a scenario names must exist: its clicks, its expected items.
fn scenario_asins(body: &ScenarioBody) -> Vec<String> {
    let mut asins = body.clicks.clone();
    for e in &body.expectations {
        if let Expectation::InTopK { asin, .. } = e {
            asins.push(asin.clone());
        }
    }
    asins
}

#[utoipa::path(get, path = "/scenarios", responses((status = 200, body = [Scenario])))]
pub async fn scenarios(State(s): State<AppState>) -> ApiResult<Vec<Scenario>> {
    Ok(Json(
        work(&s, Hold::Long, |e| review::list(&*e.conn()?)).await?,
    ))
}

#[utoipa::path(post, path = "/scenarios", request_body = ScenarioBody,
    responses((status = 201, body = Scenario), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn create_scenario(
    State(s): State<AppState>,
    Json(body): Json<ScenarioBody>,
) -> Result<(StatusCode, Json<Scenario>), ApiError> {
    review::validate(&body)?;
    let created = work(&s, Hold::Write, move |e| {
        e.check_known(&scenario_asins(&body))?;
        review::create(&*e.conn()?, body)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/scenarios/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Scenario), (status = 404, body = ApiErrorBody)))]
pub async fn scenario(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Scenario> {
    Ok(Json(
        work(&s, Hold::Long, move |e| review::get(&*e.conn()?, &id)).await?,
    ))
}

#[utoipa::path(put, path = "/scenarios/{id}", params(("id" = String, Path)), request_body = ScenarioBody,
    responses((status = 200, body = Scenario), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn update_scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<ScenarioBody>,
) -> ApiResult<Scenario> {
    review::validate(&body)?;
    Ok(Json(
        work(&s, Hold::Write, move |e| {
            e.check_known(&scenario_asins(&body))?;
            review::update(&*e.conn()?, &id, body)
        })
        .await?,
    ))
}

#[utoipa::path(delete, path = "/scenarios/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody)))]
pub async fn delete_scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    work(&s, Hold::Write, move |e| {
        review::delete(&mut *e.conn()?, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/scenarios/{id}/judgments", params(("id" = String, Path)),
    responses((status = 200, body = [Judgment]), (status = 404, body = ApiErrorBody)))]
pub async fn judgments(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<Judgment>> {
    Ok(Json(
        work(&s, Hold::Long, move |e| review::judgments(&*e.conn()?, &id)).await?,
    ))
}

#[utoipa::path(put, path = "/scenarios/{id}/judgments/{asin}", params(("id" = String, Path), ("asin" = String, Path)),
    request_body = NewJudgment,
    responses((status = 200, body = Judgment), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn judge(
    State(s): State<AppState>,
    Path((id, asin)): Path<(String, String)>,
    Json(body): Json<NewJudgment>,
) -> ApiResult<Judgment> {
    let asin = Asin::parse(&asin)?.into_string();
    Ok(Json(
        work(&s, Hold::Write, move |e| {
            e.check_known(std::slice::from_ref(&asin))?;
            review::judge(&*e.conn()?, &id, &asin, &body)
        })
        .await?,
    ))
}

#[utoipa::path(delete, path = "/scenarios/{id}/judgments/{asin}", params(("id" = String, Path), ("asin" = String, Path), ReviewerQuery),
    responses((status = 204), (status = 404, body = ApiErrorBody)))]
pub async fn unjudge(
    State(s): State<AppState>,
    Path((id, asin)): Path<(String, String)>,
    TypedQuery(q): TypedQuery<ReviewerQuery>,
) -> Result<StatusCode, ApiError> {
    work(&s, Hold::Write, move |e| {
        review::unjudge(&*e.conn()?, &id, &asin, &q.reviewer)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/scenarios/{id}/check", params(("id" = String, Path)),
    responses((status = 200, body = ScenarioCheck), (status = 404, body = ApiErrorBody)))]
pub async fn check_scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ScenarioCheck> {
    Ok(Json(
        work(&s, Hold::Brief, move |e| {
            let (scenario, judged) = {
                let c = e.conn()?;
                (review::get(&c, &id)?, review::judgments(&c, &id)?)
            };
            review::check(e, &scenario, &judged)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/scenarios/export",
    responses((status = 200, body = ScenarioExport)))]
pub async fn export_scenarios(State(s): State<AppState>) -> ApiResult<ScenarioExport> {
    Ok(Json(
        work(&s, Hold::Long, |e| review::export(&*e.conn()?, None)).await?,
    ))
}

#[utoipa::path(post, path = "/scenarios/import", request_body = ScenarioExport,
    responses((status = 200, body = ImportSummary), (status = 400, body = ApiErrorBody)))]
pub async fn import_scenarios(
    State(s): State<AppState>,
    Json(body): Json<ScenarioExport>,
) -> ApiResult<ImportSummary> {
    Ok(Json(
        work(&s, Hold::Write, move |e| {
            review::import(&mut *e.conn()?, &body)
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/recall/explain", request_body = ExplainRequest,
    responses((status = 200, body = Explanation), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn explain(
    State(s): State<AppState>,
    Json(body): Json<ExplainRequest>,
) -> ApiResult<Explanation> {
    if body.clicks.len() > 1_000 {
        return Err(ApiError::param("clicks", "at most 1000 clicks"));
    }
    let clicks: Vec<String> = body
        .clicks
        .iter()
        .map(|a| Asin::parse(a).map(Asin::into_string))
        .collect::<crate::Result<_>>()?;
    let asin = Asin::parse(&body.asin)?.into_string();
    body.params.validate()?;
    Ok(Json(
        work(&s, Hold::Brief, move |e| {
            e.check_known(&clicks)?;
            let recent: Vec<String> = clicks.into_iter().rev().collect();
            e.explain(&recent, &body.params, &asin)
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/recall/summary", request_body = SummaryRequest,
    responses((status = 200, body = RecallSummary), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn summary(
    State(s): State<AppState>,
    Json(body): Json<SummaryRequest>,
) -> ApiResult<RecallSummary> {
    if body.clicks.len() > 1_000 || body.asins.len() > common::MAX_TOPN {
        return Err(ApiError::param(
            "asins",
            format!("at most 1000 clicks and {} asins", common::MAX_TOPN),
        ));
    }
    let k = body.k.unwrap_or(50);
    Ok(Json(
        work(&s, Hold::Brief, move |e| {
            e.summarise(&body.clicks, &body.asins, k)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/scenarios/report",
    responses((status = 200, description = "The review report: one self-contained HTML file over every scenario", content_type = "text/html")))]
pub async fn report(State(s): State<AppState>) -> Result<axum::response::Response, ApiError> {
    let html = work(&s, Hold::Long, |e| {
        let (scenarios, judged) = review::with_judgments(&*e.conn()?)?;
        review::report(e, &scenarios, &judged)
    })
    .await?;
    Ok(download(
        html,
        "text/html; charset=utf-8",
        "recall-lab-review.html",
    ))
}

#[utoipa::path(get, path = "/scenarios/judgments.csv",
    responses((status = 200, description = "Every judgment as CSV", content_type = "text/csv")))]
pub async fn judgments_csv(
    State(s): State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    let csv = work(&s, Hold::Long, |e| {
        let (scenarios, judged) = review::with_judgments(&*e.conn()?)?;
        Ok(review::judgments_csv(&scenarios, &judged))
    })
    .await?;
    Ok(download(
        csv,
        "text/csv; charset=utf-8",
        "recall-lab-judgments.csv",
    ))
}

/// A body the browser saves as `name`.
fn download(body: String, content_type: &'static str, name: &str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
