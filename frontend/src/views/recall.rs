//! The recall view: the controls of the current configuration, the answer's timings and counts,
//! and the recalled items for the current user's history. Also the recall resource and status
//! line that the compare view shares.

use crate::api::{self, ApiError};
use crate::channels;
use crate::components::{
    JudgedBar, Loaded, RecallCard, RecallControls, ReviewerBox, SummaryBar, wide,
};
use crate::state::{Fetched, ctx};
use common::{RecallItem, RecallParams, RecallRequest, RecallResponse};
use leptos::prelude::*;

/// How many recalled items show at first, and how many more each "Show more" adds.
const FIRST: usize = 60;
const MORE: usize = 120;

/// A recall of the current clicks (the open scenario's, else the user's history) with
/// `params`, rerun when either changes.
pub fn recall_resource(params: RwSignal<RecallParams>) -> Fetched<RecallResponse> {
    recall_resource_in(params, Signal::stored(None))
}

/// [`recall_resource`] against the catalog `catalog` names (`None`: the page's).
pub fn recall_resource_in(
    params: RwSignal<RecallParams>,
    catalog: Signal<Option<String>>,
) -> Fetched<RecallResponse> {
    let c = ctx();
    LocalResource::new(move || {
        let params = params.get();
        let fixed = c.scenario_clicks.get();
        let catalog = catalog.get();
        async move {
            let clicks = match fixed {
                Some(clicks) => clicks,
                None => c.history.await?.into_iter().map(|k| k.asin).collect(),
            };
            api::recall_in(catalog.as_deref(), &RecallRequest { clicks, params }).await
        }
    })
}

/// The asins of an answer, in recall order.
pub fn answer_asins(r: &RecallResponse) -> Vec<String> {
    r.items.iter().map(|i| i.product.asin.clone()).collect()
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
    let k = RwSignal::new(10usize);
    view! {
        <ScenarioLine />
        <details class="controls" open=wide()><summary>"Configuration"</summary><RecallControls params=c.params /></details>
        <Loaded pending=pending>
            {move || Suspend::new(async move {
                let answer = recall.await?;
                Ok::<_, ApiError>(view! { <Answer answer=answer pending=pending k=k /> })
            })}
        </Loaded>
    }
}

/// Which clicks drive the recall: the open scenario's (with a way back to the user's own), or
/// the user's history; and who is judging.
#[component]
pub fn ScenarioLine() -> impl IntoView {
    let c = ctx();
    let name = move || {
        c.scenario
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|s| s.body.name)
    };
    view! {
        <div class="scenario-line">
            {move || match (c.scenario_id.get(), name()) {
                (Some(_), n) => view! {
                    <span data-testid="scenario-open">{format!("Scenario: {} · {} clicks", n.unwrap_or_default(), c.scenario_clicks.with(|k| k.as_ref().map_or(0, Vec::len)))}</span>
                    <button on:click=move |_| c.open_scenario(None, false)>"Back to the user's history"</button>
                }.into_any(),
                (None, _) => view! {
                    <span>{move || format!("History of {} · {} clicks · judging saves it as a scenario", c.user.get(), c.click_count())}</span>
                }.into_any(),
            }}
            <ReviewerBox />
        </div>
    }
}

/// One recall answer with its judged metrics; it starts with its first items and shows more
/// on request.
#[component]
fn Answer(answer: RecallResponse, pending: RwSignal<bool>, k: RwSignal<usize>) -> impl IntoView {
    let c = ctx();
    let status = status(&answer);
    let asins = answer_asins(&answer);
    let fusion = answer.params.fusion;
    let params = c.params.get_untracked();
    let RecallResponse {
        items, warnings, ..
    } = answer;
    let total = items.len();
    let items = StoredValue::new(items);
    let shown = RwSignal::new(FIRST.min(total));
    let (dups, hide) = (
        RwSignal::new(std::collections::HashSet::new()),
        RwSignal::new(false),
    );
    let summary_asins = asins.clone();
    view! {
        <p class="status" data-testid="recall-status">{status}</p>
        <SummaryBar asins=summary_asins k=50 dups=dups hide=hide />
        <ul class="notes" aria-label="what the recall did">
            {warnings.into_iter().map(|w| view! { <li class="note">{w}</li> }).collect_view()}
        </ul>
        <JudgedBar asins=Signal::stored(asins) k=k label="recall" />
        <div class="grid" class:loading=move || pending.get() data-testid="recall-grid" data-list="recall">
            <For each=move || 0..shown.get() key=|i| *i let(i)>
                {
                    let item = items.with_value(|v: &Vec<RecallItem>| v[i].clone());
                    let asin = item.product.asin.clone();
                    let collapsed = Signal::derive(move || hide.get() && dups.with(|d| d.contains(&asin)));
                    view! { <RecallCard item=item fusion=fusion params=params.clone() judge_within=k.get_untracked() collapsed=collapsed /> }
                }
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
