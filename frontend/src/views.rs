//! The app's views: catalog, recall, compare, quality and scenarios.

use crate::api;
use crate::components::{ProductCard, RecallCard, RecallControls};
use crate::state::{View, ctx};
use common::{
    AnnEval, Category, NeighboursResponse, Product, ProductPage, RecallParams, RecallRequest,
    RecallResponse, Stats,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::HashSet;

const PER_PAGE: usize = 24;

/// Catalog: keyword or semantic search, filters, sort, paging.
#[component]
pub fn Catalog() -> impl IntoView {
    let c = ctx();
    let q = RwSignal::new(String::new());
    let semantic = RwSignal::new(false);
    let category = RwSignal::new(None::<i64>);
    let min_price = RwSignal::new(String::new());
    let max_price = RwSignal::new(String::new());
    let sort = RwSignal::new("relevance".to_owned());
    let page = RwSignal::new(1usize);
    let items = RwSignal::new(Vec::<Product>::new());
    let total = RwSignal::new(0i64);
    let loading = RwSignal::new(false);
    let seq = RwSignal::new(0u32);
    let search = move || {
        let n = seq.get_untracked() + 1;
        seq.set(n);
        loading.set(true);
        let text = q.get_untracked();
        let url = if semantic.get_untracked() && !text.trim().is_empty() {
            format!("/api/search?q={}&k=48", api::enc(&text))
        } else {
            let mut u = format!(
                "/api/products?page={}&per_page={PER_PAGE}&sort={}",
                page.get_untracked(),
                sort.get_untracked()
            );
            if !text.trim().is_empty() {
                u += &format!("&q={}", api::enc(&text));
            }
            if let Some(cat) = category.get_untracked() {
                u += &format!("&category={cat}");
            }
            for (k, v) in [
                ("min_price", min_price.get_untracked()),
                ("max_price", max_price.get_untracked()),
            ] {
                if !v.trim().is_empty() {
                    u += &format!("&{k}={}", api::enc(v.trim()));
                }
            }
            u
        };
        let is_semantic = url.starts_with("/api/search");
        spawn_local(async move {
            let result = if is_semantic {
                api::get::<NeighboursResponse>(&url).await.map(|r| {
                    let n = r.items.len() as i64;
                    (
                        r.items.into_iter().map(|s| s.product).collect::<Vec<_>>(),
                        n,
                    )
                })
            } else {
                api::get::<ProductPage>(&url)
                    .await
                    .map(|p| (p.items, p.total))
            };
            if seq.get_untracked() != n {
                return; // a newer search answered or will answer
            }
            loading.set(false);
            match result {
                Ok((i, t)) => {
                    items.set(i);
                    total.set(t);
                }
                Err(e) => c.fail(e),
            }
        });
    };
    search();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        page.set(1);
        search();
    };
    let pages = move || ((total.get() as usize).div_ceil(PER_PAGE)).max(1);
    view! {
        <form class="toolbar" on:submit=submit role="search">
            <label class="grow">"Search titles"<input type="search" data-testid="search-input" placeholder="e.g. suitcase, espresso machine"
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev)) /></label>
            <label>"semantic"<input type="checkbox" data-testid="search-semantic" prop:checked=move || semantic.get() on:change=move |ev| semantic.set(event_target_checked(&ev)) /></label>
            <label>"category"<select on:change=move |ev| { category.set(event_target_value(&ev).parse().ok()); page.set(1); search(); }>
                <option value="">"all"</option>
                {move || c.categories.get().into_iter().map(|cat: Category| view! { <option value=cat.id.to_string()>{format!("{} ({})", cat.name, cat.products)}</option> }).collect_view()}
            </select></label>
            <label>"min $"<input type="number" min="0" style="width:80px" on:change=move |ev| { min_price.set(event_target_value(&ev)); page.set(1); search(); } /></label>
            <label>"max $"<input type="number" min="0" style="width:80px" on:change=move |ev| { max_price.set(event_target_value(&ev)); page.set(1); search(); } /></label>
            <label>"sort"<select on:change=move |ev| { sort.set(event_target_value(&ev)); page.set(1); search(); }>
                <option value="relevance">"relevance"</option><option value="popular">"popular"</option><option value="price_asc">"price ↑"</option>
                <option value="price_desc">"price ↓"</option><option value="stars">"stars"</option><option value="reviews">"reviews"</option>
            </select></label>
            <button class="primary" type="submit" data-testid="search-submit">"Search"</button>
        </form>
        <p class="status">{move || if loading.get() { "Loading…".to_owned() } else { format!("{} products · click a card to add it to {}'s history", total.get(), c.user.get()) }}</p>
        <div class="grid" class:loading=move || loading.get() data-testid="catalog-grid">
            {move || items.get().into_iter().map(|p| view! { <ProductCard product=p /> }).collect_view()}
        </div>
        <Show when=move || { !semantic.get() && pages() > 1 }>
            <div class="pager">
                <button disabled=move || page.get() <= 1 on:click=move |_| { page.update(|p| *p -= 1); search(); }>"‹ Previous"</button>
                <span>{move || format!("page {} of {}", page.get(), pages())}</span>
                <button disabled=move || page.get() >= pages() on:click=move |_| { page.update(|p| *p += 1); search(); }>"Next ›"</button>
            </div>
        </Show>
    }
}

