//! Helpers of the in-process HTTP tests: a server configuration over a data dir, and requests
//! sent to `app(state)` with `oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use recall_lab::server::config::ServeConfig;
use serde_json::Value;
use tower::ServiceExt;

pub fn config(dir: &std::path::Path) -> ServeConfig {
    ServeConfig {
        data_dir: dir.to_owned(),
        dist_dir: dir.join("no-dist"),
        ..ServeConfig::default()
    }
}

pub async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<(&str, Vec<u8>)>,
    auth: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = auth {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = match body {
        Some((ct, bytes)) => req
            .header("content-type", ct)
            .body(Body::from(bytes))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn json_body(v: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", serde_json::to_vec(&v).unwrap()))
}
