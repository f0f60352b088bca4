//! The compare view: two recall configurations for the same clicks as a rank diff. Each item
//! of B carries how it moved against A (↑n, ↓n, = or new), A's items missing from B's top K
//! are listed as dropped, overlap@K is drawn as a curve over K, and each side shows its judged
//! metrics. Configuration B lives in the URL (`b.*`), so a link restores both. B may recall from
//! another build of the catalog (another model's index): each side's heading names its model,
//! and B's cards explain and show neighbours from B's build.

use super::recall::{ScenarioLine, answer_asins, recall_resource, recall_resource_in, status};
use crate::api::{self, ApiError};
use crate::components::{
    JudgedBar, Loaded, RecallCard, RecallControls, SummaryBar, short_model, wide,
};
use crate::state::{Fetched, ctx};
use common::{CatalogInfo, RecallParams, RecallResponse, Stats, overlap_at};
use leptos::prelude::*;
use std::collections::HashMap;

/// The asins of a loaded answer (none while loading or after a failure).
fn loaded_asins(answer: Fetched<RecallResponse>) -> Vec<String> {
    answer.with(|a| match a {
        Some(Ok(r)) => answer_asins(r),
        _ => Vec::new(),
    })
}

/// How an item at `rank` (1-based) moved against the other list: ↑n (n places higher there
/// than in the other), ↓n, =, or new (not in the other list at all).
pub fn rank_marker(rank: usize, other: &HashMap<String, usize>, asin: &str) -> String {
    match other.get(asin) {
        None => "new".into(),
        Some(&was) if was > rank => format!("↑{}", was - rank),
        Some(&was) if was < rank => format!("↓{}", rank - was),
        Some(_) => "=".into(),
    }
}

/// overlap@k for k = 1..=max as an SVG polyline (x: k, y: overlap 0–1).
fn overlap_curve(a: &[String], b: &[String], max: usize) -> impl IntoView + use<> {
    let max = max.min(a.len().max(b.len())).max(1);
    let (w, h) = (320.0, 90.0);
    let points: Vec<String> = (1..=max)
        .map(|k| {
            let x = (k - 1) as f64 / (max.max(2) - 1) as f64 * w;
            let y = h - overlap_at(a, b, k) * h;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let last = overlap_at(a, b, max);
    view! {
        <figure class="curve">
            <svg viewBox=format!("-4 -4 {} {}", w + 8.0, h + 8.0) role="img"
                aria-label=format!("overlap@K for K from 1 to {max}; {:.0}% at K = {max}", last * 100.0)>
                <line x1="0" y1=h.to_string() x2=w.to_string() y2=h.to_string() class="axis" />
                <line x1="0" y1="0" x2="0" y2=h.to_string() class="axis" />
                <polyline points=points.join(" ") class="line" />
            </svg>
            <figcaption>{format!("overlap@K, K = 1 to {max} (top: 100%)")}</figcaption>
        </figure>
    }
}

/// The model whose index `catalog` (`None`: the page's) recalls from, or why it is unknown.
fn model_of(catalog: Option<String>) -> impl Future<Output = String> {
    let url = api::url_in(catalog.as_deref(), "/api/stats");
    async move {
        match api::get::<Stats>(&url).await {
            Ok(s) => s.model,
            Err(e) => e.message,
        }
    }
}

/// Compare: two configurations for the same clicks as a rank diff.
#[component]
pub fn Compare() -> impl IntoView {
    let c = ctx();
    let a = recall_resource(c.params);
    let b = recall_resource_in(c.b_params, c.b_catalog.into());
    let a_model = LocalResource::new(|| model_of(None));
    let b_model = LocalResource::new(move || model_of(c.b_catalog.get()));
    // Each side names its model where its items are, not only in the folded configuration.
    let heading = move |label: &'static str, model: LocalResource<String>| {
        Signal::derive(move || {
            let m = model
                .get()
                .map_or("…".to_owned(), |m| short_model(&m).to_owned());
            match (label == "B").then(|| c.b_catalog.get()).flatten() {
                Some(k) => format!("{label} · model {m} · catalog {k}"),
                None => format!("{label} · model {m}"),
            }
        })
    };
    let k = RwSignal::new(50usize);
    let judge_k = RwSignal::new(10usize);
    let overlap = move || {
        let (a, b) = (loaded_asins(a), loaded_asins(b));
        let k = k.get();
        let of = a.len().min(k).max(b.len().min(k)).max(1);
        let both = (overlap_at(&a, &b, k) * of as f64).round() as usize;
        format!(
            "overlap@{k}: {both}/{of} = {:.0}%",
            overlap_at(&a, &b, k) * 100.0
        )
    };
    view! {
        <ScenarioLine />
        <div class="overlap">
            <strong data-testid="compare-overlap">{overlap}</strong>
            <label for="compare-k">"K "<select id="compare-k" prop:value=move || k.get().to_string()
                on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(50))>
                <option value="10">"10"</option><option value="50">"50"</option><option value="100">"100"</option><option value="10000">"all"</option>
            </select></label>
            {move || overlap_curve(&loaded_asins(a), &loaded_asins(b), k.get().min(500))}
            <span class="because">"B's cards show how each item moved against A: ↑n, ↓n, = or new. A's items missing from B are listed under B as dropped."</span>
        </div>
        <details class="controls" open=wide()><summary>"Configuration A (the recall view's)"</summary><RecallControls params=c.params id_prefix="a-" /></details>
        <details class="controls" open=wide()><summary>"Configuration B"</summary>
            <BuildPicker a_model=a_model b_model=b_model />
            <RecallControls params=c.b_params id_prefix="b-" />
        </details>
        <div class="compare">
            <Side label="A" heading=heading("A", a_model) answer=a other=b k=k judge_k=judge_k params=c.params catalog=Signal::derive(|| None) />
            <Side label="B" heading=heading("B", b_model) answer=b other=a k=k judge_k=judge_k params=c.b_params catalog=c.b_catalog.into() />
        </div>
    }
}

