//! The review report: one self-contained HTML file for a set of scenarios (inline CSS and SVG,
//! lettered placeholders for product pictures, nothing fetched when it opens), with each
//! scenario's configurations, judged metrics, beyond-accuracy summary, expectation results and
//! judged items; and the judgments as CSV.

use super::check::evaluate;
use crate::error::Result;
use crate::recall::Engine;
use crate::util::html_escape as esc;
use common::{
    Grade, Judgment, Product, RecallParams, RecallResponse, RecallSummary, Scenario,
    judged_metrics, latest_grades,
};
use std::collections::HashMap;
use std::fmt::Write;

/// The K of the report's judged metrics.
const METRICS_K: usize = 10;
/// How many items of each configuration's answer the report lists.
const LISTED: usize = 20;

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One configuration of a scenario, recalled now.
struct Run {
    label: &'static str,
    params: RecallParams,
    answer: RecallResponse,
    summary: RecallSummary,
}

/// A configuration in a line: its fusion and topn always, then what differs from the defaults.
fn config_line(p: &RecallParams) -> String {
    let rest: Vec<String> = p
        .to_pairs()
        .iter()
        .filter(|(k, _)| *k != "fusion" && *k != "topn")
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    std::iter::once(format!("fusion {} · topn {}", p.fusion.as_str(), p.topn))
        .chain(rest)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Bars of precision@K and nDCG@K for each configuration, as inline SVG.
fn metrics_svg(rows: &[(&str, f64, f64)]) -> String {
    let (w, row_h) = (360.0, 22.0);
    let h = 20.0 + row_h * rows.len() as f64 * 2.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="judged metrics" font-family="sans-serif" font-size="11">"#
    );
    let mut y = 14.0;
    for (label, p, n) in rows {
        for (name, v, colour) in [("precision", p, "#3b5bdb"), ("nDCG", n, "#0ca678")] {
            let bw = (w - 150.0) * v.clamp(0.0, 1.0);
            let _ = write!(
                s,
                r#"<text x="0" y="{}">{} {name}@{METRICS_K}</text><rect x="110" y="{}" width="{bw:.1}" height="12" fill="{colour}"/><text x="{:.1}" y="{}">{v:.2}</text>"#,
                y + 10.0,
                esc(label),
                y,
                115.0 + bw,
                y + 10.0
            );
            y += row_h;
        }
    }
    s + "</svg>"
}

/// The category mix of a summary as one stacked bar, inline SVG.
fn mix_svg(s: &RecallSummary) -> String {
    const COLOURS: [&str; 6] = [
        "#3b5bdb", "#0ca678", "#f59f00", "#e64980", "#7048e8", "#98a2b3",
    ];
    let total = s.categories.iter().map(|c| c.items).sum::<usize>().max(1) as f64;
    let (w, mut x) = (360.0, 0.0);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} 16" width="{w}" height="16" role="img" aria-label="category mix">"#
    );
    for (i, c) in s.categories.iter().enumerate() {
        let bw = w * c.items as f64 / total;
        let colour = COLOURS[i.min(COLOURS.len() - 1)];
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="0" width="{bw:.1}" height="16" fill="{colour}"><title>{}: {}</title></rect>"#,
            esc(&c.name),
            c.items
        );
        x += bw;
    }
    out + "</svg>"
}

