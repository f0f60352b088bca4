//! The embed step as a user runs it: killed with SIGKILL part-way, a rerun finishes without
//! re-embedding finished rows and yields exactly the vectors of an uninterrupted run; after a
//! re-import only changed titles are embedded, and the stale index is named with its fix.

use recall_lab::catalog::{self, Source};
use recall_lab::layout::Layout;
use recall_lab_tests::{binary, catalog_csvs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: usize = 1_200;

/// A data dir holding the first `ROWS` products of the test catalog.
fn small_catalog(dir: &Path) {
    let (csv, _) = catalog_csvs();
    let text = std::fs::read_to_string(csv).unwrap();
    let head: Vec<&str> = text.lines().take(ROWS + 1).collect();
    let small = dir.join("small.csv");
    std::fs::write(&small, head.join("\n") + "\n").unwrap();
    let r = catalog::import(
        &Layout::new(dir).db(),
        Source::Csv(&small),
        None,
        &dir.join("rejects.txt"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(r.loaded as usize, ROWS);
}

fn embed(dir: &Path) -> serde_json::Value {
    let out = Command::new(binary())
        .args(["--json", "embed", "--checkpoint-every", "128", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "embed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn parts(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("embed-checkpoint"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn kill_9_then_rerun_resumes_and_matches_an_uninterrupted_run() {
    let whole = tempfile::tempdir().unwrap();
    small_catalog(whole.path());
    let r = embed(whole.path());
    assert_eq!(r["embedded"], ROWS);

    let killed = tempfile::tempdir().unwrap();
    small_catalog(killed.path());
    let mut child = Command::new(binary())
        .args(["embed", "--checkpoint-every", "128", "--data-dir"])
        .arg(killed.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while parts(killed.path()) < 3 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no checkpoint part appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "embed finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !killed.path().join("product_emb.npy").exists(),
        "killed before the end"
    );
    let done = parts(killed.path()) * 128;
    assert!(done > 0 && done < ROWS);

    let r = embed(killed.path());
    assert_eq!(r["reused"], done, "finished rows are not embedded again");
    assert_eq!(r["embedded"], ROWS - done);
    let a = std::fs::read(whole.path().join("product_emb.npy")).unwrap();
    let b = std::fs::read(killed.path().join("product_emb.npy")).unwrap();
    assert_eq!(
        a.len(),
        128 + ROWS * 384 * 4,
        "N×384 float32 after a 128-byte header"
    );
    assert!(
        a == b,
        "vectors equal those of the uninterrupted run, bit for bit"
    );
    assert_eq!(
        std::fs::read(whole.path().join("asin_list.txt")).unwrap(),
        std::fs::read(killed.path().join("asin_list.txt")).unwrap()
    );
}

#[test]
fn after_a_reimport_only_changed_titles_are_embedded_and_the_stale_index_is_named() {
    let dir = tempfile::tempdir().unwrap();
    small_catalog(dir.path());
    embed(dir.path());
    let out = Command::new(binary())
        .args(["--json", "index", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let layout = Layout::new(dir.path());
    let c = catalog::open(&layout.db()).unwrap();
    let asin: String = c
        .query_row(
            "SELECT asin FROM amazon_products LIMIT 1 OFFSET 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let changed = dir.path().join("changed.csv");
    std::fs::write(&changed, format!("asin,title,imgUrl,productURL,stars,reviews,price,listPrice,category_id,isBestSeller,boughtInLastMonth\n{asin},A Completely New Title For Testing,,,4.0,1,1.0,0.0,1,False,0\nNEW0000001,Brand New Product Title,,,4.0,1,1.0,0.0,1,False,0\n")).unwrap();
    let r = catalog::import(
        &layout.db(),
        Source::Csv(&changed),
        None,
        &dir.path().join("r.txt"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!((r.loaded, r.updated), (1, 1));

    // The server would refuse the stale artifacts, naming the file and the rebuild command.
    let err = recall_lab::manifest::Manifest::check_fresh(
        &layout,
        catalog::catalog_revision(&c).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("product_emb.npy") && err.contains("recall-lab build"),
        "{err}"
    );
    let out = Command::new(binary())
        .args(["recall", "--user", "nobody", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("recall-lab build"));

    let r = embed(dir.path());
    assert_eq!(
        (r["embedded"].as_u64(), r["reused"].as_u64()),
        (Some(2), Some(ROWS as u64 - 1))
    );
    assert_eq!(r["rows"], ROWS + 1);
    let err = recall_lab::manifest::Manifest::check_fresh(
        &layout,
        catalog::catalog_revision(&c).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("faiss.index") && err.contains("recall-lab index"),
        "{err}"
    );
}
