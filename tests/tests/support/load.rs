//! A reindex under recall load, over a real socket: the check both vector-index engines must
//! pass (tests/tests/server_process.rs for FAISS, tests/tests/milvus.rs for Milvus).

use recall_lab::server::config::ServeConfig;
use recall_lab::server::{AppState, app};
use recall_lab_tests::asins;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Serves `dir` on a real socket, puts 32 connections of recall load on it (user recalls and
/// posted clicks), starts a reindex through the admin API during the load, and asserts that
/// every request answered in full and that `/api/stats` shows the new build afterwards.
pub async fn reindex_under_load(dir: &Path) {
    let cfg = ServeConfig {
        data_dir: dir.to_owned(),
        admin_token: Some("tok".into()),
        ..ServeConfig::default()
    };
    let state = AppState::open(cfg).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });

    let http = reqwest::Client::new();
    let all = asins(dir, 4_000);
    for (i, a) in all.iter().step_by(400).take(5).enumerate() {
        let user = format!("load{}", i % 2);
        let r = http
            .post(format!("{base}/api/users/{user}/clicks"))
            .json(&serde_json::json!({ "asin": a }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let gen0 = generation(&http, &base).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for w in 0..32 {
        let (http, base, stop, ok, failed, all) = (
            http.clone(),
            base.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            all.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let resp = if i % 2 == 0 {
                    http.get(format!(
                        "{base}/api/users/load{}/recall?topn=200",
                        i % 4 / 2
                    ))
                    .send()
                    .await
                } else {
                    let clicks: Vec<&String> = (0..3)
                        .map(|j| &all[(i * 37 + j * 911) % all.len()])
                        .collect();
                    http.post(format!("{base}/api/recall"))
                        .json(&serde_json::json!({ "clicks": clicks, "params": { "topn": 200 } }))
                        .send()
                        .await
                };
                match resp {
                    Ok(r) if r.status().is_success() => {
                        let body: serde_json::Value = r.json().await.unwrap();
                        if body["items"].as_array().is_some_and(|a| a.len() == 200) {
                            ok.fetch_add(1, Ordering::Relaxed)
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed)
                        };
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 32;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A reindex during the load.
    let job: serde_json::Value = http
        .post(format!("{base}/api/admin/reindex"))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_u64().expect("a job id");
    let t = Instant::now();
    loop {
        let j: serde_json::Value = http
            .get(format!("{base}/api/admin/jobs/{id}"))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match j["state"].as_str() {
            Some("done") => break,
            Some("failed") => panic!("reindex failed: {j}"),
            _ => assert!(
                t.elapsed() < Duration::from_secs(180),
                "reindex did not finish: {j}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "{failed} failed of {}", ok + failed);
    assert!(ok > 100, "only {ok} requests answered");
    let gen1 = generation(&http, &base).await;
    assert_eq!(gen1, gen0 + 1, "/api/stats shows the new build");
}

/// The server's build generation, as `/api/stats` reports it.
async fn generation(http: &reqwest::Client, base: &str) -> u64 {
    http.get(format!("{base}/api/stats"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["generation"]
        .as_u64()
        .expect("a generation in /api/stats")
}
