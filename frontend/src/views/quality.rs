//! The quality view: the index's recall@k against exact search over an nprobe sweep (chart with
//! the default nprobe marked, latency table), the offline evaluation `recall-lab eval` wrote
//! (hit-rate and NDCG per channel and fusion), and the index's stats.

use crate::api::{self, ApiError};
use crate::components::{Loaded, RecallChart};
use common::{AnnEval, EvalReport, Stats};
use leptos::prelude::*;

fn or_dash(n: Option<usize>) -> String {
    n.map_or("-".into(), |n| n.to_string())
}

/// An RFC 3339 time as people read it: "2026-12-05 02:45 UTC".
fn readable_time(t: &str) -> String {
    if t.len() >= 16 {
        format!("{} UTC", t[..16].replace('T', " "))
    } else {
        t.to_owned()
    }
}

/// A duration as people read it: "850 ms", "12.3 s", "2.2 min".
fn readable_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// Quality: ANN recall@K against exact search over an nprobe sweep, latency, index stats.
#[component]
pub fn Quality() -> impl IntoView {
    let stats = LocalResource::new(|| api::get::<Stats>("/api/stats"));
    let k = RwSignal::new(10usize);
    let eval = LocalResource::new(move || {
        let url = format!("/api/eval/ann?k={}&samples=200", k.get());
        async move { api::get::<AnnEval>(&url).await }
    });
    let pending = RwSignal::new(false);
    view! {
        <div class="quality">
            <div class="panel">
                <h3>"ANN recall against exact search"</h3>
                <label for="quality-k">"k "<select id="quality-k" on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(10))>
                    <option value="10">"10"</option><option value="100">"100"</option></select></label>
                <Loaded pending=pending waiting="Measuring…">
                    {move || Suspend::new(async move {
                        let e = eval.await?;
                        let default_nprobe = stats.await.ok().and_then(|s| s.default_nprobe);
                        Ok::<_, ApiError>(view! {
                            <div data-testid="quality-chart" class:loading=move || pending.get()><RecallChart eval=e default_nprobe=default_nprobe /></div>
                        })
                    })}
                </Loaded>
            </div>
            <div class="panel">
                <h3>"Latency per query"</h3>
                <Loaded>
                    {move || Suspend::new(async move {
                        let e = eval.await?;
                        Ok::<_, ApiError>(view! {
                            <table class="stats">
                                <tr><th>"nprobe"</th><th>"recall"</th><th>"ANN ms"</th><th>"exact ms"</th></tr>
                                {e.points.into_iter().map(|p| view! {
                                    <tr><td>{or_dash(p.nprobe)}</td><td>{format!("{:.3}", p.recall)}</td><td>{format!("{:.3}", p.ann_ms)}</td><td>{format!("{:.3}", p.exact_ms)}</td></tr>
                                }).collect_view()}
                            </table>
                        })
                    })}
                </Loaded>
                <h3>"Index"</h3>
                <Loaded>
                    {move || Suspend::new(async move {
                        let s = stats.await?;
                        Ok::<_, ApiError>(view! {
                            <table class="stats">
                                <tr><td>"products"</td><td>{s.products}</td></tr>
                                <tr><td>"vectors"</td><td>{s.vectors}</td></tr>
                                <tr><td>"model"</td><td>{format!("{} ({}-d)", s.model, s.dim)}</td></tr>
                                <tr><td>"index"</td><td>{format!("{} on {}", s.index_factory, engine_name(&s.index_engine))}</td></tr>
                                {s.index_location.map(|l| view! { <tr><td>"collection"</td><td>{l}</td></tr> })}
                                <tr><td>"nlist / default nprobe"</td><td>{format!("{} / {}", or_dash(s.nlist), or_dash(s.default_nprobe))}</td></tr>
                                <tr><td>"built"</td><td>{format!("{} (index in {})", readable_time(&s.built_at), readable_secs(s.build_seconds))}</td></tr>
                                <tr><td>"users / clicks"</td><td>{format!("{} / {}", s.users, s.clicks)}</td></tr>
                            </table>
                        })
                    })}
                </Loaded>
            </div>
        </div>
        <OfflineEval stats=stats />
    }
}

