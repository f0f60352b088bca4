//! The HTTP API in-process (`app(state)` driven with `oneshot`): recall for a user with 5 clicks,
//! the binary (bincode) recall answer the app asks for, clicks surviving a restart, a table of bad requests with their status and code, the OpenAPI
//! document, the stored-vs-posted recall, the app fallback, catalog counts that follow an import, and text search
//! refused with `model_mismatch` on a build embedded with another model.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::wire;
use recall_lab::server::config::ServeConfig;
use recall_lab::server::{AppState, app};
use recall_lab_tests::{asins, catalog_copy};
use serde_json::{Value, json};
use tower::ServiceExt;

fn config(dir: &std::path::Path) -> ServeConfig {
    ServeConfig {
        data_dir: dir.to_owned(),
        dist_dir: dir.join("no-dist"),
        ..ServeConfig::default()
    }
}

async fn call(
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

fn json_body(v: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", serde_json::to_vec(&v).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_after_five_posted_clicks_has_500_items_with_provenance_and_timings() {
    let tmp = catalog_copy();
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let all = asins(tmp.path(), 3_000);
    let clicked: Vec<String> = [3, 700, 1400, 2100, 2800]
        .iter()
        .map(|&i| all[i].clone())
        .collect();
    for a in &clicked {
        let (s, v) = call(
            &router,
            "POST",
            "/api/users/u1/clicks",
            json_body(json!({ "asin": a })),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["asin"], json!(a));
    }
    let (s, r) = call(&router, "GET", "/api/users/u1/recall?topn=500", None, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 500);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["rank"], json!(i + 1));
        assert!(
            item["channels"].as_object().is_some_and(|c| !c.is_empty()),
            "provenance on {item}"
        );
        assert!(
            item["product"]["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert!(!clicked.contains(&item["product"]["asin"].as_str().unwrap().to_owned()));
    }
    for t in ["content", "cf"] {
        assert!(
            r["timings"]["channels_ms"][t].as_f64().is_some(),
            "timing {t}"
        );
    }
    for t in ["enrich_ms", "total_ms"] {
        assert!(r["timings"][t].as_f64().is_some(), "timing {t}");
    }
    assert!(r["timings"]["total_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(r["params"]["topn"], 500);
    assert!(r["counts"]["content"]["returned"].as_u64().unwrap() > 0);

    // The same click list posted (oldest first) gives the same recall.
    let (s, posted) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicked, "params": { "topn": 500 } })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ids = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["product"]["asin"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&posted), ids(&r));

    // Fusion and aggregation change what comes back, and say so in the used parameters.
    let (_, seed) = call(
        &router,
        "GET",
        "/api/users/u1/recall?topn=50&fusion=seed&aggregate=sum&nprobe=8",
        None,
        None,
    )
    .await;
    assert_eq!(
        (
            seed["params"]["fusion"].as_str(),
            seed["params"]["aggregate"].as_str(),
            seed["params"]["nprobe"].as_u64()
        ),
        (Some("seed"), Some("sum"), Some(8))
    );
    assert_eq!(seed["items"].as_array().unwrap().len(), 50);
}

