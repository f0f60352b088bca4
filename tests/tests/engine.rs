//! The engine on the real sample: the built artifacts (and Python's view of them), recall for a
//! user with 5 clicks, the content channel against exact search, fusion choices, and category
//! precision of `similar`.

use common::{Fusion, RecallParams, RecallResponse};
use recall_lab::layout::Layout;
use recall_lab::recall::{Encoding, Engine, EngineOptions};
use recall_lab::{UserId, clicks};
use recall_lab_tests::{asins, built_catalog, catalog_copy, sample_dir};
use std::collections::HashSet;

fn python() -> std::path::PathBuf {
    let py = recall_lab::embed::cache_dir().join("pyenv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh",
        py.display()
    );
    py
}

#[test]
fn build_writes_artifacts_that_python_faiss_and_numpy_load() {
    let dir = built_catalog();
    let n = recall_lab::catalog::product_count(
        &recall_lab::catalog::open(&dir.join("recommend.db")).unwrap(),
    )
    .unwrap();
    if sample_dir().is_some() {
        assert_eq!(n, 4_960);
    }
    let script = format!(
        "import faiss, numpy as np\n\
         e = np.load('{d}/product_emb.npy'); i = faiss.read_index('{d}/faiss.index')\n\
         a = open('{d}/asin_list.txt').read().split()\n\
         assert e.dtype == np.float32 and e.shape == ({n}, 384), e.shape\n\
         assert abs(np.linalg.norm(e, axis=1) - 1).max() < 1e-4\n\
         assert i.ntotal == {n} and len(a) == {n}\n\
         D, I = i.search(e[:3], 5)\n\
         assert list(I[:, 0]) == [0, 1, 2], I\n\
         print('ok', faiss.extract_index_ivf(i).nlist)",
        d = dir.display()
    );
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok"));
}

#[test]
fn recall_for_five_clicks_returns_topn_unclicked_items_with_provenance() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let all = asins(tmp.path(), 4_000);
    let clicked: Vec<String> = [0, 800, 1600, 2400, 3200]
        .iter()
        .map(|&i| all[i % all.len()].clone())
        .collect();
    let user = UserId::parse("u1").unwrap();
    let conn = engine.conn().unwrap();
    for a in &clicked {
        clicks::add_click(&conn, &user, &recall_lab::Asin::parse(a).unwrap()).unwrap();
    }
    for fusion in [Fusion::Rrf, Fusion::Seed, Fusion::Weighted] {
        let params = RecallParams {
            topn: 500,
            fusion,
            ..Default::default()
        };
        let r = engine.recall_user(&user, &params).unwrap();
        assert_eq!(r.items.len(), 500, "{fusion:?}: {:?}", r.warnings);
        let ranks: Vec<usize> = r.items.iter().map(|i| i.rank).collect();
        assert_eq!(ranks, (1..=500).collect::<Vec<_>>());
        assert!(
            r.items.windows(2).all(|w| w[0].score >= w[1].score),
            "{fusion:?}: scores follow the recall order"
        );
        let clicked_set: HashSet<&str> = clicked.iter().map(String::as_str).collect();
        assert!(
            r.items
                .iter()
                .all(|i| !clicked_set.contains(i.product.asin.as_str())),
            "no clicked item comes back"
        );
        let unique: HashSet<&str> = r.items.iter().map(|i| i.product.asin.as_str()).collect();
        assert_eq!(unique.len(), 500, "no duplicates");
        for i in &r.items {
            assert!(
                !i.channels.is_empty(),
                "every item says which channel recalled it"
            );
            if i.channels.contains_key("content") {
                assert!(
                    i.because.iter().all(|b| clicked_set.contains(b.as_str()))
                        && !i.because.is_empty()
                );
            }
        }
        assert_eq!(r.clicks.len(), 5);
        assert_eq!(r.clicks[0], clicked[4], "most recent click first");
    }
}

/// A JSON recall answer as text with its `timings` object (flat: no braces inside) cut out.
fn without_timings(json: &[u8]) -> String {
    let text = String::from_utf8(json.to_vec()).unwrap();
    let from = text.find(",\"timings\":{").expect("a timings object");
    // The object ends where its braces balance (it holds the per-channel map).
    let mut depth = 0;
    let to = from
        + text[from..]
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                c == '}' && depth == 0
            })
            .unwrap()
            .0;
    format!("{}{}", &text[..from], &text[to + 1..])
}

