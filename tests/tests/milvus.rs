//! The Milvus engine against a real Milvus server (PyPI's standalone 2.3.5, started by this test
//! binary on free ports and stopped with it): the sample built on Milvus answers single-click
//! content recalls like exact inner-product search, a 10-click recall of 500 items with
//! provenance over the same API as FAISS, filtered recalls with the FAISS engine's items, a
//! reindex under 32 connections of load without a failed request, and the app naming the
//! engine (tests/browser/milvus.mjs).

#[path = "support/http.rs"]
mod http;
#[path = "support/load.rs"]
mod load;

use http::{call, config, json_body};
use recall_lab::index::{EngineTarget, IndexOptions};
use recall_lab::layout::Layout;
use recall_lab::server::{AppState, app};
use recall_lab_tests::{MilvusServer, asins, binary, built_catalog, catalog_copy, walk_on};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::OnceLock;

/// One server for the whole binary; each test builds its own collection under its own alias.
fn server() -> &'static MilvusServer {
    static SERVER: OnceLock<MilvusServer> = OnceLock::new();
    SERVER.get_or_init(MilvusServer::start)
}

/// A private copy of the test catalog, indexed on Milvus under `alias`.
fn milvus_copy(alias: &str) -> tempfile::TempDir {
    let tmp = catalog_copy();
    let opts = IndexOptions {
        engine: Some(EngineTarget::Milvus {
            uri: server().uri.clone(),
            alias: Some(alias.into()),
            index_type: Default::default(),
        }),
        ..IndexOptions::default()
    };
    let report = recall_lab::index::build(
        &Layout::new(tmp.path()),
        &opts,
        &indicatif::ProgressBar::hidden(),
    )
    .expect("building the catalog on Milvus");
    assert_eq!(report.engine, "milvus");
    assert!(
        !tmp.path().join("faiss.index").exists(),
        "a Milvus build leaves no faiss.index behind"
    );
    tmp
}

fn items(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["product"]["asin"].as_str().unwrap().to_owned())
        .collect()
}

