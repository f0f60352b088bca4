//! The server as a process and over a real socket: a missing artifact stops the start with the
//! command that makes it; under concurrent recall load nothing fails, and a reindex started
//! during the load swaps the index without a failed request.

#[path = "support/load.rs"]
mod load;

use recall_lab_tests::{binary, catalog_copy};
use std::process::Command;

fn serve_fails_with(dir: &std::path::Path) -> String {
    let out = Command::new(binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_index_or_manifest_stops_the_start_and_names_the_fix() {
    let tmp = catalog_copy();
    std::fs::remove_file(tmp.path().join("faiss.index")).unwrap();
    let err = serve_fails_with(tmp.path());
    assert!(
        err.contains("faiss.index") && err.contains("recall-lab index"),
        "{err}"
    );

    std::fs::remove_file(tmp.path().join("manifest.json")).unwrap();
    let err = serve_fails_with(tmp.path());
    assert!(
        err.contains("manifest.json") && err.contains("recall-lab build"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_recalls_and_a_reindex_under_load_never_fail() {
    let tmp = catalog_copy();
    load::reindex_under_load(tmp.path()).await;
}