/// Runs a recall for `clicks` (oldest first) with `params`; only the latest answer is kept.
fn recall_into(
    clicks: Vec<String>,
    params: RecallParams,
    out: RwSignal<Option<Result<RecallResponse, String>>>,
    loading: RwSignal<bool>,
    seq: RwSignal<u32>,
) {
    let n = seq.get_untracked() + 1;
    seq.set(n);
    loading.set(true);
    spawn_local(async move {
        let r = api::recall(&RecallRequest { clicks, params }).await;
        if seq.get_untracked() == n {
            loading.set(false);
            out.set(Some(r));
        }
    });
}

fn status(r: &RecallResponse) -> String {
    let t = &r.timings;
    let k = &r.counts;
    format!(
        "{} items in {:.1} ms (search {:.1} · CF {:.1} · popular {:.1} · fusion {:.1} · enrich {:.1}) · fusion {} · nprobe {} · returned content {} / CF {} / popular {}",
        r.items.len(),
        t.total_ms,
        t.search_ms,
        t.cf_ms,
        t.popular_ms,
        t.fusion_ms,
        t.enrich_ms,
        r.params.fusion.as_str(),
        r.params.nprobe.map(|n| n.to_string()).unwrap_or("-".into()),
        k.content_returned,
        k.cf_returned,
        k.popular_returned
    )
}

/// Recall panel: controls, timings, and the recalled grid.
#[component]
pub fn Recall() -> impl IntoView {
    let c = ctx();
    let out = RwSignal::new(None::<Result<RecallResponse, String>>);
    let loading = RwSignal::new(false);
    let seq = RwSignal::new(0u32);
    let shown = RwSignal::new(60usize);
    Effect::new(move |_| {
        let params = c.params.get();
        let clicks = c
            .history
            .with(|h| h.iter().map(|k| k.asin.clone()).collect::<Vec<_>>());
        shown.set(60);
        recall_into(clicks, params, out, loading, seq);
    });
    view! {
        <RecallControls params=c.params />
        {move || match out.get() {
            None => view! { <p class="status">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <div class="error" data-testid="error-banner">{e}</div> }.into_any(),
            Some(Ok(r)) => {
                let total = r.items.len();
                view! {
                    <p class="status" data-testid="recall-status">{status(&r)}</p>
                    {r.warnings.iter().map(|w| view! { <div class="note">{w.clone()}</div> }).collect_view()}
                    <div class="grid" class:loading=move || loading.get() data-testid="recall-grid">
                        {move || r.items.iter().take(shown.get()).cloned().map(|item| view! { <RecallCard item=item /> }).collect_view()}
                    </div>
                    <Show when=move || shown.get() < total>
                        <div class="more"><button on:click=move |_| shown.update(|s| *s += 120)>{move || format!("Show more ({} of {total})", shown.get().min(total))}</button></div>
                    </Show>
                }.into_any()
            }
        }}
    }
}