/// Which build B recalls from: the page's catalog or another built catalog (for example the same
/// products embedded with another model), and the model each side's index was built with.
#[component]
fn BuildPicker(a_model: LocalResource<String>, b_model: LocalResource<String>) -> impl IntoView {
    let c = ctx();
    let catalogs = LocalResource::new(|| api::get::<Vec<CatalogInfo>>("/api/catalogs"));
    let page = api::catalog().unwrap_or_else(|| "default".into());
    let shown = move |m: Option<String>| m.unwrap_or_else(|| "…".into());
    view! {
        <div class="toolbar build-picker">
            <label for="b-catalog">"B recalls from"<select id="b-catalog"
                on:change=move |ev| { let v = event_target_value(&ev); c.b_catalog.set((!v.is_empty()).then_some(v)); }>
                <option value="" selected=move || c.b_catalog.get().is_none()>{format!("this page's catalog ({page})")}</option>
                {move || catalogs.get().and_then(Result::ok).unwrap_or_default().into_iter()
                    .filter(|k| k.built && Some(k.name.clone()) != api::catalog() && !(k.default && api::catalog().is_none()))
                    .map(|k| { let n = k.name.clone(); view! {
                        <option value=n.clone() selected=move || c.b_catalog.get().as_deref() == Some(n.as_str())>{format!("catalog {} ({} products)", k.name, k.products)}</option>
                    }}).collect_view()}
            </select></label>
            <span class="because" data-testid="compare-models">
                {move || format!("A: model {} · B: model {}", shown(a_model.get()), shown(b_model.get()))}
            </span>
            <button on:click=move |_| c.b_params.set(c.params.get_untracked())>"Use A's configuration for B"</button>
            // Another build differs in more than its model: the overlap would blame the model for all of it.
            {move || c.b_catalog.get().map(|k| view! {
                <p class="note" data-testid="compare-builds-note">{format!(
                    "Catalog {k} has its own clicks, CF model and popularity. To see what its model alone changes, give B A's configuration and keep only the content channel on both sides."
                )}</p>
            })}
        </div>
    }
}

/// One side of the comparison: its status, judged metrics and first K items, each marked
/// against the other side (B) or outlined when the other side lacks it (A). `heading` names the
/// side's model; `catalog` is the build its items came from (`None`: the page's).
#[component]
fn Side(
    label: &'static str,
    heading: Signal<String>,
    catalog: Signal<Option<String>>,
    answer: Fetched<RecallResponse>,
    other: Fetched<RecallResponse>,
    k: RwSignal<usize>,
    judge_k: RwSignal<usize>,
    params: RwSignal<RecallParams>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    let asins = Signal::derive(move || loaded_asins(answer));
    view! {
        <section class="side" aria-label=format!("configuration {label}")>
            <h3 data-testid="compare-side-heading">{heading}</h3>
            <JudgedBar asins=asins k=judge_k label=label />
            <Loaded pending=pending>
                {move || Suspend::new(async move {
                    let r = answer.await?;
                    let k = k.get();
                    let others: Vec<String> = loaded_asins(other);
                    // Ranks in the other whole list: an item beyond its top K still moved, it is not new.
                    let other_rank: HashMap<String, usize> = others.iter().enumerate().map(|(i, a)| (a.clone(), i + 1)).collect();
                    let mine: std::collections::HashSet<String> = r.items.iter().take(k).map(|i| i.product.asin.clone()).collect();
                    let dropped: Vec<(usize, String)> = others.iter().take(k).enumerate()
                        .filter(|(_, a)| !mine.contains(*a)).map(|(i, a)| (i + 1, a.clone())).collect();
                    let fusion = r.params.fusion;
                    let cfg = params.get_untracked();
                    let (dups, hide) = (RwSignal::new(std::collections::HashSet::new()), RwSignal::new(false));
                    let list = answer_asins(&r);
                    let from = catalog.get_untracked();
                    Ok::<_, ApiError>(view! {
                        <p class="status">{status(&r)}</p>
                        <SummaryBar asins=list k=k.min(500) dups=dups hide=hide />
                        <div class="grid" class:loading=move || pending.get() data-testid="recall-grid" data-list=label>
                            {r.items.into_iter().take(k).map(|item| {
                                let only = other_rank.get(&item.product.asin).is_none_or(|&r| r > k);
                                let marker = (label == "B").then(|| rank_marker(item.rank, &other_rank, &item.product.asin));
                                let asin = item.product.asin.clone();
                                let collapsed = Signal::derive(move || hide.get() && dups.with(|d| d.contains(&asin)));
                                view! { <RecallCard item=item fusion=fusion params=cfg.clone() only={only && label == "A"} marker=marker judge_within=judge_k.get_untracked() collapsed=collapsed catalog=from.clone() /> }
                            }).collect_view()}
                        </div>
                        {(label == "B" && !dropped.is_empty()).then(|| view! {
                            <details class="dropped" data-testid="dropped"><summary>{format!("Dropped: {} of A's top {k} are not in B's", dropped.len())}</summary>
                                <ol>{dropped.into_iter().map(|(rank, asin)| view! { <li data-asin=asin.clone()>{format!("A #{rank} · {asin}")}</li> }).collect_view()}</ol>
                            </details>
                        })}
                    })
                })}
            </Loaded>
        </section>
    }
}
