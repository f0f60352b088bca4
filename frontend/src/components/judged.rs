//! The judged metrics of one recalled list: precision@K, nDCG@K and how many of the top K are
//! judged, from the open scenario's judgments (`common::judged_metrics`, the definition the
//! server's gate uses), with the reviewer's name and a shortcut to the next unjudged item.

use super::focus_card;
use crate::state::ctx;
use common::judged_metrics;
use leptos::prelude::*;

/// The metrics of `asins` (a list in recall order) at `k`; `label` names the list ("A", "B"
/// or "recall") for the test ids and accessible names.
#[component]
pub fn JudgedBar(
    #[prop(into)] asins: Signal<Vec<String>>,
    k: RwSignal<usize>,
    label: &'static str,
) -> impl IntoView {
    let c = ctx();
    let metrics = Memo::new(move |_| {
        let k = k.get();
        c.grades.with(|g| asins.with(|a| judged_metrics(a, g, k)))
    });
    // Focuses the first unjudged item of the top K in this list's grid.
    let walk = move |_| {
        let first = c.grades.with_untracked(|g| {
            asins.with_untracked(|a| {
                a.iter()
                    .take(k.get_untracked())
                    .find(|x| !g.contains_key(*x))
                    .cloned()
            })
        });
        let grid = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(&format!(
                "[data-testid=\"recall-grid\"][data-list=\"{label}\"]"
            ))
            .ok()
            .flatten()
        });
        match (first, grid) {
            (Some(a), Some(grid)) => focus_card(&grid, &a),
            _ => c.notice.set(Some(format!(
                "Every item of the top {} is judged",
                k.get_untracked()
            ))),
        }
    };
    let k_id = format!("judge-k-{label}");
    view! {
        <div class="judged" role="group" aria-label=format!("judged metrics of {label}")>
            <span data-testid=format!("precision-{label}")>{move || format!("precision@{} {:.2}", metrics.get().k, metrics.get().precision)}</span>
            <span data-testid=format!("ndcg-{label}")>{move || format!("nDCG@{} {:.2}", metrics.get().k, metrics.get().ndcg)}</span>
            <span data-testid=format!("judged-{label}")>{move || format!("judged {} of {}", metrics.get().judged, metrics.get().k.min(asins.with(Vec::len)))}</span>
            <label for=k_id.clone()>"K "<select id=k_id.clone() prop:value=move || k.get().to_string()
                on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(10))>
                <option value="5">"5"</option><option value="10">"10"</option><option value="20">"20"</option><option value="50">"50"</option>
            </select></label>
            <button on:click=walk>"Judge the unjudged"</button>
        </div>
    }
}

/// The reviewer's name, remembered by this browser.
#[component]
pub fn ReviewerBox() -> impl IntoView {
    let c = ctx();
    view! {
        <label class="reviewer" for="reviewer-name">"Reviewer"
            <input id="reviewer-name" prop:value=move || c.reviewer.get() placeholder="your name"
                on:change=move |ev| c.set_reviewer(event_target_value(&ev)) />
        </label>
    }
}