/// A raw request: status, content type, `Vary` and body bytes.
async fn raw(router: &axum::Router, req: Request<Body>) -> (StatusCode, String, String, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (status, ct, vary) = (resp.status(), header("content-type"), header("vary"));
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, ct, vary, bytes.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_answers_bincode_to_the_app_and_json_to_everyone_else() {
    let tmp = catalog_copy();
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let all = asins(tmp.path(), 3_000);
    let clicks: Vec<&String> = [5, 900, 1800].iter().map(|&i| &all[i]).collect();
    let body = serde_json::to_vec(&json!({ "clicks": clicks, "params": { "topn": 300 } })).unwrap();
    let post = |accept: Option<&str>, body: Vec<u8>| {
        let mut req = Request::post("/api/recall").header("content-type", "application/json");
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.body(Body::from(body)).unwrap()
    };

    let (s, ct, vary, json_bytes) = raw(&router, post(None, body.clone())).await;
    assert_eq!(
        (s, ct.as_str(), vary.as_str()),
        (StatusCode::OK, "application/json", "accept")
    );
    let as_json: common::RecallResponse = serde_json::from_slice(&json_bytes).unwrap();

    let app_accept = format!("{}, application/json;q=0.5", wire::RECALL_BINCODE);
    let (s, ct, vary, bin) = raw(&router, post(Some(&app_accept), body.clone())).await;
    assert_eq!(
        (s, ct.as_str(), vary.as_str()),
        (StatusCode::OK, wire::RECALL_BINCODE, "accept")
    );
    let as_bin = wire::decode_recall(&bin).unwrap();
    // The same recall in both forms: every item, score and product field; only timings differ.
    assert_eq!(as_bin.items.len(), 300);
    assert_eq!(as_bin.items, as_json.items);
    assert_eq!(
        (&as_bin.user, &as_bin.clicks, &as_bin.params),
        (&as_json.user, &as_json.clicks, &as_json.params)
    );
    assert_eq!(
        (&as_bin.counts, &as_bin.warnings),
        (&as_json.counts, &as_json.warnings)
    );
    assert!(as_bin.timings.total_ms >= as_bin.timings.enrich_ms && as_bin.timings.enrich_ms > 0.0);
    assert!(
        as_bin
            .items
            .iter()
            .any(|i| i.product.category_name.is_some())
    );
    assert!(
        bin.len() * 10 < json_bytes.len() * 7,
        "binary {} bytes vs JSON {}",
        bin.len(),
        json_bytes.len()
    );

    // With filters (items read in chunks until enough pass) both forms agree too.
    let filtered = serde_json::to_vec(&json!({
        "clicks": clicks, "params": { "topn": 40, "filters": { "min_price": 20.0 } }
    }))
    .unwrap();
    let (_, _, _, fj) = raw(&router, post(None, filtered.clone())).await;
    let (_, _, _, fb) = raw(&router, post(Some(&app_accept), filtered)).await;
    let (fj, fb): (common::RecallResponse, _) = (
        serde_json::from_slice(&fj).unwrap(),
        wire::decode_recall(&fb).unwrap(),
    );
    assert_eq!(fb.items.len(), 40);
    assert!(fb.items.iter().all(|i| i.product.price >= 20.0));
    assert_eq!((fb.items, fb.counts), (fj.items, fj.counts));

    // A stored user's recall negotiates the same way.
    let (s, v) = call(
        &router,
        "POST",
        "/api/users/u-bin/clicks",
        json_body(json!({ "asin": clicks[0] })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let req = Request::get("/api/users/u-bin/recall?topn=20")
        .header("accept", wire::RECALL_BINCODE)
        .body(Body::empty())
        .unwrap();
    let (s, ct, _, user_bin) = raw(&router, req).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, wire::RECALL_BINCODE));
    let user_bin = wire::decode_recall(&user_bin).unwrap();
    let (_, user_json) = call(
        &router,
        "GET",
        "/api/users/u-bin/recall?topn=20",
        None,
        None,
    )
    .await;
    let user_json: common::RecallResponse = serde_json::from_value(user_json).unwrap();
    assert_eq!(user_bin.user.as_deref(), Some("u-bin"));
    assert_eq!(
        (user_bin.items.len(), &user_bin.user, &user_bin.items),
        (20, &user_json.user, &user_json.items)
    );

    // Refusing the binary type (q=0) or asking for anything else gets JSON.
    for accept in [
        &format!("{};q=0", wire::RECALL_BINCODE),
        "*/*",
        "application/octet-stream",
    ] {
        let (s, ct, _, _) = raw(&router, post(Some(accept), body.clone())).await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/json"),
            "{accept}"
        );
    }

    // Errors stay JSON with their code, whatever the client asked for.
    let bad = serde_json::to_vec(&json!({ "clicks": ["B000000000"] })).unwrap();
    let (s, ct, _, err) = raw(&router, post(Some(wire::RECALL_BINCODE), bad)).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::NOT_FOUND, "application/json")
    );
    let err: Value = serde_json::from_slice(&err).unwrap();
    assert_eq!(err["code"], "unknown_product");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_survive_a_restart_and_can_be_edited() {
    let tmp = catalog_copy();
    let all = asins(tmp.path(), 10);
    {
        let router = app(AppState::open(config(tmp.path())).unwrap());
        for a in &all[..3] {
            assert_eq!(
                call(
                    &router,
                    "POST",
                    "/api/users/qa/clicks",
                    json_body(json!({ "asin": a })),
                    None
                )
                .await
                .0,
                StatusCode::CREATED
            );
        }
    }
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (s, list) = call(&router, "GET", "/api/users/qa/clicks", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let got: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["asin"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        all[..3].iter().map(String::as_str).collect::<Vec<_>>(),
        "oldest first, after a restart"
    );
    assert!(
        list[0]["product"]["title"].is_string(),
        "clicks come with their product"
    );
    let first = list[0]["id"].as_i64().unwrap();
    assert_eq!(
        call(
            &router,
            "DELETE",
            &format!("/api/users/qa/clicks/{first}"),
            None,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&router, "GET", "/api/users/qa/clicks", None, None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        call(&router, "DELETE", "/api/users/qa/clicks", None, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&router, "GET", "/api/users/qa/clicks", None, None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (s, u) = call(
        &router,
        "POST",
        "/api/users",
        json_body(json!({ "id": "qa", "name": "QA Anna" })),
        None,
    )
    .await;
    assert_eq!(
        (s, u["name"].as_str()),
        (StatusCode::CREATED, Some("QA Anna"))
    );
    let (_, users) = call(&router, "GET", "/api/users", None, None).await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "qa" && u["name"] == "QA Anna")
    );
}

/// method, uri, body (content type, bytes), bearer token, status, code, field.
type Case<'a> = (
    &'a str,
    String,
    Option<(&'a str, Vec<u8>)>,
    Option<&'a str>,
    u16,
    &'a str,
    Option<&'a str>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_documented_4xx_and_code() {
    let tmp = catalog_copy();
    let a = asins(tmp.path(), 1).remove(0);
    let small = ServeConfig {
        body_limit_bytes: 256,
        admin_token: Some("s3cret".into()),
        ..config(tmp.path())
    };
    let router = app(AppState::open(small).unwrap());
    let no_admin = app(AppState::open(config(tmp.path())).unwrap());
    call(
        &router,
        "POST",
        "/api/users/known/clicks",
        json_body(json!({ "asin": a })),
        None,
    )
    .await;
    let big = format!(
        "{{\"clicks\":[{}],\"params\":{{}}}}",
        vec![format!("\"{a}\""); 40].join(",")
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("GET", "/api/products/NOSUCHASIN".into(), None, None, 404, "unknown_product", None),
        ("GET", "/api/products/NOSUCHASIN/similar".into(), None, None, 404, "unknown_product", None),
        ("GET", "/api/users/nobody/recall".into(), None, None, 404, "unknown_user", None),
        ("GET", "/api/users/nobody/clicks".into(), None, None, 404, "unknown_user", None),
        ("GET", "/api/users/known/recall?topn=0".into(), None, None, 400, "invalid_parameter", Some("topn")),
        ("GET", "/api/users/known/recall?topn=10001".into(), None, None, 400, "invalid_parameter", Some("topn")),
        ("GET", "/api/users/known/recall?topn=abc".into(), None, None, 400, "invalid_parameter", Some("topn")),
        ("GET", "/api/users/known/recall?nprobe=100000".into(), None, None, 400, "invalid_parameter", Some("nprobe")),
        ("GET", "/api/users/known/recall?nprobe=0".into(), None, None, 400, "invalid_parameter", Some("nprobe")),
        ("GET", "/api/users/known/recall?fusion=bogus".into(), None, None, 400, "invalid_parameter", Some("fusion")),
        ("GET", "/api/users/known/recall?aggregate=avg".into(), None, None, 400, "invalid_parameter", Some("aggregate")),
        ("GET", "/api/users/known/recall?channels=content,bogus".into(), None, None, 400, "invalid_parameter", Some("channels")),
        ("GET", "/api/users/known/recall?weights=cf:-1".into(), None, None, 400, "invalid_parameter", Some("weights")),
        ("GET", "/api/users/known/recall?min_price=-1".into(), None, None, 400, "invalid_parameter", Some("min_price")),
        ("GET", "/api/users/known/recall?min_price=50&max_price=10".into(), None, None, 400, "invalid_parameter", Some("max_price")),
        ("GET", "/api/users/known/recall?colour=red".into(), None, None, 400, "invalid_parameter", Some("colour")),
        ("GET", format!("/api/products/{a}/similar?k=0"), None, None, 400, "invalid_parameter", Some("k")),
        ("GET", format!("/api/products/{a}/similar?k=5000"), None, None, 400, "invalid_parameter", Some("k")),
        ("GET", "/api/search?q=".into(), None, None, 400, "invalid_parameter", Some("q")),
        ("GET", "/api/products?per_page=0".into(), None, None, 400, "invalid_parameter", Some("per_page")),
        ("GET", "/api/products?sort=bogus".into(), None, None, 400, "invalid_parameter", Some("sort")),
        ("GET", "/api/users/bad%20id/clicks".into(), None, None, 400, "invalid_parameter", Some("user")),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": [".to_vec())), None, 400, "malformed_json", None),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": \"A\"}".to_vec())), None, 400, "invalid_body", None),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": [], \"params\": {\"fusion\": \"x\"}}".to_vec())), None, 400, "invalid_body", None),
        ("POST", "/api/recall".into(), Some(("text/plain", b"{\"clicks\": []}".to_vec())), None, 415, "unsupported_media_type", None),
        ("POST", "/api/recall".into(), Some(("application/json", big.into_bytes())), None, 413, "payload_too_large", None),
        ("POST", "/api/recall".into(), json_body(json!({ "clicks": ["NOSUCHASIN"] })), None, 404, "unknown_product", None),
        ("POST", "/api/recall".into(), json_body(json!({ "clicks": [a], "params": { "topn": 0 } })), None, 400, "invalid_parameter", Some("topn")),
        ("POST", "/api/users/known/clicks".into(), json_body(json!({ "asin": "NOSUCHASIN" })), None, 404, "unknown_product", None),
        ("DELETE", "/api/users/known/clicks/999999".into(), None, None, 404, "unknown_click", None),
        ("DELETE", "/api/users/known/clicks/abc".into(), None, None, 400, "invalid_parameter", Some("click_id")),
        ("GET", "/api/no/such/route".into(), None, None, 404, "route_not_found", None),
        ("DELETE", "/api/stats".into(), None, None, 405, "method_not_allowed", None),
        ("POST", "/api/admin/reindex".into(), None, None, 401, "unauthorized", None),
        ("POST", "/api/admin/reindex".into(), None, Some("wrong"), 401, "unauthorized", None),
        ("GET", "/api/admin/jobs/77".into(), None, Some("s3cret"), 404, "unknown_job", None),
        ("GET", "/api/eval/ann?samples=0".into(), None, None, 400, "invalid_parameter", Some("samples")),
    ];
    assert!(cases.len() >= 20);
    for (method, uri, body, auth, status, code, field) in cases {
        let (s, v) = call(&router, method, &uri, body, auth).await;
        assert_eq!(s.as_u16(), status, "{method} {uri}: {v}");
        assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(v["code"], json!(code), "{method} {uri}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {uri}: a message"
        );
        if let Some(f) = field {
            assert_eq!(v["field"], json!(f), "{method} {uri}: {v}");
        }
    }
    let (s, v) = call(
        &no_admin,
        "POST",
        "/api/admin/reindex",
        None,
        Some("anything"),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["code"].as_str()),
        (403, Some("admin_disabled")),
        "admin is off without a token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_is_valid_and_lists_every_endpoint() {
    let tmp = catalog_copy();
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (s, doc) = call(&router, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string());
    let expected = [
        ("/api/health", "get"),
        ("/api/stats", "get"),
        ("/api/categories", "get"),
        ("/api/products", "get"),
        ("/api/products/{asin}", "get"),
        ("/api/products/{asin}/similar", "get"),
        ("/api/search", "get"),
        ("/api/users", "get"),
        ("/api/users", "post"),
        ("/api/users/{id}/clicks", "get"),
        ("/api/users/{id}/clicks", "post"),
        ("/api/users/{id}/clicks", "delete"),
        ("/api/users/{id}/clicks/{click_id}", "delete"),
        ("/api/users/{id}/recall", "get"),
        ("/api/recall", "post"),
        ("/api/eval/ann", "get"),
        ("/api/admin/reindex", "post"),
        ("/api/admin/jobs/{id}", "get"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                if k == "$ref" {
                    out.push(v.as_str().unwrap_or("").to_owned())
                } else {
                    refs(v, out)
                }
            }),
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} resolves"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_search_stats_eval_and_the_app_fallback() {
    let tmp = catalog_copy();
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Recall Lab</title>",
    )
    .unwrap();
    let router = app(AppState::open(ServeConfig {
        dist_dir: dist,
        ..config(tmp.path())
    })
    .unwrap());

    let (s, page) = call(
        &router,
        "GET",
        "/api/products?q=suitcase&per_page=5",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| {
        p["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("suitcase")
    }));

    let (s, stats) = call(&router, "GET", "/api/stats", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let n = asins(tmp.path(), usize::MAX).len() as u64;
    assert_eq!(stats["vectors"].as_u64(), Some(n));
    assert!(stats["nlist"].as_u64().unwrap() > 1);

    let (s, eval) = call(
        &router,
        "GET",
        "/api/eval/ann?k=10&nprobe=1,8,64&samples=100",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{eval}");
    let recall: Vec<f64> = eval["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recall"].as_f64().unwrap())
        .collect();
    assert!(
        recall.windows(2).all(|w| w[0] <= w[1]),
        "recall grows with nprobe: {recall:?}"
    );
    assert!(*recall.last().unwrap() >= 0.95);

    let (s, found) = call(
        &router,
        "GET",
        "/api/search?q=rolling%20suitcase%20with%20wheels&k=7",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 7);

    let resp = router
        .clone()
        .oneshot(
            Request::get("/compare/some/client/route")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&html).contains("Recall Lab"),
        "client routes get the app's index page"
    );
}