/// A product's picture as the app shows it: the cached image inlined (the report fetches
/// nothing, so it reads the same offline), else a lettered placeholder.
fn picture(images: &crate::images::ImageStore, p: &Product) -> String {
    use base64::Engine as _;
    let cached = crate::Asin::parse(&p.asin)
        .ok()
        .and_then(|a| images.find(&a))
        .and_then(|(path, mime)| std::fs::read(path).ok().map(|b| (b, mime)));
    match cached {
        Some((bytes, mime)) => format!(
            r#"<img class="ph" alt="" src="data:{mime};base64,{}">"#,
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        None => placeholder(p),
    }
}

/// A product's lettered placeholder, for products without a cached picture.
fn placeholder(p: &Product) -> String {
    let label = p.category_name.clone().unwrap_or_default();
    let initial = label
        .chars()
        .find(|c| c.is_alphanumeric())
        .unwrap_or('?')
        .to_ascii_uppercase();
    format!(
        r#"<span class="ph" title="{}">{}</span>"#,
        esc(&label),
        esc(&initial.to_string())
    )
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#172033;margin:24px;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-top:2px solid #e4e7ec;padding-top:16px}h3{font-size:15px}\
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #e4e7ec;padding:3px 8px;text-align:left;vertical-align:top}\
.pass{color:#067647;font-weight:600}.fail{color:#b42318;font-weight:600}.muted{color:#667085;font-size:12px}\
.ph{display:inline-flex;width:40px;height:30px;border-radius:6px;background:#e0e7ff;align-items:center;justify-content:center;font-weight:700;color:#475467;object-fit:contain}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}.relevant{color:#067647}.partly{color:#b54708}.not_relevant{color:#b42318}\
@media(max-width:700px){.grid{grid-template-columns:1fr}}";

/// The review report of `scenarios` (with their judgments) against the current build.
pub fn report(
    engine: &Engine,
    scenarios: &[Scenario],
    judgments: &HashMap<String, Vec<Judgment>>,
) -> Result<String> {
    let loaded = engine.current();
    let images = crate::images::ImageStore::new(&engine.layout);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Recall Lab review report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<h1>Recall Lab review report</h1><p class=\"muted\">{} scenarios · written {} UTC · build {} ({} items, model {}, nlist {}, default nprobe {})</p>",
        scenarios.len(),
        esc(&crate::util::now_rfc3339()
            .chars()
            .take(19)
            .collect::<String>()
            .replace('T', " ")),
        esc(&loaded.info.build_id),
        loaded.asins.len(),
        esc(&loaded.embeddings.model.name),
        loaded.info.nlist.map_or("-".into(), |n| n.to_string()),
        loaded
            .info
            .default_nprobe
            .map_or("-".into(), |n| n.to_string()),
    );
    for s in scenarios {
        let judged = judgments.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        let grades = latest_grades(judged);
        let recent: Vec<String> = s.body.clicks.iter().rev().cloned().collect();
        let mut runs = Vec::new();
        let configs =
            std::iter::once(("A", s.body.a.clone())).chain(s.body.b.clone().map(|b| ("B", b)));
        for (label, params) in configs {
            let answer = engine.recall(&recent, None, &params)?;
            let asins: Vec<String> = answer
                .items
                .iter()
                .map(|i| i.product.asin.clone())
                .collect();
            let summary = engine.summarise(&s.body.clicks, &asins, asins.len().clamp(1, 50))?;
            runs.push(Run {
                label,
                params,
                answer,
                summary,
            });
        }
        let _ = write!(
            out,
            "<h2 id=\"s-{0}\">{1}</h2><p class=\"muted\">scenario {0} · {2} clicks · {3} judgments by {4}</p>",
            esc(&s.id),
            esc(&s.body.name),
            s.body.clicks.len(),
            judged.len(),
            {
                let mut who: Vec<&str> = judged.iter().map(|j| j.reviewer.as_str()).collect();
                who.sort_unstable();
                who.dedup();
                if who.is_empty() {
                    "nobody yet".to_owned()
                } else {
                    esc(&who.join(", "))
                }
            }
        );
        if !s.body.notes.trim().is_empty() {
            let _ = write!(out, "<p>{}</p>", esc(&s.body.notes));
        }
        // Expectations, on configuration A.
        if let Some(a) = runs.first() {
            if s.body.expectations.is_empty() {
                out += "<p class=\"muted\">No expectations.</p>";
            } else {
                out += "<h3>Expectations (configuration A)</h3><table>";
                for e in &s.body.expectations {
                    let r = evaluate(e, &a.answer, s.body.baseline.as_deref(), judged);
                    let _ = write!(
                        out,
                        "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                        if r.passed { "pass" } else { "fail" },
                        if r.passed { "pass" } else { "FAIL" },
                        esc(&r.description),
                        esc(&r.actual)
                    );
                }
                out += "</table>";
            }
        }
        let rows: Vec<(&str, f64, f64)> = runs
            .iter()
            .map(|r| {
                let asins: Vec<&str> = r
                    .answer
                    .items
                    .iter()
                    .map(|i| i.product.asin.as_str())
                    .collect();
                let m = judged_metrics(&asins, &grades, METRICS_K);
                (r.label, m.precision, m.ndcg)
            })
            .collect();
        out += "<h3>Judged metrics</h3>";
        out += &metrics_svg(&rows);
        out += "<div class=\"grid\">";
        for r in &runs {
            let asins: Vec<&str> = r
                .answer
                .items
                .iter()
                .map(|i| i.product.asin.as_str())
                .collect();
            let m = judged_metrics(&asins, &grades, METRICS_K);
            let _ = write!(
                out,
                "<section><h3>Configuration {}</h3><p class=\"muted\">{}</p><p>precision@{METRICS_K} {:.2} · nDCG@{METRICS_K} {:.2} · judged {} of {}</p>",
                r.label,
                esc(&config_line(&r.params)),
                m.precision,
                m.ndcg,
                m.judged,
                METRICS_K.min(asins.len())
            );
            let sm = &r.summary;
            out += &mix_svg(sm);
            let _ = write!(
                out,
                "<p class=\"muted\">top {}: {} · alike {:.2} (mean pairwise cosine) · popularity percentile {:.0} · price ${:.0}–${:.0} (median ${:.0}) · {} near-duplicates</p>",
                sm.k,
                esc(&sm
                    .categories
                    .iter()
                    .take(5)
                    .map(|c| format!("{} {}", c.name, c.items))
                    .collect::<Vec<_>>()
                    .join(", ")),
                sm.mean_pairwise_cosine,
                sm.mean_popularity_percentile,
                sm.min_price,
                sm.max_price,
                sm.median_price,
                sm.near_duplicates.len()
            );
            out += "<table><tr><th>#</th><th></th><th>item</th><th>judged</th></tr>";
            for item in r.answer.items.iter().take(LISTED) {
                let g = grades.get(&item.product.asin).copied();
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}<br><span class=\"muted\">{} · ${:.2}</span></td><td class=\"{}\">{}</td></tr>",
                    item.rank,
                    picture(&images, &item.product),
                    esc(&item.product.title),
                    esc(&item.product.asin),
                    item.product.price,
                    g.map_or("", Grade::as_str),
                    g.map_or("–", Grade::label)
                );
            }
            out += "</table></section>";
        }
        out += "</div>";
        // Every judged item, whichever list it is in now.
        if !judged.is_empty() {
            let products = crate::catalog::products_in_order(
                &*engine.conn()?,
                judged.iter().map(|j| j.asin.as_str()),
            )?;
            out += "<h3>Judgments</h3><table><tr><th>item</th><th>grade</th><th>reviewer</th><th>when</th></tr>";
            for (j, p) in judged.iter().zip(products) {
                let title = p.map_or_else(|| j.asin.clone(), |p| p.title);
                let _ = write!(
                    out,
                    "<tr><td>{}<br><span class=\"muted\">{}</span></td><td class=\"{}\">{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                    esc(&title),
                    esc(&j.asin),
                    j.grade.as_str(),
                    j.grade.label(),
                    esc(&j.reviewer),
                    esc(&j.judged_at)
                );
            }
            out += "</table>";
        }
    }
    out += "</body></html>";
    Ok(out)
}

/// Every judgment of `scenarios` as CSV: scenario, its name, asin, reviewer, grade, time.
pub fn judgments_csv(scenarios: &[Scenario], judgments: &HashMap<String, Vec<Judgment>>) -> String {
    let mut out = String::from("scenario,scenario_name,asin,reviewer,grade,judged_at\n");
    for s in scenarios {
        for j in judgments.get(&s.id).map(Vec::as_slice).unwrap_or(&[]) {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                csv_field(&s.id),
                csv_field(&s.body.name),
                csv_field(&j.asin),
                csv_field(&j.reviewer),
                j.grade.as_str(),
                csv_field(&j.judged_at)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html_and_csv() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
    }
}
