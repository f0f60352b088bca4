//! `recall-lab images fetch` against a local HTTP server serving fixture images and failures
//! (404, slow, oversized, not an image, corrupt, a 503 that passes on retry), then the cache
//! served at `/api/images/{asin}`, and the app showing the cached pictures in Chromium while the
//! original host is unreachable.

#[path = "support/http.rs"]
#[allow(dead_code)] // the shared helpers; this test uses a few
mod http;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http::{call, config};
use recall_lab::server::{AppState, app};
use recall_lab_tests::{binary, catalog_copy, root, walk_on};
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// Requests the fixture server has answered, by path.
type Hits = Arc<Mutex<HashMap<String, usize>>>;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/images").join(name)).expect("fixture image")
}

async fn serve_fixture(State(hits): State<Hits>, Path(name): Path<String>) -> Response {
    let n = {
        let mut h = hits.lock().unwrap();
        let n = h.entry(name.clone()).or_default();
        *n += 1;
        *n
    };
    let with = |ct: &'static str, body: Vec<u8>| {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response()
    };
    match name.as_str() {
        "good.jpg" => with("image/jpeg", fixture("good.jpg")),
        "good.png" => with("image/png", fixture("good.png")),
        "corrupt.jpg" => with("image/jpeg", fixture("corrupt.jpg")),
        "page.html" => with("text/html; charset=utf-8", fixture("page.html")),
        // Larger than the run's --max-bytes.
        "huge.jpg" => with("image/jpeg", vec![0xff; 1_500_000]),
        "slow.jpg" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            with("image/jpeg", fixture("good.jpg"))
        }
        // Fails once, then answers: a retry gets it.
        "flaky.png" if n == 1 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "flaky.png" => with("image/png", fixture("good.png")),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The fixture server on 127.0.0.2 (another host than the app's 127.0.0.1, so the browser can
/// be cut off from it alone).
async fn start_fixture_server() -> (String, Hits, tokio::task::JoinHandle<()>) {
    let hits: Hits = Default::default();
    let router = axum::Router::new()
        .route("/img/{name}", axum::routing::get(serve_fixture))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("binding 127.0.0.2 (loopback)");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (base, hits, task)
}

/// The fixture each test product's imgUrl points at, and the failure kind expected (`None`:
/// cached).
const CASES: &[(&str, Option<&str>)] = &[
    ("good.jpg", None),
    ("good.png", None),
    ("flaky.png", None),
    ("missing.jpg", Some("not_found")),
    ("slow.jpg", Some("timeout")),
    ("huge.jpg", Some("too_large")),
    ("page.html", Some("not_an_image")),
    ("corrupt.jpg", Some("bad_image")),
];

fn fetch(dir: &std::path::Path) -> Value {
    let out = Command::new(binary())
        .args(["images", "fetch", "--json", "--concurrency", "4"])
        .args([
            "--timeout-secs",
            "0.8",
            "--retries",
            "1",
            "--max-bytes",
            "1000000",
        ])
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("recall-lab runs");
    assert!(
        out.status.success(),
        "images fetch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the fetch report as JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_fetch_caches_good_images_reports_failures_and_the_app_shows_them_offline() {
    let tmp = catalog_copy();
    let (base, hits, fixture_server) = start_fixture_server().await;

    // The first products of the catalog's first page point at the fixture server; the rest
    // have no picture to fetch (the sample's CDN is not reachable from here).
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (s, page) = call(&router, "GET", "/api/products?per_page=8", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let first: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["asin"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first.len(), CASES.len());
    {
        let c = rusqlite::Connection::open(tmp.path().join("recommend.db")).unwrap();
        c.execute("UPDATE amazon_products SET imgUrl = ''", [])
            .unwrap();
        for (asin, (name, _)) in first.iter().zip(CASES) {
            c.execute(
                "UPDATE amazon_products SET imgUrl = ?1 WHERE asin = ?2",
                [format!("{base}/img/{name}"), asin.clone()],
            )
            .unwrap();
        }
    }

    let dir = tmp.path().to_owned();
    let report = tokio::task::spawn_blocking(move || fetch(&dir))
        .await
        .unwrap();
    assert_eq!(report["with_url"], 8);
    assert_eq!(report["fetched"], 3, "{report:#}");
    let failures: HashMap<String, String> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["asin"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (asin, (name, expected)) in first.iter().zip(CASES) {
        assert_eq!(
            failures.get(asin).map(String::as_str),
            *expected,
            "{name} ({asin})"
        );
    }
    let csv = std::fs::read_to_string(tmp.path().join("images/failures.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}");
    assert!(csv.contains(&format!("{},not_found", first[3])), "{csv}");
    // The 503 was retried; the 404 was not.
    assert_eq!(hits.lock().unwrap()["flaky.png"], 2);
    assert_eq!(hits.lock().unwrap()["missing.jpg"], 1);

    // A re-run asks the server for nothing.
    let before: usize = hits.lock().unwrap().values().sum();
    let dir = tmp.path().to_owned();
    let again = tokio::task::spawn_blocking(move || fetch(&dir))
        .await
        .unwrap();
    assert_eq!(again["fetched"], 0);
    assert_eq!(again["already_cached"], 3);
    assert_eq!(again["earlier_failures"], 5);
    assert_eq!(hits.lock().unwrap().values().sum::<usize>(), before);

    // The cache over HTTP: a thumbnail, cache headers, conditional requests.
    let get = |uri: String, since: Option<String>| {
        let mut req = Request::get(uri);
        if let Some(s) = since {
            req = req.header(header::IF_MODIFIED_SINCE, s);
        }
        router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let resp = get(format!("/api/images/{}", first[0]), None)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "image/jpeg");
    assert!(
        h[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let modified = h[header::LAST_MODIFIED].to_str().unwrap().to_owned();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..3], &[0xff, 0xd8, 0xff], "a JPEG");
    let again = get(format!("/api/images/{}", first[0]), Some(modified))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let (s, e) = call(
        &router,
        "GET",
        &format!("/api/images/{}", first[3]),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_image"))
    );
    let (_, stats) = call(&router, "GET", "/api/stats", None, None).await;
    assert_eq!(stats["images"]["cached"], 3);
    assert_eq!(stats["images"]["failed"], 5);

    // The app with the original host gone (stopped, and blocked in the browser): the cached
    // pictures show, the others fall back to the placeholder, none is a broken image.
    fixture_server.abort();
    drop(router);
    let dir = tmp.path().to_owned();
    let first2 = first.clone();
    tokio::task::spawn_blocking(move || browse_offline(&dir, &first2[..3], &first2[3..]))
        .await
        .unwrap();
}

/// Serves `dir` and runs `tests/browser/images.mjs` against it.
fn browse_offline(dir: &std::path::Path, cached: &[String], failed: &[String]) {
    walk_on(dir, "images.mjs", &[&cached.join(","), &failed.join(",")]);
}