/// Compare: two configurations for the same history, overlap@K, items only one side has.
#[component]
pub fn Compare() -> impl IntoView {
    let c = ctx();
    let b_params = RwSignal::new(RecallParams {
        fusion: common::Fusion::Seed,
        ..c.params.get_untracked()
    });
    let (a_out, b_out) = (
        RwSignal::new(None::<Result<RecallResponse, String>>),
        RwSignal::new(None::<Result<RecallResponse, String>>),
    );
    let (a_load, b_load, a_seq, b_seq) = (
        RwSignal::new(false),
        RwSignal::new(false),
        RwSignal::new(0u32),
        RwSignal::new(0u32),
    );
    let k = RwSignal::new(50usize);
    Effect::new(move |_| {
        let clicks = c
            .history
            .with(|h| h.iter().map(|k| k.asin.clone()).collect::<Vec<_>>());
        recall_into(clicks, c.params.get(), a_out, a_load, a_seq);
    });
    Effect::new(move |_| {
        let clicks = c
            .history
            .with(|h| h.iter().map(|k| k.asin.clone()).collect::<Vec<_>>());
        recall_into(clicks, b_params.get(), b_out, b_load, b_seq);
    });
    let top = move |out: RwSignal<Option<Result<RecallResponse, String>>>| -> Vec<String> {
        out.with(|o| match o {
            Some(Ok(r)) => r
                .items
                .iter()
                .take(k.get())
                .map(|i| i.product.asin.clone())
                .collect(),
            _ => Vec::new(),
        })
    };
    let overlap = move || {
        let (a, b) = (top(a_out), top(b_out));
        let bs: HashSet<&String> = b.iter().collect();
        let both = a.iter().filter(|x| bs.contains(x)).count();
        let denom = a.len().max(b.len()).max(1);
        (both, denom)
    };
    let side = move |label: &'static str,
                     out: RwSignal<Option<Result<RecallResponse, String>>>,
                     other: RwSignal<Option<Result<RecallResponse, String>>>,
                     loading: RwSignal<bool>| {
        view! {
            <div class="side">
                <h3>{label}</h3>
                {move || match out.get() {
                    None => view! { <p class="status">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <div class="error" data-testid="error-banner">{e}</div> }.into_any(),
                    Some(Ok(r)) => {
                        let others: HashSet<String> = top(other).into_iter().collect();
                        let kk = k.get();
                        view! {
                            <p class="status">{status(&r)}</p>
                            <div class="grid" class:loading=move || loading.get()>
                                {r.items.into_iter().take(kk).map(|item| {
                                    let only = !others.contains(&item.product.asin);
                                    view! { <RecallCard item=item only=only /> }
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }
                }}
            </div>
        }
    };
    view! {
        <div class="overlap">
            <strong data-testid="compare-overlap">{move || { let (b, d) = overlap(); format!("overlap@{}: {b}/{d} = {:.0}%", k.get(), 100.0 * b as f64 / d as f64) }}</strong>
            <label>"K "<select on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(50)) prop:value=move || k.get().to_string()>
                <option value="10">"10"</option><option value="50">"50"</option><option value="100">"100"</option><option value="10000">"all"</option>
            </select></label>
            <span class="because">"Outlined cards appear only on their side."</span>
        </div>
        <details open><summary>"Configuration A (the recall view's)"</summary><RecallControls params=c.params prefix="a" /></details>
        <details open><summary>"Configuration B"</summary><RecallControls params=b_params prefix="b" /></details>
        <div class="compare">
            {side("A", a_out, b_out, a_load)}
            {side("B", b_out, a_out, b_load)}
        </div>
    }
}

fn chart(e: &AnnEval) -> String {
    let (w, h, l, b, t, r) = (560.0, 260.0, 50.0, 40.0, 16.0, 14.0);
    let pts: Vec<(f64, f64, f64)> = e
        .points
        .iter()
        .map(|p| ((p.nprobe.unwrap_or(1) as f64).log2(), p.recall, p.ann_ms))
        .collect();
    let xmax = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let px = |x: f64| l + x / xmax * (w - l - r);
    let py = |y: f64| h - b - y * (h - t - b);
    let mut s = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="recall against nprobe" font-size="11" font-family="sans-serif">"#
    );
    for i in 0..=4 {
        let y = i as f64 / 4.0;
        s += &format!(
            r##"<line x1="{l}" x2="{}" y1="{py}" y2="{py}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">{y:.2}</text>"##,
            w - r,
            l - 4.0,
            py(y) + 4.0,
            py = py(y)
        );
    }
    let line: Vec<String> = pts
        .iter()
        .map(|p| format!("{:.1},{:.1}", px(p.0), py(p.1)))
        .collect();
    s += &format!(
        r##"<polyline fill="none" stroke="#2563eb" stroke-width="2.5" points="{}"/>"##,
        line.join(" ")
    );
    for (p, e) in pts.iter().zip(&e.points) {
        s += &format!(
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#2563eb"><title>nprobe {}: recall {:.3}, {:.3} ms</title></circle><text x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
            px(p.0),
            py(p.1),
            e.nprobe.unwrap_or(1),
            p.1,
            p.2,
            px(p.0),
            h - b + 14.0,
            e.nprobe.unwrap_or(1)
        );
    }
    s += &format!(
        r#"<text x="{}" y="{}" text-anchor="middle">nprobe</text><text x="12" y="{}" transform="rotate(-90 12 {})" text-anchor="middle">recall@{}</text></svg>"#,
        (l + w) / 2.0,
        h - 6.0,
        h / 2.0,
        h / 2.0,
        e.points.first().map(|p| p.k).unwrap_or(10)
    );
    s
}

/// Quality: ANN recall@K against exact search over an nprobe sweep, latency, index stats.
#[component]
pub fn Quality() -> impl IntoView {
    let c = ctx();
    let stats = RwSignal::new(None::<Stats>);
    let eval = RwSignal::new(None::<Result<AnnEval, String>>);
    let k = RwSignal::new(10usize);
    Effect::new(move |_| {
        spawn_local(async move {
            match api::get::<Stats>("/api/stats").await {
                Ok(s) => stats.set(Some(s)),
                Err(e) => c.fail(e),
            }
        });
    });
    Effect::new(move |_| {
        let k = k.get();
        eval.set(None);
        spawn_local(async move {
            eval.set(Some(
                api::get::<AnnEval>(&format!("/api/eval/ann?k={k}&samples=200")).await,
            ))
        });
    });
    view! {
        <div class="quality">
            <div class="panel">
                <h3>"ANN recall against exact search"</h3>
                <label>"k "<select on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(10))>
                    <option value="10">"10"</option><option value="100">"100"</option></select></label>
                {move || match eval.get() {
                    None => view! { <p>"Measuring…"</p> }.into_any(),
                    Some(Err(e)) => view! { <div class="error" data-testid="error-banner">{e}</div> }.into_any(),
                    Some(Ok(e)) => view! { <div data-testid="quality-chart" inner_html=chart(&e)></div> }.into_any(),
                }}
            </div>
            <div class="panel">
                <h3>"Latency per query"</h3>
                {move || match eval.get() {
                    Some(Ok(e)) => view! {
                        <table class="stats"><tr><th>"nprobe"</th><th>"recall"</th><th>"ANN ms"</th><th>"exact ms"</th></tr>
                        {e.points.into_iter().map(|p| view! { <tr><td>{p.nprobe.map(|n| n.to_string()).unwrap_or("-".into())}</td><td>{format!("{:.3}", p.recall)}</td><td>{format!("{:.3}", p.ann_ms)}</td><td>{format!("{:.3}", p.exact_ms)}</td></tr> }).collect_view()}
                        </table>
                    }.into_any(),
                    _ => ().into_any(),
                }}
                <h3>"Index"</h3>
                {move || stats.get().map(|s| view! {
                    <table class="stats">
                        <tr><td>"products"</td><td>{s.products}</td></tr>
                        <tr><td>"vectors"</td><td>{s.vectors}</td></tr>
                        <tr><td>"model"</td><td>{format!("{} ({}-d)", s.model, s.dim)}</td></tr>
                        <tr><td>"index"</td><td>{s.index_factory}</td></tr>
                        <tr><td>"nlist / default nprobe"</td><td>{format!("{} / {}", s.nlist.map(|n| n.to_string()).unwrap_or("-".into()), s.default_nprobe.map(|n| n.to_string()).unwrap_or("-".into()))}</td></tr>
                        <tr><td>"built"</td><td>{format!("{} ({:.1} s)", s.built_at, s.build_seconds)}</td></tr>
                        <tr><td>"users / clicks"</td><td>{format!("{} / {}", s.users, s.clicks)}</td></tr>
                    </table>
                })}
            </div>
        </div>
    }
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Scenario {
    pub name: String,
    pub user: String,
    /// Clicked asins, oldest first.
    pub clicks: Vec<String>,
    pub params: RecallParams,
}

const STORE: &str = "recall-lab.scenarios";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load_scenarios() -> Vec<Scenario> {
    storage()
        .and_then(|s| s.get_item(STORE).ok().flatten())
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

fn save_scenarios(list: &[Scenario]) {
    if let (Some(s), Ok(j)) = (storage(), serde_json::to_string(list)) {
        let _ = s.set_item(STORE, &j);
    }
}

/// Re-creates a scenario on the server: the user's clicks replaced by the scenario's.
fn apply(s: Scenario) {
    let c = ctx();
    spawn_local(async move {
        let user = s.user.clone();
        let base = format!("/api/users/{}/clicks", api::enc(&user));
        let _ = api::post::<_, common::User>(
            "/api/users",
            &common::NewUser {
                id: Some(user.clone()),
                name: None,
            },
        )
        .await;
        if let Err(e) = api::delete(&base).await {
            return c.fail(e);
        }
        for asin in &s.clicks {
            if let Err(e) =
                api::post::<_, common::Click>(&base, &common::NewClick { asin: asin.clone() }).await
            {
                return c.fail(e);
            }
        }
        c.params.set(s.params.clone());
        c.user.set(user);
        c.history_version.update(|v| *v += 1);
        c.load_users();
        c.notice.set(Some(format!("Loaded scenario {}", s.name)));
        c.view.set(View::Recall);
    });
}

/// Scenarios: save, load, export and import named user + history + parameters.
#[component]
pub fn Scenarios() -> impl IntoView {
    let c = ctx();
    let list = RwSignal::new(load_scenarios());
    let name = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let save = move |_| {
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() {
            return c.fail("give the scenario a name".into());
        }
        let s = Scenario {
            name: n.clone(),
            user: c.user.get_untracked(),
            clicks: c.history_asins(),
            params: c.params.get_untracked(),
        };
        list.update(|l| {
            l.retain(|x| x.name != n);
            l.push(s);
        });
        save_scenarios(&list.get_untracked());
        c.notice.set(Some(format!("Saved scenario {n}")));
    };
    let export =
        move |_| text.set(serde_json::to_string_pretty(&list.get_untracked()).unwrap_or_default());
    let import = move |_| match serde_json::from_str::<Vec<Scenario>>(&text.get_untracked()) {
        Ok(new) => {
            list.update(|l| {
                for s in new {
                    l.retain(|x| x.name != s.name);
                    l.push(s);
                }
            });
            save_scenarios(&list.get_untracked());
            c.notice.set(Some("Imported scenarios".into()));
        }
        Err(e) => c.fail(format!("not a scenario list: {e}")),
    };
    view! {
        <div class="panel">
            <h3>"Save the current user, history and parameters"</h3>
            <div class="toolbar">
                <label class="grow">"Name"<input data-testid="scenario-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) placeholder="e.g. luggage shopper" /></label>
                <button class="primary" data-testid="scenario-save" on:click=save>"Save scenario"</button>
            </div>
            <p class="because">{move || format!("user {} · {} clicks · share this page's URL to reopen the same view", c.user.get(), c.history.with(Vec::len))}</p>
        </div>
        <div class="panel">
            <h3>"Saved scenarios"</h3>
            {move || list.get().into_iter().map(|s| {
                let summary = format!("{} · user {} · {} clicks · {} fusion, topn {}", s.name, s.user, s.clicks.len(), s.params.fusion.as_str(), s.params.topn);
                let (n1, s1) = (s.name.clone(), s.clone());
                let n2 = s.name.clone();
                view! {
                    <div class="scen"><b>{summary}</b>
                        <button data-testid="scenario-load" data-name=n1 on:click=move |_| apply(s1.clone())>"Load"</button>
                        <button on:click=move |_| { list.update(|l| l.retain(|x| x.name != n2)); save_scenarios(&list.get_untracked()); }>"Delete"</button>
                    </div>
                }
            }).collect_view()}
        </div>
        <div class="panel">
            <h3>"Export / import (JSON)"</h3>
            <div class="toolbar"><button on:click=export>"Export to the box"</button><button on:click=import>"Import from the box"</button></div>
            <textarea data-testid="scenario-json" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        </div>
    }
}
