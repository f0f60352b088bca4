//! The review workbench's server side: scenarios and judgments stored and kept across a
//! restart, the judged metrics, an item's explanation, and `recall-lab scenarios check` as a
//! gate that passes, then fails naming the expectation a reindex broke.

#[path = "support/http.rs"]
mod http;

use axum::http::StatusCode;
use common::{Grade, Judgment, judged_metrics, latest_grades};
use http::{call, config, json_body};
use recall_lab::server::{AppState, app};
use recall_lab_tests::{asins, catalog_copy};
use serde_json::{Value, json};

/// `recall-lab ARGS --data-dir DIR`, run to its end.
fn recall_lab(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(recall_lab_tests::binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn ranked(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"]["asin"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judgments_are_stored_per_scenario_and_survive_a_restart() {
    let tmp = catalog_copy();
    let clicks = asins(tmp.path(), 3);
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (status, created) = call(
        &router,
        "POST",
        "/api/scenarios",
        json_body(json!({
            "name": "  luggage shopper ",
            "clicks": clicks,
            "a": { "topn": 20, "fusion": "rrf" },
            "b": { "topn": 20, "fusion": "seed" },
            "notes": "checks the suitcase neighbours",
        })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "luggage shopper");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, answer) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": created["a"] })),
        None,
    )
    .await;
    let list = ranked(&answer);
    let grades = [
        Grade::Relevant,
        Grade::Partly,
        Grade::NotRelevant,
        Grade::Relevant,
    ];
    for (asin, grade) in list.iter().zip(grades) {
        let (status, j) = call(
            &router,
            "PUT",
            &format!("/api/scenarios/{id}/judgments/{asin}"),
            json_body(json!({ "reviewer": "ann", "grade": grade })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{j}");
    }
    // Another reviewer changes their mind on the second item: the latest grade counts.
    for grade in ["not_relevant", "relevant"] {
        call(
            &router,
            "PUT",
            &format!("/api/scenarios/{id}/judgments/{}", list[1]),
            json_body(json!({ "reviewer": "bob", "grade": grade })),
            None,
        )
        .await;
    }
    drop(router);
    // A restart: the same data dir, a new server.
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (status, again) = call(&router, "GET", &format!("/api/scenarios/{id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["notes"], "checks the suitcase neighbours");
    assert_eq!(again["b"]["fusion"], "seed");
    let (_, stored) = call(
        &router,
        "GET",
        &format!("/api/scenarios/{id}/judgments"),
        None,
        None,
    )
    .await;
    let stored: Vec<Judgment> = serde_json::from_value(stored).unwrap();
    assert_eq!(
        stored.len(),
        5,
        "ann's four and bob's one (replaced, not added)"
    );
    let latest = latest_grades(&stored);
    assert_eq!(latest[&list[1]], Grade::Relevant);
    // Judged precision@4: items 1, 2 (bob's relevant) and 4 are hits, item 3 is not.
    let m = judged_metrics(&list, &latest, 4);
    assert_eq!((m.judged, m.precision), (4, 0.75));
    // The same judgments apply to configuration B's list (another fusion, other ranks).
    let (_, b_answer) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": again["b"] })),
        None,
    )
    .await;
    let b_list = ranked(&b_answer);
    let judged_in_b = b_list[..10]
        .iter()
        .filter(|a| latest.contains_key(*a))
        .count();
    assert_eq!(judged_metrics(&b_list, &latest, 10).judged, judged_in_b);
    // Taking a judgment back.
    let (status, _) = call(
        &router,
        "DELETE",
        &format!("/api/scenarios/{id}/judgments/{}?reviewer=bob", list[1]),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, stored) = call(
        &router,
        "GET",
        &format!("/api/scenarios/{id}/judgments"),
        None,
        None,
    )
    .await;
    assert_eq!(stored.as_array().unwrap().len(), 4);
    // Export, delete, import: the scenario and its judgments come back whole.
    let (_, export) = call(&router, "GET", "/api/scenarios/export", None, None).await;
    assert_eq!(export["version"], 1);
    assert_eq!(export["judgments"].as_array().unwrap().len(), 4);
    let (status, _) = call(
        &router,
        "DELETE",
        &format!("/api/scenarios/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&router, "GET", &format!("/api/scenarios/{id}"), None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_scenario"))
    );
    let (status, summary) = call(
        &router,
        "POST",
        "/api/scenarios/import",
        json_body(export),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary, json!({ "scenarios": 1, "judgments": 4 }));
    let (_, stored) = call(
        &router,
        "GET",
        &format!("/api/scenarios/{id}/judgments"),
        None,
        None,
    )
    .await;
    assert_eq!(stored.as_array().unwrap().len(), 4);
}

/// method, uri, body, status, code, field.
type Case<'a> = (&'a str, String, Value, u16, &'a str, Option<&'a str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scenarios_and_judgments_get_their_codes() {
    let tmp = catalog_copy();
    let a = asins(tmp.path(), 1).remove(0);
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (_, s) = call(
        &router,
        "POST",
        "/api/scenarios",
        json_body(json!({ "name": "x", "clicks": [a] })),
        None,
    )
    .await;
    let id = s["id"].as_str().unwrap();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("POST", "/api/scenarios".into(), json!({ "name": " ", "clicks": [] }), 400, "invalid_parameter", Some("name")),
        ("POST", "/api/scenarios".into(), json!({ "name": "y", "clicks": ["NOSUCHASIN"] }), 404, "unknown_product", None),
        ("POST", "/api/scenarios".into(), json!({ "name": "y", "clicks": [], "expectations": [{ "kind": "precision_at_least", "k": 10, "min": 2.0 }] }), 400, "invalid_parameter", Some("expectations")),
        ("POST", "/api/scenarios".into(), json!({ "name": "y", "clicks": [], "expectations": [{ "kind": "channel_at_least", "channel": "bogus", "n": 1, "k": 10 }] }), 400, "invalid_parameter", Some("expectations")),
        ("POST", "/api/scenarios".into(), json!({ "name": "y", "clicks": [], "a": { "topn": 0 } }), 400, "invalid_parameter", Some("topn")),
        ("PUT", format!("/api/scenarios/{id}/judgments/{a}"), json!({ "reviewer": "", "grade": "relevant" }), 400, "invalid_parameter", Some("reviewer")),
        ("PUT", format!("/api/scenarios/{id}/judgments/{a}"), json!({ "reviewer": "ann", "grade": "great" }), 400, "invalid_body", None),
        ("PUT", format!("/api/scenarios/{id}/judgments/NOSUCHASIN"), json!({ "reviewer": "ann", "grade": "relevant" }), 404, "unknown_product", None),
        ("PUT", format!("/api/scenarios/nosuch/judgments/{a}"), json!({ "reviewer": "ann", "grade": "relevant" }), 404, "unknown_scenario", None),
        ("POST", "/api/scenarios/import".into(), json!({ "version": 99, "scenarios": [], "judgments": [] }), 400, "invalid_parameter", Some("version")),
        ("POST", "/api/recall/explain".into(), json!({ "clicks": [a], "asin": "NOSUCHASIN" }), 404, "unknown_product", None),
    ];
    for (method, uri, body, status, code, field) in cases {
        let (got, body_out) = call(&router, method, &uri, json_body(body.clone()), None).await;
        assert_eq!(got.as_u16(), status, "{method} {uri} {body}: {body_out}");
        assert_eq!(body_out["code"], code, "{method} {uri} {body}");
        assert_eq!(
            body_out["field"].as_str(),
            field,
            "{method} {uri} {body}: {body_out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explanation_names_every_channel_and_click() {
    let tmp = catalog_copy();
    let clicks = asins(tmp.path(), 3);
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let params = json!({ "topn": 500, "fusion": "rrf" });
    let (_, answer) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": params })),
        None,
    )
    .await;
    let items = answer["items"].as_array().unwrap();
    // The first item that more than one channel recalled, else the first.
    let item = items
        .iter()
        .find(|i| i["channels"].as_object().unwrap().len() > 1)
        .unwrap_or(&items[0]);
    let asin = item["product"]["asin"].as_str().unwrap();
    let (status, ex) = call(
        &router,
        "POST",
        "/api/recall/explain",
        json_body(json!({ "clicks": clicks, "params": params, "asin": asin })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ex}");
    assert_eq!(ex["rank"], item["rank"]);
    assert!(ex["formula"].as_str().unwrap().starts_with("RRF"));
    let ran: Vec<&str> = answer["params"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let channels = ex["channels"].as_array().unwrap();
    assert_eq!(
        channels
            .iter()
            .map(|c| c["channel"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ran
    );
    let mut sum = 0.0;
    for c in channels {
        let name = c["channel"].as_str().unwrap();
        // A channel has a rank for the item exactly when the answer lists its score.
        assert_eq!(
            c["rank"].is_number(),
            item["channels"].get(name).is_some(),
            "{name}: {c}"
        );
        if let Some(score) = item["channels"].get(name) {
            assert!((c["score"].as_f64().unwrap() - score.as_f64().unwrap()).abs() < 1e-5);
        }
        sum += c["contribution"].as_f64().unwrap();
    }
    // RRF's score is the sum of the channels' parts.
    assert!(
        (sum - item["score"].as_f64().unwrap()).abs() < 1e-5,
        "{sum} vs {}",
        item["score"]
    );
    let ex_clicks = ex["clicks"].as_array().unwrap();
    assert_eq!(ex_clicks.len(), 3, "every click, most recent first");
    assert_eq!(ex_clicks[0]["asin"], clicks[2]);
    for c in ex_clicks {
        let sim = c["similarity"].as_f64().unwrap();
        assert!((-1.0..=1.0001).contains(&sim));
        let because = item["because"].as_array().unwrap().contains(&c["asin"]);
        assert_eq!(c["recalled_it"].as_bool().unwrap(), because);
        assert!(c["product"]["title"].is_string());
    }
    let notes = ex["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("nprobe raised from")),
        "the default nprobe is raised for topn 500: {notes:?}"
    );
}

#[test]
fn scenarios_check_passes_then_fails_naming_what_a_reindex_broke() {
    use recall_lab::layout::Layout;
    use recall_lab::recall::{Engine, EngineOptions};
    let tmp = catalog_copy();
    let clicks = asins(tmp.path(), 5);
    let params = common::RecallParams {
        topn: 100,
        ..Default::default()
    };
    {
        let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
        let recent: Vec<String> = clicks.iter().rev().cloned().collect();
        let answer = engine.recall(&recent, None, &params).unwrap();
        let baseline: Vec<String> = answer
            .items
            .iter()
            .map(|i| i.product.asin.clone())
            .collect();
        let body = common::ScenarioBody {
            name: "gate".into(),
            clicks: clicks.clone(),
            a: params.clone(),
            b: None,
            notes: String::new(),
            expectations: vec![
                common::Expectation::InTopK {
                    asin: baseline[0].clone(),
                    k: 10,
                },
                common::Expectation::BaselineOverlapAtLeast { k: 100, min: 0.9 },
            ],
            baseline: Some(baseline),
        };
        recall_lab::review::create(&engine.conn().unwrap(), body).unwrap();
    }
    let out = recall_lab(&["scenarios", "check"], tmp.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS gate"), "{text}");
    let out = recall_lab(&["--json", "scenarios", "check"], tmp.path());
    let checks: Vec<common::ScenarioCheck> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].results.len(), 2, "every expectation's result");
    assert!(checks[0].results.iter().all(|r| r.passed));
    // Another index: vectors compressed to 8 bytes (product quantization), scores approximate.
    let out = recall_lab(&["index", "--factory", "IVF16,PQ8"], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recall_lab(&["scenarios", "check"], tmp.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL gate"), "{text}");
    assert!(
        text.contains("FAIL overlap@100 with the baseline at least 0.9"),
        "the failed expectation is named: {text}"
    );
    let out = recall_lab(&["--json", "scenarios", "check"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let checks: Vec<common::ScenarioCheck> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!checks[0].passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_describes_the_list_beyond_accuracy() {
    let tmp = catalog_copy();
    let clicks = asins(tmp.path(), 3);
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (_, answer) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": { "topn": 50 } })),
        None,
    )
    .await;
    let list = ranked(&answer);
    let (status, s) = call(
        &router,
        "POST",
        "/api/recall/summary",
        json_body(json!({ "clicks": clicks, "asins": list, "k": 20 })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let s: common::RecallSummary = serde_json::from_value(s).unwrap();
    assert_eq!(s.k, 20);
    assert_eq!(s.categories.iter().map(|c| c.items).sum::<usize>(), 20);
    assert!(s.categories.windows(2).all(|w| w[0].items >= w[1].items));
    assert!((-1.0..=1.0).contains(&s.mean_pairwise_cosine));
    assert!((0.0..=100.0).contains(&s.mean_popularity_percentile));
    assert!(s.min_price <= s.median_price && s.median_price <= s.max_price);
    // A click recalled again, and an item listed twice: both are near-duplicates, of the click
    // and of the better-ranked copy.
    let with_repeats = json!({ "clicks": clicks, "asins": [clicks[0], list[0], list[0]], "k": 3 });
    let (_, s) = call(
        &router,
        "POST",
        "/api/recall/summary",
        json_body(with_repeats),
        None,
    )
    .await;
    let s: common::RecallSummary = serde_json::from_value(s).unwrap();
    let dups: Vec<(usize, &str, bool)> = s
        .near_duplicates
        .iter()
        .map(|d| (d.rank, d.of.as_str(), d.of_click))
        .collect();
    assert!(dups.contains(&(1, clicks[0].as_str(), true)), "{dups:?}");
    assert!(
        s.near_duplicates
            .iter()
            .any(|d| d.rank == 3 && d.cosine > 0.999),
        "{dups:?}"
    );
    let (status, bad) = call(
        &router,
        "POST",
        "/api/recall/summary",
        json_body(json!({ "clicks": clicks, "asins": list, "k": 0 })),
        None,
    )
    .await;
    assert_eq!(
        (status, bad["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("k"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_one_offline_file_with_the_judged_metrics() {
    let tmp = catalog_copy();
    let clicks = asins(tmp.path(), 3);
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (_, created) = call(
        &router,
        "POST",
        "/api/scenarios",
        json_body(
            json!({ "name": "Report <check> & co", "clicks": clicks, "a": { "topn": 30 },
            "expectations": [{ "kind": "precision_at_least", "k": 10, "min": 0.5 }] }),
        ),
        None,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, answer) = call(
        &router,
        "POST",
        "/api/recall",
        json_body(json!({ "clicks": clicks, "params": created["a"] })),
        None,
    )
    .await;
    let list = ranked(&answer);
    for (i, asin) in list.iter().take(4).enumerate() {
        let grade = if i % 2 == 0 {
            "relevant"
        } else {
            "not_relevant"
        };
        call(
            &router,
            "PUT",
            &format!("/api/scenarios/{id}/judgments/{asin}"),
            json_body(json!({ "reviewer": "ann, the \"QA\"", "grade": grade })),
            None,
        )
        .await;
    }
    drop(router);
    let out = tmp.path().join("report.html");
    let run = recall_lab(&["report", "--out", out.to_str().unwrap()], tmp.path());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("Report &lt;check&gt; &amp; co"),
        "the name, escaped"
    );
    // Two of the top 10 are relevant: precision@10 0.20, and the expectation (0.5) fails.
    assert!(html.contains("precision@10 0.20"), "the judged metrics");
    assert!(html.contains("FAIL") && html.contains("judged precision@10 at least 0.5"));
    for external in ["src=\"http", "href=\"http", "<script", "<link", "url("] {
        assert!(
            !html.contains(external),
            "the report must open offline: {external}"
        );
    }
    let csv = std::fs::read_to_string(tmp.path().join("report.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four judgments: {csv}");
    assert!(
        lines[1].contains("\"ann, the \"\"QA\"\"\""),
        "CSV quoting: {}",
        lines[1]
    );
    // The same report from the server, as a download.
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let resp = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::get("/api/scenarios/report")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_evaluation_is_served_once_written() {
    let tmp = catalog_copy();
    let router = app(AppState::open(config(tmp.path())).unwrap());
    let (status, body) = call(&router, "GET", "/api/eval/report", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_evaluation"))
    );
    let ann = common::AnnEval {
        samples: 1,
        points: vec![],
    };
    let (_, stats) = call(&router, "GET", "/api/stats", None, None).await;
    let stats: common::Stats = serde_json::from_value(stats).unwrap();
    assert!(!stats.build_id.is_empty(), "the build has no id");
    let mut report = common::EvalReport {
        model: stats.model.clone(),
        build_id: stats.build_id.clone(),
        fidelity: Some(common::Fidelity {
            reference: "all-MiniLM-L6-v2-fp32".into(),
            titles: 4960,
            cosine_mean: 0.999,
            cosine_min: 0.99,
            top10_overlap: 0.97,
        }),
        catalog: 4960,
        index_factory: "IVF127,Flat".into(),
        nlist: Some(127),
        default_nprobe: Some(16),
        ann_at_10: ann.clone(),
        ann_at_100: ann,
        precision: vec![common::PrecisionPoint {
            k: 10,
            index: 0.37,
            exact: 0.38,
        }],
        held_out: common::HeldOut {
            ks: vec![10, 50],
            train_sessions: 800,
            test_sessions: 200,
            rows: vec![common::HeldOutRow {
                config: "hybrid, rrf fusion".into(),
                hit_rate: vec![0.2, 0.4],
                ndcg: vec![0.1, 0.15],
                mean_ms: 1.2,
            }],
        },
        generated_at: "2026-12-05T04:00:00Z".into(),
    };
    recall_lab::eval::write_reports(&report, &tmp.path().join("eval")).unwrap();
    let (status, body) = call(&router, "GET", "/api/eval/report", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let back: common::EvalReport = serde_json::from_value(body).unwrap();
    assert_eq!(back, report);
    assert!(back.describes(&stats));

    // A report left from an earlier build (another model's) is told apart from this build's,
    // so the Quality view flags its figures instead of passing them off as this build's.
    report.build_id = "an-earlier-build".into();
    report.model = "all-MiniLM-L6-v2-fp32".into();
    recall_lab::eval::write_reports(&report, &tmp.path().join("eval")).unwrap();
    let (_, body) = call(&router, "GET", "/api/eval/report", None, None).await;
    let back: common::EvalReport = serde_json::from_value(body).unwrap();
    assert!(
        !back.describes(&stats),
        "{} vs {}",
        back.build_id,
        stats.build_id
    );
}