/// The build's model and how close its vectors are to the fp32 reference model's.
fn fidelity_line(r: &EvalReport) -> String {
    let model = if r.model.is_empty() {
        "the build's model"
    } else {
        &r.model
    };
    match &r.fidelity {
        Some(f) => format!(
            "Fidelity: {model} against {} on {} titles: cosine {:.4} (min {:.4}), top-10 neighbour overlap {:.3}",
            f.reference, f.titles, f.cosine_mean, f.cosine_min, f.top10_overlap
        ),
        None => format!(
            "{model}: fidelity to fp32 not measured (the reference model was not installed when eval ran)"
        ),
    }
}

/// Why a report does not describe the build being served (it measured an earlier build, say one
/// embedded with another model), or `None` when it does or cannot be told.
fn stale_note(r: &EvalReport, s: &Stats) -> Option<String> {
    (!r.describes(s)).then(|| {
        let of = if r.model.is_empty() {
            String::new()
        } else {
            format!(" (model {})", r.model)
        };
        format!(
            "These figures are of an earlier build{of}. The index served now was built {} with model {}: run recall-lab eval again for its figures.",
            readable_time(&s.built_at),
            s.model
        )
    })
}

/// What `recall-lab eval` measured on held-out simulated sessions: hit-rate@K and NDCG@K of
/// each channel alone and of each fusion, and category precision, flagged when it measured an
/// earlier build than the one served.
#[component]
fn OfflineEval(stats: LocalResource<Result<Stats, ApiError>>) -> impl IntoView {
    let report = LocalResource::new(|| async {
        match api::get::<EvalReport>("/api/eval/report").await {
            Err(e) if e.code == "no_evaluation" => Ok(None),
            r => r.map(Some),
        }
    });
    view! {
        <div class="panel" data-testid="offline-eval">
            <h3>"Offline evaluation (recall-lab eval)"</h3>
            <Loaded>
                {move || Suspend::new(async move {
                    let Some(r) = report.await? else {
                        return Ok::<_, ApiError>(view! {
                            <p class="because">"This build has not been evaluated yet: run "<code>"recall-lab eval --data-dir DIR"</code>" and reload."</p>
                        }.into_any());
                    };
                    let ks = r.held_out.ks.clone();
                    let fidelity = fidelity_line(&r);
                    let stale = stats.await.ok().and_then(|s| stale_note(&r, &s));
                    Ok(view! {
                        {stale.map(|n| view! { <p class="note" role="status" data-testid="eval-stale">{n}</p> })}
                        <p class="because">{format!("{} held-out sessions ({} for training CF) · {} · written {}", r.held_out.test_sessions, r.held_out.train_sessions, r.index_factory, readable_time(&r.generated_at))}</p>
                        <div class="scroll-x">
                        <table class="stats" aria-label="held-out hit-rate and NDCG">
                            <tr><th>"configuration"</th>
                                {ks.iter().map(|k| view! { <th>{format!("hit-rate@{k}")}</th> }).collect_view()}
                                {ks.iter().map(|k| view! { <th>{format!("NDCG@{k}")}</th> }).collect_view()}
                                <th>"ms"</th></tr>
                            {r.held_out.rows.into_iter().map(|row| view! {
                                <tr><td>{row.config}</td>
                                    {row.hit_rate.into_iter().map(|v| view! { <td>{format!("{v:.3}")}</td> }).collect_view()}
                                    {row.ndcg.into_iter().map(|v| view! { <td>{format!("{v:.3}")}</td> }).collect_view()}
                                    <td>{format!("{:.2}", row.mean_ms)}</td></tr>
                            }).collect_view()}
                        </table>
                        </div>
                        <p class="because">{r.precision.iter().map(|p| format!("category precision@{}: {:.3} (index) / {:.3} (exact)", p.k, p.index, p.exact)).collect::<Vec<_>>().join(" · ")}</p>
                        <p class="because" data-testid="fidelity">{fidelity}</p>
                    }.into_any())
                })}
            </Loaded>
        </div>
    }
}

/// The engine's name as a reader knows it.
fn engine_name(engine: &str) -> &str {
    match engine {
        "milvus" => "Milvus",
        "faiss" | "" => "FAISS (in the server)",
        other => other,
    }
}
