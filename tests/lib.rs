//! Shared fixtures for the integration tests: the real 4,960-row sample (or the demo catalog
//! when the sample is absent) built once per test run and copied per test, and the path of the
//! `recall-lab` binary.

use recall_lab::layout::Layout;
use recall_lab::pipeline::{self, BuildOptions, Progress};
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// `../shared/data/amazon-sample` beside the repository, when present.
pub fn sample_dir() -> Option<PathBuf> {
    let d = root().join("../shared/data/amazon-sample");
    d.join("amazon_products.csv").exists().then_some(d)
}

/// The product and category CSVs the fixtures use: the real sample when present, else the
/// demo catalog the repository ships.
pub fn catalog_csvs() -> (PathBuf, PathBuf) {
    let d = sample_dir().unwrap_or_else(|| root().join("backend/demo"));
    (
        d.join("amazon_products.csv"),
        d.join("amazon_categories.csv"),
    )
}

/// The `recall-lab` binary built beside this test (target/<profile>/recall-lab).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join("recall-lab");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --release -p backend`, done by scripts/test.sh)",
        bin.display()
    );
    bin
}

struct Quiet;
impl Progress for Quiet {
    fn stage(&self, _: &str, _: Option<u64>) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
}

/// A data directory with the catalog built (import, embed, index), shared by every test of
/// this run: built once under a file lock, then reused.
pub fn built_catalog() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let base = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("test-data");
    std::fs::create_dir_all(&base).expect("test-data dir");
    let run = std::env::var("RECALL_LAB_TEST_RUN").unwrap_or_else(|_| "local".into());
    let dir = base.join(format!("catalog-{run}"));
    let lock = std::fs::File::create(base.join(format!("catalog-{run}.lock"))).expect("lock file");
    fs2::FileExt::lock_exclusive(&lock).expect("lock");
    let layout = Layout::new(&dir);
    // Fresh: built at the catalog's revision, and embedded with the default model as it is now
    // (setup remakes the model when its recipe changes; a catalog embedded with the old one
    // would fail text search).
    let model = std::fs::read(
        recall_lab::embed::ModelPaths::resolve(&Default::default())
            .expect("the default model is named")
            .model_dir
            .join("model.onnx"),
    )
    .map(|bytes| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
    .unwrap_or_default();
    let fresh = recall_lab::catalog::open(&layout.db())
        .ok()
        .and_then(|c| recall_lab::catalog::catalog_revision(&c).ok())
        .and_then(|rev| recall_lab::manifest::Manifest::check_fresh(&layout, rev).ok())
        .is_some_and(|(embeddings, _)| embeddings.model.sha256 == model);
    if !fresh {
        let (csv, cats) = catalog_csvs();
        let opts = BuildOptions {
            csv: Some(csv),
            categories: Some(cats),
            ..Default::default()
        };
        pipeline::build(&layout, &opts, &Quiet).expect("building the test catalog");
    }
    // A catalog built before the map existed gets one.
    let build_id = recall_lab::manifest::Manifest::load(&layout)
        .ok()
        .flatten()
        .and_then(|m| m.index)
        .map(|i| i.build_id)
        .unwrap_or_default();
    if recall_lab::map::load(&layout, &build_id).is_err() {
        recall_lab::map::build(&layout, &Default::default()).expect("mapping the test catalog");
    }
    fs2::FileExt::unlock(&lock).expect("unlock");
    dir
}

/// A private copy of the built catalog, for a test that writes to it.
pub fn catalog_copy() -> tempfile::TempDir {
    let src = built_catalog();
    let tmp = tempfile::tempdir().expect("tempdir");
    for f in [
        "recommend.db",
        "recommend.db-wal",
        "product_emb.npy",
        "asin_list.txt",
        "faiss.index",
        "products.rows",
        "manifest.json",
        "cf.model",
        "catalog_map.json",
    ] {
        if f.ends_with("-wal") && !src.join(f).exists() {
            continue;
        }
        std::fs::copy(src.join(f), tmp.path().join(f))
            .unwrap_or_else(|e| panic!("copying {f}: {e}"));
    }
    // The embedding checkpoint too, so that a reindex re-embeds only what changed, as it would
    // in the original folder.
    let ckpt = tmp.path().join("embed-checkpoint");
    std::fs::create_dir_all(&ckpt).expect("checkpoint dir");
    for e in std::fs::read_dir(src.join("embed-checkpoint"))
        .expect("checkpoint")
        .flatten()
    {
        std::fs::copy(e.path(), ckpt.join(e.file_name())).expect("copying the checkpoint");
    }
    tmp
}

