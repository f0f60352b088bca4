//! The compare view: two recall configurations for the same history side by side, their overlap
//! in the top K, and an outline on the items that only one side has.

use super::recall::{recall_resource, status};
use crate::api::ApiError;
use crate::components::{Loaded, RecallCard, RecallControls};
use crate::state::{Fetched, ctx};
use common::{Fusion, RecallParams, RecallResponse};
use leptos::prelude::*;
use std::collections::HashSet;

/// The asins of the first `k` items of a loaded answer (none while loading or after a failure).
fn top(answer: Fetched<RecallResponse>, k: usize) -> Vec<String> {
    answer.with(|a| match a {
        Some(Ok(r)) => r
            .items
            .iter()
            .take(k)
            .map(|i| i.product.asin.clone())
            .collect(),
        _ => Vec::new(),
    })
}

/// Compare: two configurations for the same history, overlap@K, items only one side has.
#[component]
pub fn Compare() -> impl IntoView {
    let c = ctx();
    // B starts as A with the seed's fusion, the comparison people make first.
    let b_params = RwSignal::new(RecallParams {
        fusion: Fusion::Seed,
        ..c.params.get_untracked()
    });
    let a = recall_resource(c.params);
    let b = recall_resource(b_params);
    let k = RwSignal::new(50usize);
    let overlap = move || {
        let (a, b) = (top(a, k.get()), top(b, k.get()));
        let in_b: HashSet<&String> = b.iter().collect();
        let both = a.iter().filter(|x| in_b.contains(x)).count();
        let of = a.len().max(b.len()).max(1);
        format!(
            "overlap@{}: {both}/{of} = {:.0}%",
            k.get(),
            100.0 * both as f64 / of as f64
        )
    };
    view! {
        <div class="overlap">
            <strong data-testid="compare-overlap">{overlap}</strong>
            <label for="compare-k">"K "<select id="compare-k" prop:value=move || k.get().to_string()
                on:change=move |ev| k.set(event_target_value(&ev).parse().unwrap_or(50))>
                <option value="10">"10"</option><option value="50">"50"</option><option value="100">"100"</option><option value="10000">"all"</option>
            </select></label>
            <span class="because">"Outlined cards appear only on their side."</span>
        </div>
        <details open><summary>"Configuration A (the recall view's)"</summary><RecallControls params=c.params id_prefix="a-" /></details>
        <details open><summary>"Configuration B"</summary><RecallControls params=b_params id_prefix="b-" /></details>
        <div class="compare">
            <Side label="A" answer=a other=b k=k />
            <Side label="B" answer=b other=a k=k />
        </div>
    }
}

/// One side of the comparison: its status and its first K items.
#[component]
fn Side(
    label: &'static str,
    answer: Fetched<RecallResponse>,
    other: Fetched<RecallResponse>,
    k: RwSignal<usize>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    view! {
        <section class="side" aria-label=format!("configuration {label}")>
            <h3>{label}</h3>
            <Loaded pending=pending>
                {move || Suspend::new(async move {
                    let r = answer.await?;
                    let k = k.get();
                    let others: HashSet<String> = top(other, k).into_iter().collect();
                    Ok::<_, ApiError>(view! {
                        <p class="status">{status(&r)}</p>
                        <div class="grid" class:loading=move || pending.get()>
                            {r.items.into_iter().take(k).map(|item| {
                                let only = !others.contains(&item.product.asin);
                                view! { <RecallCard item=item only=only /> }
                            }).collect_view()}
                        </div>
                    })
                })}
            </Loaded>
        </section>
    }
}
