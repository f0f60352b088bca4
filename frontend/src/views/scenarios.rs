//! The scenarios view: scenarios stored on the server (a click history, configurations A and
//! B, notes, expectations and a baseline answer), saved from the current state, opened by
//! link (`#/s/<id>`), checked against the current build (pass or fail per expectation),
//! exported and imported with their judgments.

use crate::api::{self, ApiError};
use crate::components::Loaded;
use crate::state::{View, ctx};
use common::{Expectation, ImportSummary, RecallRequest, Scenario, ScenarioCheck, ScenarioExport};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The open scenario, as stored (untracked).
fn open_scenario() -> Option<Scenario> {
    ctx()
        .scenario
        .with_untracked(|s| s.as_ref().and_then(|r| r.as_ref().ok()).cloned().flatten())
}

/// Scenarios: save, open, check, export and import.
#[component]
pub fn Scenarios() -> impl IntoView {
    let c = ctx();
    let list = LocalResource::new(|| api::get::<Vec<Scenario>>("/api/scenarios"));
    let checks = RwSignal::new(Vec::<ScenarioCheck>::new());
    let name = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    // The form starts from the open scenario's name and notes.
    Effect::new(move |_| {
        if let Some(Ok(Some(s))) = c.scenario.get() {
            name.set(s.body.name.clone());
            notes.set(s.body.notes.clone());
        }
    });
    let save_new = move |_| {
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() {
            return c.fail("give the scenario a name");
        }
        let mut body = c.scenario_body(n);
        body.notes = notes.get_untracked();
        spawn_local(async move {
            match api::post::<_, Scenario>("/api/scenarios", &body).await {
                Ok(s) => {
                    c.notice
                        .set(Some(format!("Saved the scenario \"{}\"", s.body.name)));
                    c.open_scenario(Some(s.id), false);
                    list.refetch();
                }
                Err(e) => c.fail(e),
            }
        });
    };
    let update = move |baseline: bool| {
        let Some(id) = c.scenario_id.get_untracked() else {
            return c.fail("open a scenario first");
        };
        let n = name.get_untracked().trim().to_owned();
        let mut body = c.scenario_body(n);
        body.notes = notes.get_untracked();
        spawn_local(async move {
            if baseline {
                let req = RecallRequest {
                    clicks: body.clicks.clone(),
                    params: body.a.clone(),
                };
                match api::recall(&req).await {
                    Ok(r) => {
                        body.baseline =
                            Some(r.items.iter().map(|i| i.product.asin.clone()).collect())
                    }
                    Err(e) => return c.fail(e),
                }
            }
            match api::put::<_, Scenario>(&format!("/api/scenarios/{}", api::enc(&id)), &body).await
            {
                Ok(s) => {
                    c.notice.set(Some(if baseline {
                        format!(
                            "Saved configuration A's answer as the baseline of \"{}\"",
                            s.body.name
                        )
                    } else {
                        format!("Updated the scenario \"{}\"", s.body.name)
                    }));
                    c.scenario.refetch();
                    list.refetch();
                }
                Err(e) => c.fail(e),
            }
        });
    };
    let check_all = move |_| {
        spawn_local(async move {
            let Ok(all) = api::get::<Vec<Scenario>>("/api/scenarios").await else {
                return;
            };
            let mut out = Vec::new();
            for s in all {
                match api::get::<ScenarioCheck>(&format!(
                    "/api/scenarios/{}/check",
                    api::enc(&s.id)
                ))
                .await
                {
                    Ok(r) => out.push(r),
                    Err(e) => return c.fail(e),
                }
            }
            checks.set(out);
        });
    };
    let export = move |_| {
        spawn_local(async move {
            match api::get::<ScenarioExport>("/api/scenarios/export").await {
                Ok(x) => text.set(serde_json::to_string_pretty(&x).unwrap_or_default()),
                Err(e) => c.fail(e),
            }
        });
    };
    let import = move |_| match serde_json::from_str::<ScenarioExport>(&text.get_untracked()) {
        Ok(x) => spawn_local(async move {
            match api::post::<_, ImportSummary>("/api/scenarios/import", &x).await {
                Ok(r) => {
                    c.notice.set(Some(format!(
                        "Imported {} scenarios and {} judgments",
                        r.scenarios, r.judgments
                    )));
                    list.refetch();
                }
                Err(e) => c.fail(e),
            }
        }),
        Err(e) => c.fail(format!("not a scenario export: {e}")),
    };
    view! {
        <div class="panel">
            <h3>"Save the current clicks and configurations"</h3>
            <div class="toolbar">
                <label class="grow" for="scenario-name">"Name"<input id="scenario-name" data-testid="scenario-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) placeholder="e.g. luggage shopper" /></label>
                <button class="primary" data-testid="scenario-save" on:click=save_new>"Save as a new scenario"</button>
                <Show when=move || c.scenario_id.get().is_some()>
                    <button on:click=move |_| update(false)>"Update the open scenario"</button>
                    <button on:click=move |_| update(true)>"Save A's answer as its baseline"</button>
                </Show>
            </div>
            <label for="scenario-notes" class="because">"Notes"</label>
            <textarea id="scenario-notes" class="short" prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
            <p class="because">{move || format!("{} clicks · configurations A and B of the recall and compare views", c.current_clicks_tracked())}</p>
        </div>
        <Show when=move || c.scenario_id.get().is_some()>
            <Expectations on_change=Callback::new(move |()| list.refetch()) />
        </Show>
        <div class="panel">
            <h3>"Saved scenarios"</h3>
            <div class="toolbar">
                <button on:click=check_all data-testid="scenarios-check">"Check all against the current build"</button>
                <a href=api::url("/api/scenarios/report") download="recall-lab-review.html">"Download the review report (HTML)"</a>
                <a href=api::url("/api/scenarios/judgments.csv") download="recall-lab-judgments.csv">"Judgments (CSV)"</a>
            </div>
            <Loaded>
                {move || Suspend::new(async move {
                    let all = list.await?;
                    Ok::<_, ApiError>(if all.is_empty() {
                        view! { <p class="because">"No scenarios yet: save one above, or judge an item in the recall view."</p> }.into_any()
                    } else {
                        all.into_iter().map(|s| view! { <ScenarioRow s=s checks=checks on_delete=Callback::new(move |()| list.refetch()) /> }).collect_view().into_any()
                    })
                })}
            </Loaded>
        </div>
        <div class="panel">
            <h3>"Export / import with judgments (JSON)"</h3>
            <div class="toolbar"><button on:click=export>"Export to the box"</button><button on:click=import>"Import from the box"</button></div>
            <label for="scenario-json" class="because">"Scenarios as JSON"</label>
            <textarea id="scenario-json" data-testid="scenario-json" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        </div>
    }
}

