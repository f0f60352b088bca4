//! Recall quality: category precision@K of item-to-item neighbours, ANN recall against exact
//! search, the build's fidelity to the fp32 reference model (`fidelity`), and held-out
//! evaluation of the channels and fusions on simulated sessions; written as a JSON report and an
//! HTML report with SVG charts.

pub mod fidelity;

use crate::error::{Error, Result};
use crate::index::Query;
use crate::layout::Layout;
use crate::recall::{Engine, EngineOptions};
use crate::simulate::{self, SimOptions};
use common::{AnnEval, Fusion, RecallParams};
use std::collections::HashMap;
use std::path::Path;

/// Which search finds the neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Neighbours {
    /// The index at the nprobe `similar` uses.
    Index,
    /// Exact inner-product search over the same vectors.
    Exact,
}

/// Mean, over every item with a vector, of the share of its `k` nearest neighbours (itself
/// excluded) that are in its category.
pub fn category_precision(engine: &Engine, k: usize, how: Neighbours) -> Result<f64> {
    let loaded = engine.current();
    let conn = engine.conn()?;
    let cat: HashMap<String, i64> = {
        let mut st = conn.prepare("SELECT asin, coalesce(category_id, 0) FROM amazon_products")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let all = loaded.vectors.to_vec()?;
    let n = loaded.vectors.rows();
    let found = match how {
        Neighbours::Exact => crate::index::exact_search(&all, loaded.vectors.cols(), &all, k + 1)?,
        Neighbours::Index => {
            loaded
                .index
                .search(&Query::new(&all, k + 1, loaded.index.nprobe_for_k(k + 1)))?
        }
    };
    let mut total = 0.0;
    for q in 0..n {
        let mine = cat.get(loaded.asins.get(q));
        let hits: Vec<usize> = found
            .row(q)
            .map(|(l, _)| l)
            .filter(|&l| l != q)
            .take(k)
            .collect();
        let same = hits
            .iter()
            .filter(|&&l| cat.get(loaded.asins.get(l)) == mine)
            .count();
        total += same as f64 / k as f64;
    }
    Ok(total / n.max(1) as f64)
}

/// Options of `recall-lab eval`.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub samples: usize,
    pub sessions: usize,
    /// Share of sessions held out for testing; the rest feed the CF channel.
    pub test_share: f64,
    pub seed: u64,
    pub ks: Vec<usize>,
    /// Titles compared with the fp32 reference model (0: skip the comparison).
    pub fidelity_titles: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            samples: 500,
            sessions: 1_000,
            test_share: 0.2,
            seed: 3,
            ks: vec![10, 50, 100],
            fidelity_titles: 5_000,
        }
    }
}

pub use common::{EvalReport, Fidelity, HeldOut, HeldOutRow, PrecisionPoint};

/// Runs the whole evaluation. The held-out part works on a scratch copy of the catalog so the
/// user's own clicks are neither used nor changed.
pub fn run(layout: &Layout, opts: &EvalOptions) -> Result<EvalReport> {
    let engine = Engine::open(
        layout.clone(),
        &EngineOptions {
            pool_size: 4,
            ..Default::default()
        },
    )?;
    let sweep = engine.default_sweep();
    let ann_at_10 = engine.ann_eval(10, &sweep, opts.samples)?;
    let ann_at_100 = engine.ann_eval(100, &sweep, opts.samples)?;
    let mut precision = Vec::new();
    for k in [5, 10, 20] {
        precision.push(PrecisionPoint {
            k,
            index: category_precision(&engine, k, Neighbours::Index)?,
            exact: category_precision(&engine, k, Neighbours::Exact)?,
        });
    }
    let fidelity = if opts.fidelity_titles > 0 {
        fidelity::measure(&engine, opts.fidelity_titles)?
    } else {
        None
    };
    let loaded = engine.current();
    let model = loaded.embeddings.model.name.clone();
    let build_id = loaded.info.build_id.clone();
    let (catalog, index_factory, nlist, default_nprobe) = (
        loaded.asins.len(),
        loaded.info.factory.clone(),
        loaded.index.nlist(),
        loaded.index.default_nprobe(),
    );
    drop(loaded);
    drop(engine);
    let held_out = held_out(layout, opts)?;
    Ok(EvalReport {
        model,
        build_id,
        fidelity,
        catalog,
        index_factory,
        nlist,
        default_nprobe,
        ann_at_10,
        ann_at_100,
        precision,
        held_out,
        generated_at: crate::util::now_rfc3339(),
    })
}

