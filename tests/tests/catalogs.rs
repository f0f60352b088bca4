//! Bringing your own catalog over the API (`app(state)` with `oneshot`): upload a CSV whose
//! header the import does not know, preview the detected mapping, fix it, build it in the
//! background with each stage reported, then recall on it at `/c/{name}/api` beside the default
//! catalog; and the same CSV built from the command line with `--map`.

#[path = "support/http.rs"]
#[allow(dead_code)] // the shared helpers; this test uses a few
mod http;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http::{call, config, json_body};
use recall_lab::server::{AppState, app};
use recall_lab_tests::{binary, catalog_copy, root};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const TOKEN: &str = "catalog-admin";

fn shop_csv() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/shop_catalog.csv")).expect("fixture")
}

async fn admin(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<(&str, Vec<u8>)>,
) -> (StatusCode, Value) {
    call(router, method, uri, body, Some(TOKEN)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_csv_is_mapped_built_and_served_beside_the_default() {
    let tmp = catalog_copy();
    let mut cfg = config(tmp.path());
    cfg.admin_token = Some(TOKEN.into());
    cfg.cf_refresh_secs = 1;
    let router = app(AppState::open(cfg).unwrap());

    // Upload: admin only.
    let (s, _) = call(
        &router,
        "PUT",
        "/api/catalogs/shop/source",
        Some(("text/csv", shop_csv())),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, p) = admin(
        &router,
        "PUT",
        "/api/catalogs/shop/source",
        Some(("text/csv", shop_csv())),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let column = |p: &Value, field: &str| {
        p["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap()["column"]
            .clone()
    };
    assert_eq!(column(&p, "title"), "Product Title");
    assert_eq!(column(&p, "price"), "Sale Price");
    assert_eq!(
        column(&p, "asin"),
        Value::Null,
        "Item Number is no known spelling of asin"
    );
    assert!(p["problem"].as_str().unwrap().contains("asin"));

    // Fixing the mapping: the preview parses the rows and lists the two bad ones.
    let mapping = json!({ "mapping": [{ "column": "Item Number", "field": "asin" }] });
    let (s, p) = admin(
        &router,
        "POST",
        "/api/catalogs/shop/preview",
        json_body(mapping.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["problem"], Value::Null, "{p}");
    assert_eq!(
        (p["records"].as_u64(), p["rejected"].as_u64()),
        (Some(122), Some(2))
    );
    assert_eq!(p["rows"][0]["asin"], "D1G89YYO6L");
    assert!(
        p["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("negative price")
    );

    // Not served before it is built.
    let (s, e) = call(&router, "GET", "/c/shop/api/stats", None, None).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_catalog"))
    );

    let (s, job) = admin(
        &router,
        "POST",
        "/api/catalogs/shop/build",
        json_body(mapping),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_u64().unwrap();
    let started = Instant::now();
    let mut stages = Vec::new();
    let done = loop {
        let (_, j) = admin(&router, "GET", &format!("/api/admin/jobs/{id}"), None).await;
        let stage = j["stage"].as_str().unwrap().to_owned();
        if stages.last() != Some(&stage) {
            stages.push(stage);
        }
        if j["state"] != "running" {
            break j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the build took too long: {j}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        stages.iter().any(|s| s == "embed"),
        "stages seen: {stages:?}"
    );

    // Listed, and served at /c/shop/api beside the default catalog.
    let (_, list) = call(&router, "GET", "/api/catalogs", None, None).await;
    let shop = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "shop")
        .expect("listed")
        .clone();
    assert_eq!(
        (shop["products"].as_i64(), shop["built"].as_bool()),
        (Some(120), Some(true))
    );
    let (_, stats) = call(&router, "GET", "/c/shop/api/stats", None, None).await;
    assert_eq!(stats["products"], 120);
    assert_eq!(
        stats["images"]["drawn"], 120,
        "every product without a picture got one"
    );
    let (_, default) = call(&router, "GET", "/api/stats", None, None).await;
    assert_ne!(default["products"], 120);

    let body = serde_json::to_vec(
        &json!({ "clicks": ["D1G89YYO6L", "DZHPDV29XJ"], "params": { "topn": 50 } }),
    )
    .unwrap();
    let resp = router
        .clone()
        .oneshot(
            Request::post("/c/shop/api/recall")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert!(
        items
            .iter()
            .all(|i| i["product"]["asin"].as_str().unwrap().starts_with('D'))
    );
    let (s, _) = call(&router, "GET", "/c/shop/api/images/D1G89YYO6L", None, None).await;
    assert_eq!(s, StatusCode::OK);

    // Clicks in the new catalog reach its CF model, as in the default one.
    for (user, asin) in [
        ("u1", "D1G89YYO6L"),
        ("u1", "DZHPDV29XJ"),
        ("u2", "D1G89YYO6L"),
        ("u2", "DZHPDV29XJ"),
    ] {
        let (s, _) = call(
            &router,
            "POST",
            &format!("/c/shop/api/users/{user}/clicks"),
            json_body(json!({ "asin": asin })),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let started = Instant::now();
    loop {
        let (_, stats) = call(&router, "GET", "/c/shop/api/stats", None, None).await;
        if stats["cf"]["clicks"] == 4 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the shop's CF model never took the clicks: {}",
            stats["cf"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A bad name is refused at the edge.
    let (s, e) = admin(
        &router,
        "PUT",
        "/api/catalogs/Bad..Name/source",
        Some(("text/csv", shop_csv())),
    )
    .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name"))
    );
}

/// The same catalog from the command line: `recall-lab build` with the mapping.
#[test]
fn the_cli_builds_the_csv_with_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let csv = root().join("tests/fixtures/shop_catalog.csv");
    let out = std::process::Command::new(binary())
        .arg("build")
        .arg("--csv")
        .arg(&csv)
        .args([
            "--map",
            "Item Number=asin",
            "--draw-images",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["import"]["loaded"], 120);
    assert_eq!(r["import"]["rejected"], 2);
    assert_eq!(r["images"]["drawn"], 120);
    assert!(r["map"]["points"].as_u64() == Some(120));
}
