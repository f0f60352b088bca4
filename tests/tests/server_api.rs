//! The HTTP API's edges in-process (`app(state)` driven with `oneshot`): a table of bad
//! requests with their status and code, the OpenAPI document, the catalog, stats, evaluation
//! and the app fallback, and catalog counts that follow an import.

#[path = "support/http.rs"]
mod http;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http::{call, config, json_body};
use recall_lab::server::config::ServeConfig;
use recall_lab::server::{AppState, app};
use recall_lab_tests::{asins, catalog_copy};
use serde_json::{Value, json};
use tower::ServiceExt;

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
        // Typed query strings name the parameter at fault, unknown ones included.
        ("GET", "/api/products?min_price=abc".into(), None, None, 400, "invalid_parameter", Some("min_price")),
        ("GET", "/api/products?colour=red".into(), None, None, 400, "invalid_parameter", Some("colour")),
        ("GET", "/api/products?bestseller=maybe".into(), None, None, 400, "invalid_parameter", Some("bestseller")),
        ("GET", "/api/search?q=mug&k=abc".into(), None, None, 400, "invalid_parameter", Some("k")),
        ("GET", format!("/api/products/{a}/similar?nprobe=-1"), None, None, 400, "invalid_parameter", Some("nprobe")),
        ("GET", "/api/eval/ann?samples=x".into(), None, None, 400, "invalid_parameter", Some("samples")),
        ("GET", "/api/users/bad%20id/clicks".into(), None, None, 400, "invalid_parameter", Some("user")),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": [".to_vec())), None, 400, "malformed_json", None),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": \"A\"}".to_vec())), None, 400, "invalid_body", None),
        ("POST", "/api/recall".into(), Some(("application/json", b"{\"clicks\": [], \"params\": {\"fusion\": \"x\"}}".to_vec())), None, 400, "invalid_body", None),
        ("POST", "/api/recall".into(), Some(("text/plain", b"{\"clicks\": []}".to_vec())), None, 415, "unsupported_media_type", None),
        ("POST", "/api/recall".into(), Some(("application/json", big.into_bytes())), None, 413, "payload_too_large", None),
        ("POST", "/api/recall".into(), json_body(json!({ "clicks": ["NOSUCHASIN"] })), None, 404, "unknown_product", None),
        ("POST", "/api/recall".into(), json_body(json!({ "clicks": [a], "params": { "topn": 0 } })), None, 400, "invalid_parameter", Some("topn")),
        // One validation for the GET and POST forms: a negative or overflowing weight.
        ("POST", "/api/recall".into(), json_body(json!({ "clicks": [a], "params": { "weights": { "content": -1 } } })), None, 400, "invalid_parameter", Some("weights")),
        ("POST", "/api/recall".into(), Some(("application/json", format!("{{\"clicks\": [\"{a}\"], \"params\": {{\"weights\": {{\"content\": 1e39}}}}}}").into_bytes())), None, 400, "invalid_parameter", Some("weights")),
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
        // A message a person can act on: never "larger than 0 bytes".
        assert!(
            !v["message"].as_str().unwrap_or("").contains(" 0 bytes"),
            "{method} {uri}: {v}"
        );
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
        ("/api/channels", "get"),
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
        ("/api/eval/report", "get"),
        ("/api/recall/explain", "post"),
        ("/api/recall/summary", "post"),
        ("/api/scenarios", "get"),
        ("/api/scenarios", "post"),
        ("/api/scenarios/{id}", "get"),
        ("/api/scenarios/{id}", "put"),
        ("/api/scenarios/{id}", "delete"),
        ("/api/scenarios/{id}/judgments", "get"),
        ("/api/scenarios/{id}/judgments/{asin}", "put"),
        ("/api/scenarios/{id}/judgments/{asin}", "delete"),
        ("/api/scenarios/{id}/check", "get"),
        ("/api/scenarios/export", "get"),
        ("/api/scenarios/import", "post"),
        ("/api/scenarios/report", "get"),
        ("/api/scenarios/judgments.csv", "get"),
        ("/api/admin/reindex", "post"),
        ("/api/admin/jobs/{id}", "get"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    // The spec and the router are one list: every documented operation is routed (it answers
    // something other than an unknown route or method).
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let uri = path
                .replace("{asin}", &asins(tmp.path(), 1)[0])
                .replace("{click_id}", "1")
                .replace(['{', '}'], "");
            let (s, v) = call(&router, &method.to_uppercase(), &uri, None, None).await;
            // A 404 from a handler names what is missing (`unknown_*`, `no_evaluation`); the
            // router's own 404 is `route_not_found`.
            assert!(
                !matches!(
                    v["code"].as_str(),
                    Some("route_not_found" | "method_not_allowed")
                ) && (s != StatusCode::NOT_FOUND || v["code"].is_string()),
                "{method} {path} ({uri}) is routed: {s} {v}"
            );
        }
    }
    assert!(operations >= expected.len(), "{operations} operations");
    // The listing's filters are optional query parameters, not required path ones.
    let params = doc["paths"]["/api/products"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert_eq!(params.len(), 9, "{params:?}");
    for p in params {
        assert_eq!(p["in"], "query", "{p}");
        assert_ne!(p["required"], true, "{p}");
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
    // A path segment longer than any file name is an unknown page too, not a 500.
    let long = format!("/{}", "a".repeat(300));
    let resp = router
        .clone()
        .oneshot(Request::get(long.as_str()).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
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
