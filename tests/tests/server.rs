//! The HTTP API in-process (`app(state)` driven with `oneshot`): recall for a user with 5
//! clicks, the binary (bincode) recall answer the app asks for, clicks surviving a restart, the
//! stored-vs-posted recall, and text search refused with `model_mismatch` on a build embedded
//! with another model.

#[path = "support/http.rs"]
mod http;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::wire;
use http::{call, config, json_body};
use recall_lab::server::{AppState, app};
use recall_lab_tests::{asins, catalog_copy};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The status, content type, cache header and body of a request.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search_on_an_index_of_another_model_says_so_and_recall_still_works() {
    // The build's manifest now says its vectors came from another model: one this machine has
    // no folder for, or the default's name with another file (as after its recipe changed).
    // Text queries cannot be embedded comparably in either case.
    for (name, sha) in [
        ("older-model", "0".repeat(64)),
        (recall_lab::embed::DEFAULT_MODEL, "1".repeat(64)),
    ] {
        let tmp = catalog_copy();
        let path = tmp.path().join("manifest.json");
        let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for part in ["embeddings", "index"] {
            manifest[part]["model"] = json!({ "name": name, "sha256": sha });
        }
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        let router = app(AppState::open(config(tmp.path())).unwrap());

        let (s, body) = call(&router, "GET", "/api/search?q=suitcase", None, None).await;
        assert_eq!(s, StatusCode::CONFLICT, "{name}: {body}");
        assert_eq!(body["code"], "model_mismatch");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(name) && message.contains("recall-lab build"),
            "{message}"
        );
        assert!(
            !message.contains(&tmp.path().display().to_string()),
            "no server paths in the answer: {message}"
        );
        recall_still_works(&router, tmp.path()).await;
    }
}

async fn recall_still_works(router: &axum::Router, dir: &std::path::Path) {
    // Recall does not embed text: it keeps working on the same build.
    let clicks = asins(dir, 3);
    let (s, recall) = call(
        router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": { "topn": 20 } })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{recall}");
    assert_eq!(recall["items"].as_array().unwrap().len(), 20);
}
