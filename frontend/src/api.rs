//! The HTTP client: calls to the same-origin `/api` (JSON, and bincode for recall answers), with
//! the server's error body on failure, and query-string helpers shared by the views. A page
//! opened on another catalog (`catalog=` in its URL) sends its calls to `/c/{name}/api`.

use common::wire::{self, RECALL_BINCODE};
use common::{ApiErrorBody, RecallParams, RecallRequest, RecallResponse};
use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::fmt;

thread_local! {
    static CATALOG: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The catalog this page works on; `None`: the server's default one.
pub fn catalog() -> Option<String> {
    CATALOG.with(|c| c.borrow().clone())
}

/// Sets the page's catalog, once, from its URL.
pub fn set_catalog(name: Option<String>) {
    CATALOG.with(|c| *c.borrow_mut() = name.filter(|n| !n.is_empty() && n != "default"));
}

/// `path` (`/api/...`) for the catalog `name` (`None`: the page's).
pub fn url_in(name: Option<&str>, path: &str) -> String {
    match name {
        Some("default") => path.to_owned(),
        Some(n) => format!("/c/{n}{path}"),
        None => url(path),
    }
}

/// `path` (`/api/...`) for the page's catalog. The catalogs registry and its build jobs are the
/// server's own, whatever catalog a page shows.
pub fn url(path: &str) -> String {
    let server_wide = path.starts_with("/api/catalogs") || path.starts_with("/api/admin/jobs");
    match catalog() {
        Some(name) if !server_wide && path.starts_with("/api/") => format!("/c/{name}{path}"),
        _ => path.to_owned(),
    }
}

/// A failed call: the server's error body, or one made up here for failures that have none.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    fn local(code: &str, message: impl fmt::Display) -> ApiError {
        ApiError {
            code: code.to_owned(),
            message: message.to_string(),
            field: None,
        }
    }

    fn network(e: impl fmt::Display) -> ApiError {
        ApiError::local("network", format!("network error: {e}"))
    }

    fn unexpected(e: impl fmt::Display) -> ApiError {
        ApiError::local("unexpected_answer", format!("unexpected answer: {e}"))
    }
}

impl From<ApiErrorBody> for ApiError {
    fn from(b: ApiErrorBody) -> ApiError {
        ApiError {
            code: b.code,
            message: b.message,
            field: b.field,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({}, field {field})", self.message, self.code),
            None => write!(f, "{} ({})", self.message, self.code),
        }
    }
}

impl std::error::Error for ApiError {}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    if resp.ok() {
        resp.json::<T>().await.map_err(ApiError::unexpected)
    } else {
        let status = resp.status();
        match resp.json::<ApiErrorBody>().await {
            Ok(b) => Err(b.into()),
            Err(_) => Err(ApiError::local(
                "http",
                format!("the server answered HTTP {status}"),
            )),
        }
    }
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    decode(
        Request::get(&self::url(url))
            .send()
            .await
            .map_err(ApiError::network)?,
    )
    .await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    let req = Request::post(&self::url(url))
        .json(body)
        .map_err(ApiError::unexpected)?;
    decode(req.send().await.map_err(ApiError::network)?).await
}

pub async fn put<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    let req = Request::put(&self::url(url))
        .json(body)
        .map_err(ApiError::unexpected)?;
    decode(req.send().await.map_err(ApiError::network)?).await
}

/// `POST /api/recall`, asking for the binary answer: smaller than its JSON and decoded
/// without parsing text. A server that answers JSON instead (an older one) is read as JSON.
pub async fn recall(body: &RecallRequest) -> Result<RecallResponse, ApiError> {
    recall_in(None, body).await
}

/// [`recall`] against the catalog `name` (`None`: the page's), for a comparison across builds.
pub async fn recall_in(
    name: Option<&str>,
    body: &RecallRequest,
) -> Result<RecallResponse, ApiError> {
    let resp = Request::post(&url_in(name, "/api/recall"))
        .header(
            "Accept",
            &format!("{RECALL_BINCODE}, application/json;q=0.5"),
        )
        .json(body)
        .map_err(ApiError::unexpected)?
        .send()
        .await
        .map_err(ApiError::network)?;
    let binary = resp
        .headers()
        .get("content-type")
        .is_some_and(|t| t.starts_with(RECALL_BINCODE));
    if !(resp.ok() && binary) {
        return decode(resp).await;
    }
    let bytes = resp.binary().await.map_err(ApiError::network)?;
    wire::decode_recall(&bytes).map_err(ApiError::unexpected)
}

pub async fn delete(url: &str) -> Result<(), ApiError> {
    let resp = Request::delete(&self::url(url))
        .send()
        .await
        .map_err(ApiError::network)?;
    if resp.ok() {
        Ok(())
    } else {
        decode::<serde_json::Value>(resp).await.map(|_| ())
    }
}

/// A call to an admin endpoint: `Authorization: Bearer {token}`, an optional body (a file is
/// sent as it is), JSON back.
pub async fn admin<T: DeserializeOwned>(
    method: &str,
    path: &str,
    token: &str,
    body: Option<AdminBody<'_>>,
) -> Result<T, ApiError> {
    let auth = format!("Bearer {token}");
    let req = match method {
        "GET" => Request::get(&url(path)),
        "PUT" => Request::put(&url(path)),
        _ => Request::post(&url(path)),
    }
    .header("Authorization", &auth);
    let req = match body {
        Some(AdminBody::Json(v)) => req.json(v).map_err(ApiError::unexpected)?,
        Some(AdminBody::File(f)) => req
            .header("content-type", "text/csv")
            .body(wasm_bindgen::JsValue::from(f.clone()))
            .map_err(ApiError::unexpected)?,
        None => req.build().map_err(ApiError::unexpected)?,
    };
    decode(req.send().await.map_err(ApiError::network)?).await
}

/// What an admin call sends.
pub enum AdminBody<'a> {
    Json(&'a serde_json::Value),
    File(&'a web_sys::File),
}

/// URI-encodes a query value.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// The recall parameters as a query string (without `?`), for the API and the page URL.
pub fn params_query(p: &RecallParams) -> String {
    p.to_pairs()
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads recall parameters back from `key=value` pairs; unknown or bad values keep defaults.
pub fn params_from_pairs(pairs: &[(String, String)]) -> RecallParams {
    RecallParams::from_pairs_lenient(
        pairs
            .iter()
            .filter(|(k, _)| RecallParams::KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// Splits `a=1&b=2` into decoded pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = js_sys::decode_uri_component(v)
                .map(String::from)
                .unwrap_or_else(|_| v.to_owned());
            (k.to_owned(), v)
        })
        .collect()
}