#[test]
fn answers_written_from_the_rows_are_the_typed_answer_byte_for_byte() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let all = asins(tmp.path(), 4_000);
    let clicked: Vec<String> = [7, 950, 1900, 2850]
        .iter()
        .map(|&i| all[i % all.len()].clone())
        .collect();
    let user = UserId::parse("u-bytes").unwrap();
    let conn = engine.conn().unwrap();
    for a in &clicked {
        clicks::add_click(&conn, &user, &recall_lab::Asin::parse(a).unwrap()).unwrap();
    }
    drop(conn);
    // Titles with quotes, backslashes or non-ASCII text must be escaped as serde_json does.
    // Each recall here runs alone, so answers of 64 items or more are written in two halves
    // on two threads (on a machine with two cores or more) and the topn 37 one on one thread.
    let answers = |params: &RecallParams, who: Option<&UserId>, clicks: &[String]| {
        let typed = match who {
            Some(u) => engine.recall_user(u, params).unwrap(),
            None => engine.recall(clicks, None, params).unwrap(),
        };
        let mut bytes = [Vec::new(), Vec::new()];
        for (encoding, out) in [Encoding::Json, Encoding::Bincode]
            .into_iter()
            .zip(&mut bytes)
        {
            match who {
                Some(u) => engine.recall_user_into(u, params, encoding, out),
                None => engine.recall_into(clicks, None, params, encoding, out),
            }
            .unwrap();
        }
        (typed, bytes)
    };
    let cases = [
        (RecallParams::default(), Some(&user), &clicked[..0]),
        (
            RecallParams {
                topn: 37,
                fusion: Fusion::Weighted,
                ..Default::default()
            },
            None,
            &clicked[..],
        ),
        // More than the catalog can give: the answer carries a warning.
        (
            RecallParams {
                topn: 9_000,
                channels: Some(vec!["content".into()]),
                ..Default::default()
            },
            None,
            &clicked[..1],
        ),
        // No clicks: popularity alone, with its warning.
        (RecallParams::default(), None, &clicked[..0]),
    ];
    let mut escaped = false;
    for (params, who, clicks) in &cases {
        let (mut typed, [json, bin]) = answers(params, *who, clicks);
        let from_json: RecallResponse = serde_json::from_slice(&json).unwrap();
        let from_bin = common::wire::decode_recall(&bin).unwrap();
        assert!(from_json.timings.enrich_ms > 0.0 && from_bin.timings.enrich_ms > 0.0);
        // Only the timings differ between runs: the JSON texts must be the same outside
        // their timings object, and the bincode bytes the same with the typed answer's
        // timings set to the direct answer's.
        assert_eq!(
            without_timings(&serde_json::to_vec(&typed).unwrap()),
            without_timings(&json),
            "{params:?}"
        );
        typed.timings = from_bin.timings.clone();
        let mut typed_bin = Vec::new();
        common::wire::encode_recall(&typed, &mut typed_bin).unwrap();
        assert!(typed_bin == bin, "{params:?}: bincode differs");
        assert!(!typed.items.is_empty());
        escaped |= typed
            .items
            .iter()
            .any(|i| i.product.title.contains(['"', '\\']) || !i.product.title.is_ascii());
    }
    assert!(
        escaped,
        "some answer had a title that needs escaping or is not ASCII"
    );
}