/// The configurations compared on held-out sessions: each registered channel alone, then the
/// default hybrid under each fusion.
fn configs() -> Vec<(String, RecallParams)> {
    let mut v: Vec<(String, RecallParams)> = crate::recall::channels::REGISTRY
        .iter()
        .map(|c| {
            let params = RecallParams {
                channels: Some(vec![c.name().to_owned()]),
                ..Default::default()
            };
            (format!("{} only", c.name()), params)
        })
        .collect();
    for f in Fusion::ALL {
        v.push((
            format!("hybrid, {} fusion", f.as_str()),
            RecallParams {
                fusion: f,
                ..Default::default()
            },
        ));
    }
    v
}

fn held_out(layout: &Layout, opts: &EvalOptions) -> Result<HeldOut> {
    let scratch = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    let s = Layout::new(scratch.path());
    std::fs::copy(layout.db(), s.db()).map_err(Error::io(layout.db()))?;
    let wal = layout.dir.join("recommend.db-wal");
    if wal.exists() {
        std::fs::copy(&wal, scratch.path().join("recommend.db-wal")).map_err(Error::io(&wal))?;
    }
    for (from, to) in [
        (layout.embeddings(), s.embeddings()),
        (layout.asin_list(), s.asin_list()),
        (layout.index(), s.index()),
        (layout.rows(), s.rows()),
        (layout.manifest(), s.manifest()),
    ] {
        if from == layout.index() && !from.exists() {
            continue; // a Milvus build: the copy searches the same collection
        }
        std::os::unix::fs::symlink(std::fs::canonicalize(&from).map_err(Error::io(&from))?, &to)
            .map_err(Error::io(&to))?;
    }
    let engine = Engine::open(
        s,
        &EngineOptions {
            pool_size: 4,
            ..Default::default()
        },
    )?;
    engine
        .conn()?
        .execute_batch("DELETE FROM user_clicks; DELETE FROM users;")?;
    let sim = SimOptions {
        users: opts.sessions,
        seed: opts.seed,
        prefix: "eval-".into(),
        ..Default::default()
    };
    let sessions = simulate::sessions(&engine, &sim)?;
    let n_test = ((sessions.len() as f64) * opts.test_share).round() as usize;
    let (test, train) = sessions.split_at(n_test);
    {
        let conn = engine.conn()?;
        let tx = conn.unchecked_transaction()?;
        for (u, s) in train.iter().enumerate() {
            for (i, a) in s.iter().enumerate() {
                tx.execute(
                    "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3)",
                    rusqlite::params![format!("train-{u}"), a, i as i64],
                )?;
            }
        }
        tx.commit()?;
    }
    engine.refresh_cf(&crate::cf::CfOptions::default())?;
    let kmax = opts.ks.iter().copied().max().unwrap_or(10);
    let mut rows = Vec::new();
    for (name, params) in configs() {
        let params = RecallParams {
            topn: kmax,
            ..params
        };
        let mut hits = vec![0.0; opts.ks.len()];
        let mut ndcg = vec![0.0; opts.ks.len()];
        let t = std::time::Instant::now();
        for session in test {
            let (target, history) = session
                .split_last()
                .expect("sessions have at least 2 clicks");
            let recent_first: Vec<String> = history.iter().rev().cloned().collect();
            let r = engine.recall(&recent_first, None, &params)?;
            if let Some(rank) = r.items.iter().position(|i| &i.product.asin == target) {
                for (j, &k) in opts.ks.iter().enumerate() {
                    if rank < k {
                        hits[j] += 1.0;
                        ndcg[j] += 1.0 / ((rank + 2) as f64).log2();
                    }
                }
            }
        }
        let n = test.len().max(1) as f64;
        rows.push(HeldOutRow {
            config: name,
            hit_rate: hits.iter().map(|h| h / n).collect(),
            ndcg: ndcg.iter().map(|h| h / n).collect(),
            mean_ms: t.elapsed().as_secs_f64() * 1e3 / n,
        });
    }
    Ok(HeldOut {
        ks: opts.ks.clone(),
        train_sessions: train.len(),
        test_sessions: test.len(),
        rows,
    })
}