/// The first `n` asins of a built catalog, in row order.
pub fn asins(dir: &Path, n: usize) -> Vec<String> {
    std::fs::read_to_string(dir.join("asin_list.txt"))
        .expect("asin list")
        .lines()
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// The Trunk build the walks serve.
pub fn dist() -> std::path::PathBuf {
    let d = root().join("dist");
    assert!(
        d.join("index.html").exists(),
        "dist/ is missing: run `trunk build --release` first (scripts/test.sh does)"
    );
    d
}

/// The admin token the walks' server takes (bringing a catalog in is an admin's job).
pub const ADMIN_TOKEN: &str = "walk-admin";

/// One browser walk at a time: two Chromiums and two servers on a 2-core machine would make
/// each other's timeouts.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `tests/browser/<script> BASE SHOTS ARGS...` against `recall-lab serve` on `dir`.
pub fn walk_on(dir: &std::path::Path, script: &str, args: &[&str]) -> std::path::PathBuf {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(binary())
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .arg("--dist-dir")
        .arg(dist())
        .env("RECALL_LAB_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let exe = std::env::current_exe().unwrap();
    let shots = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("screenshots");
    let out = std::process::Command::new("node")
        .arg(root().join("tests/browser").join(script))
        .arg(&base)
        .arg(&shots)
        .args(args)
        .output()
        .expect("node runs");
    let _ = server.kill();
    let _ = server.wait();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{log}");
    assert!(out.status.success(), "{script} failed:\n{log}");
    shots
}

/// A real Milvus server (PyPI's standalone `milvus` 2.3.5, installed by scripts/setup.sh) on free
/// local ports, started by `scripts/milvus_server.py` for this test binary and stopped with it:
/// on drop, or by the launcher itself when the test process exits without dropping it.
pub struct MilvusServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, the gRPC endpoint.
    pub uri: String,
    _dir: tempfile::TempDir,
}

impl MilvusServer {
    /// Starts a server, or panics saying why: the Milvus tests never skip.
    pub fn start() -> MilvusServer {
        let cache = std::env::var_os("RECALL_LAB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/recall-lab")
            });
        let python = cache.join("milvusenv/bin/python");
        assert!(
            python.exists(),
            "the Milvus server is not installed ({} is missing): run scripts/setup.sh",
            python.display()
        );
        let dir = tempfile::tempdir().expect("a base dir for Milvus");
        let ready = dir.path().join("ready");
        let log = std::fs::File::create(dir.path().join("launcher.log")).expect("launcher log");
        let mut child = std::process::Command::new(&python)
            .arg(root().join("scripts/milvus_server.py"))
            .arg("--base-dir")
            .arg(dir.path())
            .arg("--ready-file")
            .arg(&ready)
            .arg("--exit-with-parent")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting scripts/milvus_server.py");
        let t = std::time::Instant::now();
        let port = loop {
            if let Ok(line) = std::fs::read_to_string(&ready) {
                let port = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("port="))
                    .and_then(|p| p.parse::<u16>().ok())
                    .expect("MILVUS_READY port=N");
                break port;
            }
            let log =
                || std::fs::read_to_string(dir.path().join("launcher.log")).unwrap_or_default();
            if let Some(status) = child.try_wait().expect("launcher status") {
                panic!("the Milvus server could not start ({status}):\n{}", log());
            }
            if t.elapsed() > std::time::Duration::from_secs(150) {
                let _ = child.kill();
                panic!("the Milvus server did not start in 150 s:\n{}", log());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        eprintln!(
            "Milvus 2.3.5 listening on 127.0.0.1:{port} (started in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
        MilvusServer {
            child,
            uri: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for MilvusServer {
    fn drop(&mut self) {
        // SIGTERM: the launcher stops the server (SIGKILL after its grace period) and exits.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
