//! The browser app end to end: `recall-lab serve` on the real sample serves the Trunk build, and
//! headless Chromium (driven by tests/browser/*.mjs with playwright-core) searches, clicks,
//! recalls, changes controls, saves and reopens a scenario, compares, reviews (judging,
//! explaining, rank diffs) and checks both widths.
//! Screenshots land in `target/<profile>/screenshots/`.

use recall_lab_tests::{ADMIN_TOKEN, binary, catalog_copy, dist, root, walk_on};
use std::io::Write;
use std::process::Command;

#[test]
fn the_compressed_wasm_is_at_most_600_kb() {
    let wasm = std::fs::read_dir(dist())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .expect("a .wasm in dist/");
    let bytes = std::fs::read(&wasm).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).unwrap();
    let size = gz.finish().unwrap().len();
    assert!(
        size <= 600 * 1024,
        "{} is {size} bytes gzipped",
        wasm.display()
    );
}

/// Runs `tests/browser/<script>` against `recall-lab serve` on a private copy of the catalog;
/// returns the screenshot folder. Fails with the script's output when it fails.
fn walk(script: &str) -> std::path::PathBuf {
    let tmp = catalog_copy();
    walk_on(tmp.path(), script, &[])
}

#[test]
fn a_qa_walkthrough_in_headless_chromium() {
    let shots = walk("e2e.mjs");
    for view in ["catalog", "recall", "compare", "quality"] {
        for w in [390, 1440] {
            assert!(
                shots.join(format!("{view}-{w}.png")).exists(),
                "screenshot {view}-{w}"
            );
        }
    }
}

/// Issue 31's review workbench as a reviewer and QA use it (tests/browser/review.mjs): a
/// scenario link in a fresh context, keyboard judging and the judged metrics, the same
/// judgments on another fusion, the explanation panel, the compare view's rank diff and link,
/// and the dialog, navigation and catalog bugs.
#[test]
fn the_review_workbench_in_headless_chromium() {
    let shots = walk("review.mjs");
    for shot in [
        "recall-explain-1440",
        "recall-explain-390",
        "compare-review-1440",
        "compare-review-390",
        "scenarios-1440",
        "scenarios-review-390",
    ] {
        assert!(
            shots.join(format!("{shot}.png")).exists(),
            "screenshot {shot}"
        );
    }
}

/// The README's demo, built as `scripts/demo.sh` builds it (the shipped demo catalog, its drawn
/// pictures, simulated users), walked by tests/browser/demo.mjs with every other host cut off:
/// Issue 32's pictures, map, phone and tablet layouts.
#[test]
fn the_demo_catalog_with_pictures_and_map_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(binary())
            .args(args)
            .arg("--data-dir")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "recall-lab {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let demo = root().join("backend/demo");
    run(&[
        "build",
        "--csv",
        demo.join("amazon_products.csv").to_str().unwrap(),
        "--categories",
        demo.join("amazon_categories.csv").to_str().unwrap(),
        "--draw-images",
    ]);
    run(&["simulate", "--users", "300"]);
    let shots = walk_on(tmp.path(), "demo.mjs", &["sim-0001"]);
    for view in ["catalog", "recall", "map"] {
        for w in [390, 768, 1440] {
            assert!(
                shots.join(format!("demo-{view}-{w}.png")).exists(),
                "screenshot demo-{view}-{w}"
            );
        }
    }
}

/// Issue 32's own catalog, from the app: tests/browser/byo.mjs uploads tests/fixtures/
/// shop_catalog.csv (a header the import does not know), fixes the asin column, builds it with
/// the progress in sight, opens it (the URL names it) and recalls on it.
#[test]
fn bringing_your_own_catalog_in_headless_chromium() {
    let tmp = catalog_copy();
    let csv = root().join("tests/fixtures/shop_catalog.csv");
    let shots = walk_on(tmp.path(), "byo.mjs", &[csv.to_str().unwrap(), ADMIN_TOKEN]);
    assert!(shots.join("byo-recall-1440.png").exists());
}
