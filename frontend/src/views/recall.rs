//! The recall view: the controls of the current configuration, the answer's timings and counts,
//! and the recalled items for the current user's history. Also the recall resource and status
//! line that the compare view shares.

use crate::api::{self, ApiError};
use crate::channels;
use crate::components::{Loaded, RecallCard, RecallControls};
use crate::state::{Fetched, ctx};
use common::{RecallItem, RecallParams, RecallRequest, RecallResponse};
use leptos::prelude::*;

/// How many recalled items show at first, and how many more each "Show more" adds.
const FIRST: usize = 60;
const MORE: usize = 120;

/// A recall of the current history with `params`, rerun when either changes.
pub fn recall_resource(params: RwSignal<RecallParams>) -> Fetched<RecallResponse> {
    let c = ctx();
    LocalResource::new(move || {
        let params = params.get();
        async move {
            let clicks = c.history.await?.into_iter().map(|k| k.asin).collect();
            api::recall(&RecallRequest { clicks, params }).await
        }
    })
}

/// One line on what a recall did: sizes, where the time went, what each channel returned.
pub fn status(r: &RecallResponse) -> String {
    let t = &r.timings;
    let label = channels::label;
    let times: Vec<String> = channels::names()
        .filter_map(|n| Some(format!("{} {:.1}", label(n), channels::millis(t, n)?)))
        .collect();
    let returned: Vec<String> = channels::names()
        .filter_map(|n| {
            Some(format!(
                "{} {}",
                label(n),
                channels::returned(&r.counts, n)?
            ))
        })
        .collect();
    format!(
        "{} items in {:.1} ms ({} · fusion {:.1} · enrich {:.1}) · fusion {} · nprobe {} · returned {}",
        r.items.len(),
        t.total_ms,
        times.join(" · "),
        t.fusion_ms,
        t.enrich_ms,
        r.params.fusion.as_str(),
        r.params.nprobe.map_or("-".into(), |n| n.to_string()),
        returned.join(" / "),
    )
}

/// Recall panel: controls, timings, and the recalled grid.
#[component]
pub fn Recall() -> impl IntoView {
    let c = ctx();
    let recall = recall_resource(c.params);
    let pending = RwSignal::new(false);
    view! {
        <RecallControls params=c.params />
        <Loaded pending=pending>
            {move || Suspend::new(async move {
                let answer = recall.await?;
                Ok::<_, ApiError>(view! { <Answer answer=answer pending=pending /> })
            })}
        </Loaded>
    }
}

/// One recall answer; it starts with its first items and shows more on request.
#[component]
fn Answer(answer: RecallResponse, pending: RwSignal<bool>) -> impl IntoView {
    let status = status(&answer);
    let RecallResponse {
        items, warnings, ..
    } = answer;
    let total = items.len();
    let items = StoredValue::new(items);
    let shown = RwSignal::new(FIRST.min(total));
    view! {
        <p class="status" data-testid="recall-status">{status}</p>
        {warnings.into_iter().map(|w| view! { <div class="note">{w}</div> }).collect_view()}
        <div class="grid" class:loading=move || pending.get() data-testid="recall-grid">
            <For each=move || 0..shown.get() key=|i| *i let(i)>
                <RecallCard item=items.with_value(|v: &Vec<RecallItem>| v[i].clone()) />
            </For>
        </div>
        <Show when=move || shown.get() < total>
            <div class="more">
                <button on:click=move |_| shown.update(|s| *s = (*s + MORE).min(total))>
                    {move || format!("Show more ({} of {total})", shown.get())}
                </button>
            </div>
        </Show>
    }
}
