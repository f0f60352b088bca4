//! The quality view: the index's recall@k against exact search over an nprobe sweep (chart and
//! latency table), and the index's stats.

use crate::api::{self, ApiError};
use crate::components::{Loaded, RecallChart};
use common::{AnnEval, Stats};
use leptos::prelude::*;

fn or_dash(n: Option<usize>) -> String {
    n.map_or("-".into(), |n| n.to_string())
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
                        Ok::<_, ApiError>(view! {
                            <div data-testid="quality-chart" class:loading=move || pending.get()><RecallChart eval=e /></div>
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
                                <tr><td>"index"</td><td>{s.index_factory}</td></tr>
                                <tr><td>"nlist / default nprobe"</td><td>{format!("{} / {}", or_dash(s.nlist), or_dash(s.default_nprobe))}</td></tr>
                                <tr><td>"built"</td><td>{format!("{} ({:.1} s)", s.built_at, s.build_seconds)}</td></tr>
                                <tr><td>"users / clicks"</td><td>{format!("{} / {}", s.users, s.clicks)}</td></tr>
                            </table>
                        })
                    })}
                </Loaded>
            </div>
        </div>
    }
}
