//! The HTTP client: calls to the same-origin `/api` (JSON, and bincode for recall answers), with
//! the server's error message on failure, and query-string helpers shared by the views.

use common::wire::{self, RECALL_BINCODE};
use common::{ApiErrorBody, RecallParams, RecallRequest, RecallResponse};
use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, String> {
    if resp.ok() {
        resp.json::<T>()
            .await
            .map_err(|e| format!("unexpected answer: {e}"))
    } else {
        let status = resp.status();
        match resp.json::<ApiErrorBody>().await {
            Ok(b) => Err(format!("{} ({})", b.message, b.code)),
            Err(_) => Err(format!("the server answered HTTP {status}")),
        }
    }
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    decode(
        Request::get(url)
            .send()
            .await
            .map_err(|e| format!("network error: {e}"))?,
    )
    .await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, String> {
    let req = Request::post(url).json(body).map_err(|e| e.to_string())?;
    decode(
        req.send()
            .await
            .map_err(|e| format!("network error: {e}"))?,
    )
    .await
}

/// `POST /api/recall`, asking for the binary answer: a third smaller than its JSON and decoded
/// without parsing text. A server that answers JSON instead (an older one) is read as JSON.
pub async fn recall(body: &RecallRequest) -> Result<RecallResponse, String> {
    let resp = Request::post("/api/recall")
        .header(
            "Accept",
            &format!("{RECALL_BINCODE}, application/json;q=0.5"),
        )
        .json(body)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    let binary = resp
        .headers()
        .get("content-type")
        .is_some_and(|t| t.starts_with(RECALL_BINCODE));
    if !(resp.ok() && binary) {
        return decode(resp).await;
    }
    let bytes = resp
        .binary()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    wire::decode_recall(&bytes).map_err(|e| format!("unexpected answer: {e}"))
}

pub async fn delete(url: &str) -> Result<(), String> {
    let resp = Request::delete(url)
        .send()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    if resp.ok() {
        Ok(())
    } else {
        decode::<serde_json::Value>(resp).await.map(|_| ())
    }
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