/// One stored scenario: open, its last check's results, delete.
#[component]
fn ScenarioRow(
    s: Scenario,
    checks: RwSignal<Vec<ScenarioCheck>>,
    on_delete: Callback<()>,
) -> impl IntoView {
    let c = ctx();
    let id = s.id.clone();
    let summary = format!(
        "{} · {} clicks · {} expectations{}",
        s.body.name,
        s.body.clicks.len(),
        s.body.expectations.len(),
        if s.body.baseline.is_some() {
            " · baseline saved"
        } else {
            ""
        }
    );
    let result = {
        let id = id.clone();
        move || checks.with(|all| all.iter().find(|r| r.id == id).cloned())
    };
    let del = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                match api::delete(&format!("/api/scenarios/{}", api::enc(&id))).await {
                    Ok(()) => {
                        if c.scenario_id.get_untracked() == Some(id) {
                            c.open_scenario(None, false);
                        }
                        on_delete.run(());
                    }
                    Err(e) => c.fail(e),
                }
            })
        }
    };
    let name = s.body.name.clone();
    view! {
        <div class="scen" data-testid="scenario-row" data-id=id.clone()>
            <b>{summary}</b>
            <a href=format!("#/s/{id}") aria-label=format!("Open scenario {name}")
                on:click=move |_| c.view.set(View::Recall)>"Open"</a>
            <button aria-label=format!("Delete scenario {name}") on:click=del>"Delete"</button>
            {move || result().map(|r| {
                let (class, word) = match (r.results.is_empty(), r.passed) {
                    (true, _) => ("because", "no expectations to check"),
                    (false, true) => ("pass", "PASS"),
                    (false, false) => ("fail", "FAIL"),
                };
                view! {
                    <div class="checks" data-testid="scenario-check">
                        <span class=class>{word}</span>
                        <ul>{r.results.into_iter().map(|x| {
                            let (class, mark) = if x.passed { ("pass", "✓") } else { ("fail", "✗") };
                            view! { <li class=class>{format!("{mark} {}: {}", x.description, x.actual)}</li> }
                        }).collect_view()}</ul>
                    </div>
                }
            })}
        </div>
    }
}