async fn recall(router: &axum::Router, clicks: &[String], params: Value) -> Value {
    let (status, body) = call(
        router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": params })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The exact inner-product top `k` of row `q` over the build's vectors, itself left out.
fn exact_top(dir: &std::path::Path, q: usize, k: usize) -> Vec<usize> {
    let m = recall_lab::npy::Matrix::open(&Layout::new(dir).embeddings()).unwrap();
    let all = m.to_vec().unwrap();
    let d = m.cols();
    let query = &all[q * d..(q + 1) * d];
    let mut scored: Vec<(f32, usize)> = all
        .chunks(d)
        .enumerate()
        .filter(|(i, _)| *i != q)
        .map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_on_milvus_recalls_like_exact_search_over_the_same_api() {
    let tmp = milvus_copy("t_content");
    let state = AppState::open(config(tmp.path())).unwrap();
    let router = app(state);
    let (_, stats) = call(&router, "GET", "/api/stats", None, None).await;
    assert_eq!(stats["index_engine"], "milvus", "{stats}");
    assert!(
        stats["index_location"]
            .as_str()
            .is_some_and(|l| l.contains("t_content")),
        "{stats}"
    );

    let all = asins(tmp.path(), usize::MAX);
    let mut overlap = 0.0;
    let singles: Vec<usize> = (0..all.len()).step_by(all.len() / 50).take(50).collect();
    for &q in &singles {
        let got = items(
            &recall(
                &router,
                std::slice::from_ref(&all[q]),
                json!({ "topn": 20, "channels": ["content"] }),
            )
            .await,
        );
        let exact: HashSet<String> = exact_top(tmp.path(), q, 20)
            .into_iter()
            .map(|i| all[i].clone())
            .collect();
        assert_eq!(got.len(), 20);
        overlap += got.iter().filter(|a| exact.contains(*a)).count() as f64 / 20.0;
    }
    let overlap = overlap / singles.len() as f64;
    eprintln!("content top 20 vs exact inner product on Milvus: {overlap:.3}");
    assert!(overlap >= 0.95, "overlap {overlap:.3} < 0.95");

    // Ten clicks, 500 items, each with the channels that found it and why.
    let clicks: Vec<String> = all.iter().skip(7).step_by(311).take(10).cloned().collect();
    let body = recall(&router, &clicks, json!({ "topn": 500 })).await;
    let list = body["items"].as_array().unwrap();
    assert_eq!(list.len(), 500);
    // Provenance: every item names its channels; content items the clicks that reached them.
    assert!(list.iter().all(|i| {
        i["channels"].as_object().is_some_and(|c| !c.is_empty())
            && (i["channels"]["content"].is_null()
                || i["because"].as_array().is_some_and(|b| !b.is_empty()))
    }));
    assert!(
        list.iter()
            .filter(|i| !i["channels"]["content"].is_null())
            .count()
            > 250,
        "most of the list comes from the content channel"
    );
    assert!(
        body["timings"]["channels_ms"]["content"].as_f64().unwrap() > 0.0,
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_recalls_on_milvus_give_the_faiss_engines_items() {
    let tmp = milvus_copy("t_filters");
    let milvus = app(AppState::open(config(tmp.path())).unwrap());
    let faiss = app(AppState::open(config(&built_catalog())).unwrap());
    let all = asins(tmp.path(), usize::MAX);
    let category =
        recall(&faiss, &all[..1], json!({ "topn": 1 })).await["items"][0]["product"]["category_id"]
            .as_i64()
            .unwrap();
    let filters = [
        json!({ "min_price": 10.0, "max_price": 60.0 }),
        json!({ "min_stars": 4.5 }),
        json!({ "category": category }),
        json!({ "max_price": 25.0, "min_stars": 4.0 }),
    ];
    for (n, f) in filters.iter().enumerate() {
        for start in [3usize, 1_001, 2_503] {
            let clicks: Vec<String> = all
                .iter()
                .skip(start + n)
                .step_by(97)
                .take(5)
                .cloned()
                .collect();
            let params = json!({ "topn": 100, "nprobe": 16, "filters": f });
            let a = items(&recall(&milvus, &clicks, params.clone()).await);
            let b = items(&recall(&faiss, &clicks, params).await);
            assert!(!b.is_empty(), "{f}: the FAISS engine found nothing");
            let shared = a.iter().filter(|x| b.contains(x)).count();
            let overlap = shared as f64 / b.len() as f64;
            assert!(
                overlap >= 0.95 && a.len() == b.len(),
                "{f} from row {start}: {shared} of FAISS's {} items ({} on Milvus)",
                b.len(),
                a.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reindex_on_milvus_under_load_fails_no_request() {
    let tmp = milvus_copy("t_reindex");
    load::reindex_under_load(tmp.path()).await;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["index"]["engine"]["kind"], "milvus",
        "a reindex keeps the data dir's engine"
    );
}

/// The app on a Milvus build, in headless Chromium at 1440 and 390 px: the header's badge says
/// the index is on Milvus, the user's recall shows its cards with channel badges, and the
/// Quality view names the engine and the collection.
#[test]
fn the_app_names_milvus_and_recalls_from_it() {
    let tmp = milvus_copy("t_app");
    let clicks = asins(tmp.path(), 400);
    let mut add = std::process::Command::new(binary());
    add.args(["clicks", "add", "walk-milvus"])
        .args(clicks.iter().step_by(50))
        .arg("--data-dir")
        .arg(tmp.path());
    assert!(
        add.status().unwrap().success(),
        "recording the walk's clicks"
    );
    let shots = walk_on(tmp.path(), "milvus.mjs", &["walk-milvus", "t_app"]);
    for shot in ["recall", "quality"] {
        for w in [390, 1440] {
            assert!(shots.join(format!("milvus-{shot}-{w}.png")).exists());
        }
    }
}