#[test]
fn recalled_items_are_the_catalogs_current_rows_even_after_an_import_updates_one() {
    let tmp = catalog_copy();
    let layout = Layout::new(tmp.path());
    let engine = Engine::open(layout.clone(), &EngineOptions::default()).unwrap();
    let clicks = asins(tmp.path(), 3);
    let params = RecallParams {
        topn: 200,
        ..Default::default()
    };
    let catalog_row = |asin: &str| {
        recall_lab::catalog::get_product(
            &engine.conn().unwrap(),
            &recall_lab::Asin::parse(asin).unwrap(),
        )
        .unwrap()
    };
    // Read from products.rows: every field, the category name included, as SQLite has it.
    let before = engine.recall(&clicks, None, &params).unwrap();
    assert_eq!(before.items.len(), 200);
    for item in &before.items {
        assert_eq!(item.product, catalog_row(&item.product.asin));
    }

    // An import changes the title and price of the top item: the next recall shows the new row,
    // without a reindex (the build's rows are no longer read).
    let mut changed = before.items[0].product.clone();
    changed.title = "Retitled By The Test".into();
    changed.price += 1000.0;
    let csv = tmp.path().join("update.csv");
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    std::fs::write(
        &csv,
        format!(
            "asin,title,imgUrl,productURL,stars,reviews,price,listPrice,category_id,isBestSeller,boughtInLastMonth\n\
             {},{},{},{},{},{},{},{},{},{},{}\n",
            changed.asin,
            quoted(&changed.title),
            quoted(&changed.img_url),
            quoted(&changed.product_url),
            changed.stars,
            changed.reviews,
            changed.price,
            changed.list_price,
            changed.category_id,
            if changed.is_best_seller { "True" } else { "False" },
            changed.bought_in_last_month
        ),
    )
    .unwrap();
    let report = recall_lab::catalog::import(
        &layout.db(),
        recall_lab::catalog::Source::Csv(&csv),
        None,
        &tmp.path().join("rejects.txt"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(report.updated, 1);
    let after = engine.recall(&clicks, None, &params).unwrap();
    let item = after
        .items
        .iter()
        .find(|i| i.product.asin == changed.asin)
        .expect("still recalled: its vector did not change");
    assert_eq!(item.product, changed);
    assert_eq!(item.product, catalog_row(&changed.asin));
    for item in &after.items {
        assert_eq!(item.product, catalog_row(&item.product.asin));
    }
}

#[test]
fn content_channel_matches_exact_search_for_a_single_click() {
    let dir = built_catalog();
    let engine = Engine::open(Layout::new(&dir), &EngineOptions::default()).unwrap();
    let loaded = engine.current();
    let all = asins(&dir, loaded.asins.len());
    let params = RecallParams {
        topn: 20,
        channels: Some(vec!["content".into()]),
        ..Default::default()
    };
    let vectors = loaded.vectors.to_vec().unwrap();
    let mut agree = 0;
    let picks: Vec<usize> = (0..50).map(|i| i * all.len() / 50).collect();
    for &p in &picks {
        let r = engine.recall(&[all[p].clone()], None, &params).unwrap();
        let got: HashSet<String> = r.items.iter().map(|i| i.product.asin.clone()).collect();
        let exact = recall_lab::index::exact_search(
            &vectors,
            loaded.vectors.cols(),
            &loaded.vectors.row(p).unwrap(),
            21,
        )
        .unwrap();
        let truth: Vec<String> = exact
            .row(0)
            .map(|(l, _)| all[l].clone())
            .filter(|a| *a != all[p])
            .take(20)
            .collect();
        agree += truth.iter().filter(|a| got.contains(*a)).count();
    }
    let share = agree as f64 / (20 * picks.len()) as f64;
    assert!(
        share >= 0.95,
        "content top-20 agrees with exact search on {share:.3} of items"
    );
}

#[test]
fn seed_fusion_puts_cf_items_first_and_weights_steer_weighted_fusion() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let all = asins(tmp.path(), 200);
    let conn = engine.conn().unwrap();
    // Other users who clicked item 0 also clicked items 100 and 150.
    for u in ["a", "b", "c"] {
        let u = UserId::parse(u).unwrap();
        for i in [0, 100, 150] {
            clicks::add_click(&conn, &u, &recall_lab::Asin::parse(&all[i]).unwrap()).unwrap();
        }
    }
    // The model is rebuilt from the log (a server does this in the background).
    assert!(
        engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
    engine.refresh_cf(&Default::default()).unwrap();
    assert!(
        !engine
            .cf_stale(&engine.conn().unwrap(), &Default::default())
            .unwrap()
    );
    let clicks = vec![all[0].clone()];
    let seed = engine
        .recall(
            &clicks,
            None,
            &RecallParams {
                topn: 50,
                fusion: Fusion::Seed,
                ..Default::default()
            },
        )
        .unwrap();
    let first: HashSet<&str> = seed.items[..2]
        .iter()
        .map(|i| i.product.asin.as_str())
        .collect();
    assert_eq!(
        first,
        HashSet::from([all[100].as_str(), all[150].as_str()]),
        "CF first, as in the article"
    );
    assert_eq!(seed.items[0].because, vec![all[0].clone()]);
    assert_eq!(seed.counts["cf"].candidates, 2);

    let cf_heavy = RecallParams {
        topn: 50,
        fusion: Fusion::Weighted,
        weights: [("content", 0.1), ("cf", 5.0), ("popular", 0.0)]
            .map(|(c, w)| (c.to_owned(), w))
            .into(),
        ..Default::default()
    };
    let r = engine.recall(&clicks, None, &cf_heavy).unwrap();
    assert!(r.items[0].channels.contains_key("cf"));
    let content_heavy = RecallParams {
        weights: [("content", 5.0), ("cf", 0.0), ("popular", 0.0)]
            .map(|(c, w)| (c.to_owned(), w))
            .into(),
        ..cf_heavy
    };
    let r = engine.recall(&clicks, None, &content_heavy).unwrap();
    assert!(r.items[0].channels.contains_key("content") && !r.items[0].channels.contains_key("cf"));
}

#[test]
fn a_user_without_clicks_gets_popular_items() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let r = engine
        .recall(
            &[],
            None,
            &RecallParams {
                topn: 30,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.items.len(), 30);
    assert!(r.items.iter().all(|i| i.channels.contains_key("popular")));
    let pops: Vec<f32> = r.items.iter().map(|i| i.channels["popular"]).collect();
    assert!(pops.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn the_category_channel_recalls_popular_items_of_the_clicked_categories() {
    let tmp = catalog_copy();
    let engine = Engine::open(Layout::new(tmp.path()), &EngineOptions::default()).unwrap();
    let loaded = engine.current();
    let all = asins(tmp.path(), loaded.asins.len());
    let category_of = |a: &str| {
        let pos = loaded.asins.position(a).unwrap() as usize;
        loaded.rows.category_id(pos).unwrap()
    };
    // Three clicks in one category, one in another: the first category's items score higher.
    let first = category_of(&all[0]);
    let mut clicks: Vec<String> = all
        .iter()
        .filter(|a| category_of(a) == first)
        .take(3)
        .cloned()
        .collect();
    let other = all.iter().find(|a| category_of(a) != first).unwrap();
    clicks.push(other.clone());
    let second = category_of(other);
    let params = RecallParams {
        topn: 40,
        channels: Some(vec!["category".into()]),
        ..Default::default()
    };
    let r = engine.recall(&clicks, None, &params).unwrap();
    assert!(!r.items.is_empty());
    assert_eq!(r.params.channels, ["category"]);
    for i in &r.items {
        let c = i.product.category_id;
        assert!(
            c == first || c == second,
            "{} is in category {c}",
            i.product.asin
        );
        assert!(!clicks.contains(&i.product.asin), "no clicked item");
        // The evidence is the clicks of the item's category.
        assert!(i.because.iter().all(|b| category_of(b) == c) && !i.because.is_empty());
        assert!(i.channels.contains_key("category"));
    }
    let scores: Vec<f32> = r.items.iter().map(|i| i.channels["category"]).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first");
    assert_eq!(
        r.items[0].product.category_id, first,
        "the most clicked category leads"
    );
    // Off by default; on next to the others, it joins the fused list.
    let default = engine
        .recall(&clicks, None, &RecallParams::default())
        .unwrap();
    assert!(!default.params.channels.contains(&"category".to_owned()));
    assert!(
        default
            .items
            .iter()
            .all(|i| !i.channels.contains_key("category"))
    );
    let hybrid = RecallParams {
        channels: Some(
            ["content", "cf", "popular", "category"]
                .map(String::from)
                .to_vec(),
        ),
        ..Default::default()
    };
    let r = engine.recall(&clicks, None, &hybrid).unwrap();
    assert!(r.counts["category"].returned > 0);
    assert_eq!(r.params.weights["category"], 0.5);
}

#[test]
fn filters_apply_to_every_recalled_item() {
    let dir = built_catalog();
    let engine = Engine::open(Layout::new(&dir), &EngineOptions::default()).unwrap();
    let all = asins(&dir, 10);
    let filters = common::Filters {
        min_price: Some(20.0),
        max_price: Some(80.0),
        min_stars: Some(4.0),
        category: None,
    };
    let r = engine
        .recall(
            &all[..3],
            None,
            &RecallParams {
                topn: 100,
                filters: filters.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!r.items.is_empty());
    assert!(r.items.iter().all(|i| filters.accepts(&i.product)));
}

#[test]
fn category_precision_of_similar_matches_the_reference() {
    let dir = built_catalog();
    let engine = Engine::open(Layout::new(&dir), &EngineOptions::default()).unwrap();
    let p = recall_lab::eval::category_precision(&engine, 10, recall_lab::eval::Neighbours::Index)
        .unwrap();
    if sample_dir().is_some() {
        assert!(
            (p - 0.368).abs() <= 0.01,
            "precision@10 {p:.4} vs 0.368 for exact fp32 search"
        );
    } else {
        assert!(p > 0.3, "demo catalog precision@10 {p:.4}");
    }
}