/// The open scenario's expectations: listed, removed, added.
#[component]
fn Expectations(on_change: Callback<()>) -> impl IntoView {
    let c = ctx();
    let kind = RwSignal::new("in_top_k".to_owned());
    let asin = RwSignal::new(String::new());
    let k = RwSignal::new("10".to_owned());
    let n = RwSignal::new("1".to_owned());
    let min = RwSignal::new("0.8".to_owned());
    let category = RwSignal::new(String::new());
    let channel = RwSignal::new("cf".to_owned());
    let save = move |list: Vec<Expectation>| {
        let Some(s) = open_scenario() else { return };
        let mut body = s.body;
        body.expectations = list;
        spawn_local(async move {
            match api::put::<_, Scenario>(&format!("/api/scenarios/{}", api::enc(&s.id)), &body)
                .await
            {
                Ok(_) => {
                    c.scenario.refetch();
                    on_change.run(());
                }
                Err(e) => c.fail(e),
            }
        });
    };
    let add = move |_| {
        let num = |s: RwSignal<String>| s.get_untracked().trim().parse::<usize>().unwrap_or(0);
        let k = num(k);
        let min: f64 = min.get_untracked().trim().parse().unwrap_or(-1.0);
        let e = match kind.get_untracked().as_str() {
            "in_top_k" => Expectation::InTopK {
                asin: asin.get_untracked().trim().to_owned(),
                k,
            },
            "no_category_in_top_k" => match category.get_untracked().parse() {
                Ok(category_id) => Expectation::NoCategoryInTopK { category_id, k },
                Err(_) => return c.fail("pick a category"),
            },
            "channel_at_least" => Expectation::ChannelAtLeast {
                channel: channel.get_untracked(),
                n: num(n),
                k,
            },
            "precision_at_least" => Expectation::PrecisionAtLeast { k, min },
            _ => Expectation::BaselineOverlapAtLeast { k, min },
        };
        let mut list = open_scenario()
            .map(|s| s.body.expectations)
            .unwrap_or_default();
        list.push(e);
        save(list);
    };
    let current = move || {
        c.scenario
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|s| s.body.expectations)
            .unwrap_or_default()
    };
    view! {
        <div class="panel">
            <h3>"Expectations of the open scenario (checked on configuration A)"</h3>
            <ul class="expectations">
                {move || current().into_iter().enumerate().map(|(i, e)| {
                    let d = e.describe();
                    view! { <li>{d.clone()}" "<button aria-label=format!("Remove expectation {d}")
                        on:click=move |_| { let mut l = current(); l.remove(i); save(l); }>"Remove"</button></li> }
                }).collect_view()}
            </ul>
            <div class="toolbar">
                <label for="exp-kind">"expect"<select id="exp-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="in_top_k">"item in the top K"</option>
                    <option value="no_category_in_top_k">"no item of a category in the top K"</option>
                    <option value="channel_at_least">"at least N from a channel in the top K"</option>
                    <option value="precision_at_least">"judged precision@K at least"</option>
                    <option value="baseline_overlap_at_least">"overlap@K with the baseline at least"</option>
                </select></label>
                <Show when=move || kind.get() == "in_top_k">
                    <label for="exp-asin">"asin"<input id="exp-asin" prop:value=move || asin.get() on:input=move |ev| asin.set(event_target_value(&ev)) /></label>
                </Show>
                <Show when=move || kind.get() == "no_category_in_top_k">
                    <label for="exp-category">"category"<select id="exp-category" prop:value=move || category.get() on:change=move |ev| category.set(event_target_value(&ev))>
                        <option value="">"pick one"</option>
                        {move || c.categories.get().and_then(Result::ok).unwrap_or_default().into_iter()
                            .map(|cat| view! { <option value=cat.id.to_string()>{cat.name}</option> }).collect_view()}
                    </select></label>
                </Show>
                <Show when=move || kind.get() == "channel_at_least">
                    <label for="exp-channel">"channel"<select id="exp-channel" prop:value=move || channel.get() on:change=move |ev| channel.set(event_target_value(&ev))>
                        {crate::channels::names().map(|n| view! { <option value=n>{crate::channels::label(n).to_owned()}</option> }).collect_view()}
                    </select></label>
                    <label for="exp-n">"N"<input id="exp-n" type="number" min="1" style="width:70px" prop:value=move || n.get() on:input=move |ev| n.set(event_target_value(&ev)) /></label>
                </Show>
                <label for="exp-k">"K"<input id="exp-k" type="number" min="1" style="width:70px" prop:value=move || k.get() on:input=move |ev| k.set(event_target_value(&ev)) /></label>
                <Show when=move || kind.get().ends_with("at_least") && kind.get() != "channel_at_least">
                    <label for="exp-min">"at least"<input id="exp-min" type="number" min="0" max="1" step="0.05" style="width:80px" prop:value=move || min.get() on:input=move |ev| min.set(event_target_value(&ev)) /></label>
                </Show>
                <button on:click=add>"Add expectation"</button>
            </div>
        </div>
    }
}