/// The report `recall-lab eval` last wrote into the data dir's `eval/` folder, if any.
pub fn load_report(layout: &Layout) -> Result<Option<EvalReport>> {
    let path = layout.dir.join("eval").join("eval_report.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path)(e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Format {
            path,
            message: e.to_string(),
        })
}

/// Writes `eval_report.json` and `eval_report.html` into `out`.
pub fn write_reports(report: &EvalReport, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let json = serde_json::to_vec_pretty(report).map_err(|e| Error::Format {
        path: out.join("eval_report.json"),
        message: e.to_string(),
    })?;
    crate::layout::write_atomic(&out.join("eval_report.json"), |w| {
        std::io::Write::write_all(w, &json)
    })?;
    let html = html(report);
    crate::layout::write_atomic(&out.join("eval_report.html"), |w| {
        std::io::Write::write_all(w, html.as_bytes())
    })
}

/// One chart series: name, colour, (x, y) points.
pub type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// An SVG line chart of `series` (name, colour, points) over log2 x.
pub fn svg_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
    y_max: Option<f64>,
) -> String {
    let (w, h, l, r, t, b) = (600.0, 300.0, 56.0, 16.0, 30.0, 44.0);
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0.max(1.0).log2()))
        .collect();
    let (x0, x1) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(1.0),
    );
    let y1 = y_max
        .unwrap_or_else(|| {
            series
                .iter()
                .flat_map(|s| s.2.iter().map(|p| p.1))
                .fold(0.0, f64::max)
                * 1.1
        })
        .max(1e-9);
    let px = |x: f64| l + (x.max(1.0).log2() - x0) / (x1 - x0).max(1e-9) * (w - l - r);
    let py = |y: f64| h - b - y / y1 * (h - t - b);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" font-family="sans-serif" font-size="11">"#
    );
    s += &format!(
        r#"<text x="{}" y="18" font-size="13" font-weight="bold">{title}</text>"#,
        8.0
    );
    s += &format!(
        r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#888"/><line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="#888"/>"##,
        h - b,
        w - r,
        h - b,
        h - b
    );
    for i in 0..=4 {
        let y = y1 * i as f64 / 4.0;
        let (tx, ty, gy, gx) = (l - 4.0, py(y) + 4.0, py(y), w - r);
        s += &format!(
            r##"<text x="{tx}" y="{ty}" text-anchor="end">{y:.3}</text><line x1="{l}" x2="{gx}" y1="{gy}" y2="{gy}" stroke="#eee"/>"##
        );
    }
    let mut ticks: Vec<f64> = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        s += &format!(
            r#"<text x="{}" y="{}" text-anchor="middle">{x}</text>"#,
            px(x),
            h - b + 14.0
        );
    }
    s += &format!(
        r#"<text x="{}" y="{}" text-anchor="middle">{x_label}</text>"#,
        (l + w - r) / 2.0,
        h - 8.0
    );
    s += &format!(
        r#"<text x="12" y="{}" transform="rotate(-90 12 {0})" text-anchor="middle">{y_label}</text>"#,
        (t + h - b) / 2.0
    );
    for (i, (name, colour, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        s += &format!(
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        for (x, y) in pts {
            s += &format!(
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{name}: {x} → {y:.4}</title></circle>"#,
                px(*x),
                py(*y)
            );
        }
        // Legend in one row under the title, clear of the curves.
        let lx = l + 200.0 + 110.0 * i as f64;
        s += &format!(
            r#"<rect x="{lx}" y="9" width="10" height="10" fill="{colour}"/><text x="{}" y="18">{name}</text>"#,
            lx + 14.0
        );
    }
    s + "</svg>"
}

fn html(r: &EvalReport) -> String {
    let pts = |e: &AnnEval, f: fn(&common::AnnPoint) -> f64| {
        e.points
            .iter()
            .map(|p| (p.nprobe.unwrap_or(1) as f64, f(p)))
            .collect::<Vec<_>>()
    };
    let recall = svg_chart(
        "ANN recall against exact search",
        "nprobe",
        "recall",
        &[
            ("recall@10", "#2563eb", pts(&r.ann_at_10, |p| p.recall)),
            ("recall@100", "#16a34a", pts(&r.ann_at_100, |p| p.recall)),
        ],
        Some(1.0),
    );
    let latency = svg_chart(
        "Search time per query (ms)",
        "nprobe",
        "ms",
        &[
            ("ANN k=10", "#2563eb", pts(&r.ann_at_10, |p| p.ann_ms)),
            ("ANN k=100", "#16a34a", pts(&r.ann_at_100, |p| p.ann_ms)),
            ("exact k=10", "#dc2626", pts(&r.ann_at_10, |p| p.exact_ms)),
        ],
        None,
    );
    let mut rows = String::new();
    for row in &r.held_out.rows {
        rows += &format!("<tr><td>{}</td>", row.config);
        for (h, n) in row.hit_rate.iter().zip(&row.ndcg) {
            rows += &format!("<td>{h:.3}</td><td>{n:.3}</td>");
        }
        rows += &format!("<td>{:.2}</td></tr>", row.mean_ms);
    }
    let head: String = r
        .held_out
        .ks
        .iter()
        .map(|k| format!("<th>hit@{k}</th><th>NDCG@{k}</th>"))
        .collect();
    let prec: String = r
        .precision
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                p.k, p.index, p.exact
            )
        })
        .collect();
    let fidelity = match &r.fidelity {
        Some(f) => format!(
            "<p>{n} titles embedded again by the reference <code>{reference}</code>: cosine to \
             the build's vectors {mean:.4} on average (min {min:.4}); top-10 neighbour overlap \
             {overlap:.3}.</p>",
            n = f.titles,
            reference = f.reference,
            mean = f.cosine_mean,
            min = f.cosine_min,
            overlap = f.top10_overlap
        ),
        None => "<p>Not measured: the fp32 reference model is not installed here \
                 (scripts/setup.sh makes it).</p>"
            .into(),
    };
    format!(
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Recall Lab evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#111}}table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}.charts{{display:flex;flex-wrap:wrap;gap:1rem}}.charts svg{{width:480px;max-width:100%;border:1px solid #eee}}</style>
<h1>Recall Lab evaluation</h1>
<p>{catalog} items embedded by <code>{model}</code>; index <code>{factory}</code>, nlist {nlist}, default nprobe {nprobe}; generated {at}.</p>
<h2>Fidelity to fp32</h2>{fidelity}
<h2>ANN recall</h2><div class="charts">{recall}{latency}</div>
<h2>Category precision of item-to-item neighbours</h2>
<p>Share of an item's K nearest neighbours in its own category (reference on the 4,960-row sample: 0.368 at K=10 with exact search over fp32 sentence-transformers vectors).</p>
<table><tr><th>K</th><th>index (similar)</th><th>exact</th></tr>{prec}</table>
<h2>Held-out sessions</h2>
<p>{test} simulated sessions held out (their last click hidden, recalled from the rest); {train} training sessions feed the CF channel.</p>
<table><tr><th>configuration</th>{head}<th>ms/recall</th></tr>{rows}</table>
</html>"#,
        catalog = r.catalog,
        model = crate::util::html_escape(&r.model),
        factory = r.index_factory,
        nlist = r.nlist.map_or("-".into(), |v| v.to_string()),
        nprobe = r.default_nprobe.map_or("-".into(), |v| v.to_string()),
        at = r.generated_at,
        test = r.held_out.test_sessions,
        train = r.held_out.train_sessions,
    )
}