/// Category counts and listing totals are cached per catalog revision: an import while the
/// server runs (a new product, a renamed category) must show in the next responses, and the
/// cached totals must agree with the rows a listing pages through. A click on the imported
/// product, not yet in the index, is accepted by recall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_listings_and_recall_follow_imports() {
    let tmp = catalog_copy();
    let router = app(AppState::open(config(tmp.path())).unwrap());

    let (s, cats) = call(&router, "GET", "/api/categories", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let cats = cats.as_array().unwrap().clone();
    let names: Vec<&str> = cats.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted by name");
    let (_, all) = call(&router, "GET", "/api/products?per_page=1", None, None).await;
    let sum: i64 = cats.iter().map(|c| c["products"].as_i64().unwrap()).sum();
    assert_eq!(
        all["total"].as_i64(),
        Some(sum),
        "every product is in one category"
    );
    let big = cats
        .iter()
        .max_by_key(|c| c["products"].as_i64().unwrap())
        .unwrap();
    let (id, count) = (
        big["id"].as_i64().unwrap(),
        big["products"].as_i64().unwrap(),
    );

    // The category's listing: its cached total, and pages that walk exactly that many rows.
    let mut seen = 0;
    let mut prices = Vec::new();
    for page in 1.. {
        let (s, p) = call(
            &router,
            "GET",
            &format!("/api/products?category={id}&sort=price_asc&per_page=100&page={page}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["total"].as_i64(), Some(count));
        let items = p["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        assert!(items.iter().all(|i| i["category_id"].as_i64() == Some(id)));
        assert!(items.iter().all(|i| i["category_name"] == big["name"]));
        prices.extend(items.iter().map(|i| i["price"].as_f64().unwrap()));
        seen += items.len() as i64;
    }
    assert_eq!(seen, count);
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "price ascending");

    // An import beside the running server: one new product in that category, and a new name.
    let products = tmp.path().join("one_more.csv");
    std::fs::write(
        &products,
        format!(
            "asin,title,imgUrl,productURL,stars,reviews,price,listPrice,category_id,isBestSeller,boughtInLastMonth\n\
             ZZTEST0001,Fixture Carry-On With Spinner Wheels,https://example.com/i.jpg,https://www.amazon.com/dp/ZZTEST0001,4.9,12,99999.0,0.0,{id},False,0\n"
        ),
    )
    .unwrap();
    let names_csv = tmp.path().join("renamed.csv");
    std::fs::write(
        &names_csv,
        format!("id,category_name\n{id},Renamed By The Test\n"),
    )
    .unwrap();
    let layout = recall_lab::layout::Layout::new(tmp.path());
    let report = recall_lab::catalog::import(
        &layout.db(),
        recall_lab::catalog::Source::Csv(&products),
        Some(&names_csv),
        &tmp.path().join("rejects.txt"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(report.loaded, 1);

    let (_, cats) = call(&router, "GET", "/api/categories", None, None).await;
    let now = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_i64() == Some(id))
        .unwrap()
        .clone();
    assert_eq!(now["products"].as_i64(), Some(count + 1));
    assert_eq!(now["name"], "Renamed By The Test");
    let (_, p) = call(
        &router,
        "GET",
        &format!("/api/products?category={id}&sort=price_desc&per_page=3"),
        None,
        None,
    )
    .await;
    assert_eq!(p["total"].as_i64(), Some(count + 1));
    assert_eq!(p["items"][0]["asin"], "ZZTEST0001", "the dearest now");
    assert_eq!(p["items"][0]["category_name"], "Renamed By The Test");
    let (_, all_now) = call(&router, "GET", "/api/products?per_page=1", None, None).await;
    assert_eq!(all_now["total"].as_i64(), Some(sum + 1));

    // The new product has no vector until a reindex, but it is a product: a click on it is
    // accepted (the content channel skips it and says so); an asin of no product is still a 404.
    let built = asins(tmp.path(), 1).remove(0);
    let (s, r) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": [built, "ZZTEST0001"], "params": { "topn": 50 } })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["items"].as_array().unwrap().len(), 50);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("ZZTEST0001 has no vector"), "{warnings}");
    let (s, e) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": [built, "ZZTEST0002"] })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(e["code"], "unknown_product", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search_on_an_index_of_another_model_says_so_and_recall_still_works() {
    let tmp = catalog_copy();
    // The build's manifest now says its vectors came from another model (as after the default
    // model changed): text queries, embedded with the server's model, cannot be compared.
    let path = tmp.path().join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for part in ["embeddings", "index"] {
        manifest[part]["model"] = json!({ "name": "older-model", "sha256": "0".repeat(64) });
    }
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let router = app(AppState::open(config(tmp.path())).unwrap());

    let (s, body) = call(&router, "GET", "/api/search?q=suitcase", None, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "model_mismatch");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("older-model") && message.contains("recall-lab build"),
        "{message}"
    );
    assert!(
        !message.contains(&tmp.path().display().to_string()),
        "no server paths in the answer: {message}"
    );

    // Recall does not embed text: it keeps working on the same build.
    let clicks = asins(tmp.path(), 3);
    let (s, recall) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": { "topn": 20 } })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{recall}");
    assert_eq!(recall["items"].as_array().unwrap().len(), 20);
}
