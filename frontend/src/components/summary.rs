//! Beyond accuracy, above a recalled list: its category mix as a bar, how alike its items are,
//! how popular, its price range, and its near-duplicates, which can be hidden.

use crate::api::{self, ApiError};
use crate::state::ctx;
use common::{RecallSummary, SummaryRequest};
use leptos::prelude::*;
use std::collections::HashSet;

/// Colours of the category bar's first segments (the rest share the last).
const COLOURS: [&str; 6] = [
    "#3b5bdb", "#0ca678", "#f59f00", "#e64980", "#7048e8", "#98a2b3",
];

/// The summary of `asins`' first `k`; `dups` receives the near-duplicates' asins and `hide`
/// says whether the list hides them.
#[component]
pub fn SummaryBar(
    asins: Vec<String>,
    k: usize,
    dups: RwSignal<HashSet<String>>,
    hide: RwSignal<bool>,
) -> impl IntoView {
    let c = ctx();
    let clicks = c.current_clicks();
    let summary = LocalResource::new(move || {
        let body = SummaryRequest {
            clicks: clicks.clone(),
            asins: asins.clone(),
            k: Some(k),
        };
        async move { api::post::<_, RecallSummary>("/api/recall/summary", &body).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = summary.get() {
            dups.set(s.near_duplicates.iter().map(|d| d.asin.clone()).collect());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let s = summary.await?;
                Ok::<_, ApiError>(view! { <Summary s=s hide=hide /> })
            })}
        </Transition>
    }
}

#[component]
fn Summary(s: RecallSummary, hide: RwSignal<bool>) -> impl IntoView {
    let total = s.categories.iter().map(|c| c.items).sum::<usize>().max(1);
    let shown: Vec<(String, usize, &str)> = {
        let mut v: Vec<(String, usize, &str)> = s
            .categories
            .iter()
            .take(COLOURS.len() - 1)
            .zip(COLOURS)
            .map(|(c, col)| (c.name.clone(), c.items, col))
            .collect();
        let rest: usize = s
            .categories
            .iter()
            .skip(COLOURS.len() - 1)
            .map(|c| c.items)
            .sum();
        if rest > 0 {
            v.push(("other".into(), rest, COLOURS[COLOURS.len() - 1]));
        }
        v
    };
    let dups = s.near_duplicates.len();
    let mix = shown
        .iter()
        .map(|(n, i, _)| format!("{n} {i}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <div class="summary" role="group" aria-label=format!("summary of the top {}", s.k) data-testid="recall-summary">
            <div class="mix" role="img" aria-label=format!("category mix of the top {}: {mix}", s.k)>
                {shown.iter().map(|(name, items, col)| view! {
                    <span style=format!("width:{:.1}%;background:{col}", 100.0 * *items as f64 / total as f64) title=format!("{name}: {items}")></span>
                }).collect_view()}
            </div>
            <ul class="legend">
                {shown.into_iter().map(|(name, items, col)| view! {
                    <li><i style=format!("background:{col}")></i>{format!("{name} {items}")}</li>
                }).collect_view()}
            </ul>
            <span title="mean cosine of every pair of the top K's title embeddings; lower is more diverse">{format!("alike {:.2}", s.mean_pairwise_cosine)}</span>
            <span title="mean popularity percentile (100: the most popular item); lower is more novel">{format!("popularity pct {:.0}", s.mean_popularity_percentile)}</span>
            <span>{format!("price ${:.0}–${:.0} (median ${:.0})", s.min_price, s.max_price, s.median_price)}</span>
            <span data-testid="near-duplicates">{format!("{dups} near-duplicate{}", if dups == 1 { "" } else { "s" })}</span>
            {(dups > 0).then(|| view! {
                <button aria-pressed=move || hide.get().to_string() on:click=move |_| hide.update(|h| *h = !*h)>
                    {move || if hide.get() { "Show near-duplicates" } else { "Hide near-duplicates" }}
                </button>
            })}
        </div>
    }
}
