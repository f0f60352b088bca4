//! Real workloads: CF from a precomputed model however large the click log, click-log import
//! (bad lines by number, idempotent re-runs), clicks of one user arriving together, and a
//! recall that runs out of time.

use common::RecallParams;
use recall_lab::clicks::import::{ClickFormat, import};
use recall_lab::layout::Layout;
use recall_lab::recall::{Engine, EngineOptions};
use recall_lab::{Asin, UserId, clicks};
use recall_lab_tests::{asins, catalog_copy, root};

/// `recall-lab ARGS --data-dir DIR`, run to its end.
fn recall_lab(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(recall_lab_tests::binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

/// A fixture with `$ASIN<i>` replaced by the catalog's i-th product.
fn fixture(name: &str, all: &[String], dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(root().join("tests/fixtures").join(name)).unwrap();
    for (i, a) in all.iter().enumerate().take(3) {
        text = text.replace(&format!("$ASIN{i}"), a);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn cf_reads_the_precomputed_model_not_the_click_log() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let all = asins(tmp.path(), 40);
    let conn = engine.conn().unwrap();
    // The reported collapse: 20 users clicking the same 10 items over and over, and a few
    // users whose co-clicks give item 0 neighbours outside those 10.
    let tx = conn.unchecked_transaction().unwrap();
    for round in 0..50 {
        for u in 0..20 {
            for (i, a) in all[..10].iter().enumerate() {
                tx.execute(
                    "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3)",
                    rusqlite::params![format!("hot{u}"), a, (round * 10 + i) as i64],
                )
                .unwrap();
            }
        }
    }
    tx.commit().unwrap();
    for u in ["a", "b"] {
        let u = UserId::parse(u).unwrap();
        for i in [0, 20, 30] {
            clicks::add_click(&conn, &u, &Asin::parse(&all[i]).unwrap()).unwrap();
        }
    }
    assert!(
        engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
    let model = engine.refresh_cf(&Default::default()).unwrap();
    assert_eq!(model.meta.clicks, 20 * 10 * 50 + 6);
    assert_eq!(model.meta.users, 22);
    assert!(
        !engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
    // Item 0's neighbours: the other 9 hot items (co-clicked by 20 of its 22 users) and items
    // 20 and 30 (by 2): cosine 20/√(22·20) and 2/√(22·2).
    let n: Vec<(u32, f32)> = model.neighbours(0).collect();
    assert_eq!(n.len(), 11, "{n:?}");
    let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-5;
    assert!(close(n[0].1, 20.0 / (22.0f64 * 20.0).sqrt()), "{n:?}");
    assert!(close(n[10].1, 2.0 / (22.0f64 * 2.0).sqrt()), "{n:?}");

    let r = engine
        .recall(
            &[all[0].clone()],
            None,
            &RecallParams {
                topn: 20,
                channels: Some(vec!["cf".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    let got: Vec<&str> = r.items.iter().map(|i| i.product.asin.as_str()).collect();
    assert_eq!(got.len(), 11);
    assert!(got[..9].iter().all(|a| all[1..10].iter().any(|h| h == a)));
    assert_eq!(r.items[0].because, vec![all[0].clone()]);

    // A deletion makes the model stale too; a rebuild reads the log without it.
    clicks::clear_clicks(&conn, &UserId::parse("a").unwrap()).unwrap();
    assert!(
        engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
    let model = engine.refresh_cf(&Default::default()).unwrap();
    assert_eq!(model.meta.users, 21);
    // The saved model is what a restarted engine reads.
    drop(engine);
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    assert_eq!(engine.cf_model().unwrap().meta, model.meta);
    assert!(
        !engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
}

#[test]
fn click_logs_import_with_bad_lines_named_and_rerun_adds_nothing() {
    let tmp = catalog_copy();
    let all = asins(tmp.path(), 3);
    let mut conn = recall_lab::catalog::open(&tmp.path().join("recommend.db")).unwrap();
    let bar = indicatif::ProgressBar::hidden();

    let csv = fixture("clicks.csv", &all, tmp.path());
    let r = import(&mut conn, &csv, ClickFormat::of(&csv), &bar).unwrap();
    assert_eq!((r.records, r.added, r.rejected), (8, 4, 4), "{r:?}");
    let lines: Vec<u64> = r.bad_lines.iter().map(|b| b.line).collect();
    assert_eq!(lines, [5, 6, 7, 8], "{r:?}");
    assert!(r.bad_lines[0].reason.contains("unknown product"), "{r:?}");
    assert!(r.bad_lines[1].reason.contains("timestamp"), "{r:?}");
    assert_eq!(r.new_users, 3);
    let again = import(&mut conn, &csv, ClickFormat::Csv, &bar).unwrap();
    assert_eq!((again.added, again.already_stored), (0, 4), "{again:?}");

    let jsonl = fixture("clicks.jsonl", &all, tmp.path());
    let r = import(&mut conn, &jsonl, ClickFormat::of(&jsonl), &bar).unwrap();
    assert_eq!((r.records, r.added, r.rejected), (5, 3, 2), "{r:?}");
    let lines: Vec<u64> = r.bad_lines.iter().map(|b| b.line).collect();
    assert_eq!(lines, [4, 5], "{r:?}");

    // Times are stored in Unix milliseconds, in click order per user.
    let alice = clicks::list_clicks(&conn, &UserId::parse("alice").unwrap()).unwrap();
    let times: Vec<i64> = alice.iter().map(|c| c.click_time).collect();
    assert_eq!(times, [1_714_564_800_000, 1_714_564_860_000]);
    // bob's click at 12:02+02:00 is 10:02 UTC.
    let bob = clicks::list_clicks(&conn, &UserId::parse("bob").unwrap()).unwrap();
    assert_eq!(bob[0].click_time, 1_714_557_720_000);
}

#[test]
fn clicks_of_one_user_arriving_together_keep_distinct_times() {
    let tmp = catalog_copy();
    let engine = Engine::open(
        Layout::new(tmp.path()),
        &EngineOptions {
            pool_size: 8,
            ..Default::default()
        },
    )
    .unwrap();
    let all = asins(tmp.path(), 8);
    let user = UserId::parse("together").unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (engine, all, user) = (&engine, &all, &user);
            s.spawn(move || {
                let conn = engine.conn().unwrap();
                for i in 0..10 {
                    let a = Asin::parse(&all[(t + i) % all.len()]).unwrap();
                    clicks::add_click(&conn, user, &a).unwrap();
                }
            });
        }
    });
    let list = clicks::list_clicks(&engine.conn().unwrap(), &user).unwrap();
    assert_eq!(list.len(), 80);
    let times: std::collections::HashSet<i64> = list.iter().map(|c| c.click_time).collect();
    assert_eq!(times.len(), 80, "every click has its own time");
}

#[path = "support/http.rs"]
mod http;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recall_past_the_request_timeout_answers_503_timeout_and_stats_show_the_cf_model() {
    let tmp = catalog_copy();
    let all = asins(tmp.path(), 10);
    let state = recall_lab::server::AppState::open(recall_lab::server::config::ServeConfig {
        request_timeout_ms: 1,
        ..http::config(tmp.path())
    })
    .unwrap();
    let router = recall_lab::server::app(state.clone());
    // Every list probed and thousands of candidates: far more than a millisecond of work.
    let nlist = state.engine.current().index.nlist().unwrap_or(1);
    let body = serde_json::json!({
        "clicks": all,
        "params": { "topn": 2000, "nprobe": nlist },
    });
    let t = std::time::Instant::now();
    let (status, v) = http::call(&router, "POST", "/api/recall", http::json_body(body), None).await;
    assert_eq!(status.as_u16(), 503, "{v}");
    assert_eq!(v["code"], "timeout", "{v}");
    assert!(v["message"].as_str().unwrap().contains("1 ms"), "{v}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));

    // The CF model in the stats: built with the catalog (no clicks yet), then stale after one.
    let router = recall_lab::server::app(
        recall_lab::server::AppState::open(http::config(tmp.path())).unwrap(),
    );
    let (_, stats) = http::call(&router, "GET", "/api/stats", None, None).await;
    assert_eq!(stats["cf"]["stale"], false, "{stats}");
    assert_eq!(stats["cf"]["k"], 100, "{stats}");
    let (s, _) = http::call(
        &router,
        "POST",
        "/api/users/u1/clicks",
        http::json_body(serde_json::json!({ "asin": all[0] })),
        None,
    )
    .await;
    assert_eq!(s.as_u16(), 201);
    let (_, stats) = http::call(&router, "GET", "/api/stats", None, None).await;
    assert_eq!(stats["cf"]["stale"], true, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_users_created_at_once_get_fifty_ids() {
    let tmp = catalog_copy();
    let router = recall_lab::server::app(
        recall_lab::server::AppState::open(http::config(tmp.path())).unwrap(),
    );
    let calls = (0..50).map(|_| {
        let router = router.clone();
        tokio::spawn(async move {
            http::call(
                &router,
                "POST",
                "/api/users",
                http::json_body(serde_json::json!({})),
                None,
            )
            .await
        })
    });
    let mut ids = std::collections::HashSet::new();
    for c in calls {
        let (status, user) = c.await.unwrap();
        assert_eq!(status.as_u16(), 201, "{user}");
        ids.insert(user["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 50);
}

#[test]
fn one_writer_per_data_dir_and_interrupted_writes_are_cleaned() {
    let tmp = catalog_copy();
    let layout = Layout::new(tmp.path());
    let stale = tmp.path().join(".manifest.json.tmp-99999");
    let index = || recall_lab(&["index"], tmp.path());
    {
        let _held = layout.lock_writer().unwrap();
        // What a writer killed between its renames leaves.
        std::fs::write(&stale, b"{").unwrap();
        let out = index();
        assert!(!out.status.success(), "a second writer must not start");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("another process is writing")
                && err.contains(&std::process::id().to_string()),
            "{err}"
        );
        assert!(
            stale.exists(),
            "nothing is touched while another writer runs"
        );
    }
    let out = index();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stale.exists(),
        "the interrupted write's temporary file is gone"
    );
    // The new build is served: its CF model is rebuilt for it, and recall answers.
    let engine = Engine::open(layout, &EngineOptions::default()).unwrap();
    assert!(
        engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap(),
        "the CF model is of the previous build"
    );
    engine.refresh_cf(&Default::default()).unwrap();
    let all = asins(tmp.path(), 2);
    let r = engine.recall(&all, None, &RecallParams::default()).unwrap();
    assert!(!r.items.is_empty());
}

#[test]
fn a_build_interrupted_between_its_renames_is_refused_at_start_with_the_fix() {
    let tmp = catalog_copy();
    let manifest = tmp.path().join("manifest.json");
    let before = std::fs::read(&manifest).unwrap();
    let out = recall_lab(&["index"], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The new products.rows and faiss.index are in place, but the manifest is the old one: a
    // kill before the last rename.
    std::fs::write(&manifest, before).unwrap();
    let out = recall_lab(&["serve", "--addr", "127.0.0.1:0"], tmp.path());
    assert!(
        !out.status.success(),
        "serve must not start on a mixed build"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("products.rows")
            && err.contains("interrupted")
            && err.contains("recall-lab index"),
        "{err}"
    );
}
