//! The scenarios view: named snapshots of a user, their history and the recall parameters, kept
//! in the browser's local storage; saved, loaded (re-created on the server), exported, imported.

use crate::api;
use crate::state::{Ctx, View, ctx};
use common::{Click, NewClick, NewUser, RecallParams, User};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Scenario {
    name: String,
    user: String,
    /// Clicked asins, oldest first.
    clicks: Vec<String>,
    params: RecallParams,
}

const STORE: &str = "recall-lab.scenarios";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_scenarios() -> Vec<Scenario> {
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

/// Re-creates a scenario on the server (the user's clicks replaced by the scenario's), then
/// switches to it and opens the recall view.
fn apply(c: Ctx, s: Scenario) {
    spawn_local(async move {
        let user = s.user.clone();
        let base = format!("/api/users/{}/clicks", api::enc(&user));
        let new_user = NewUser {
            id: Some(user.clone()),
            name: None,
        };
        if let Err(e) = api::post::<_, User>("/api/users", &new_user).await {
            return c.fail(e);
        }
        if let Err(e) = api::delete(&base).await {
            return c.fail(e);
        }
        for asin in &s.clicks {
            let click = NewClick { asin: asin.clone() };
            if let Err(e) = api::post::<_, Click>(&base, &click).await {
                return c.fail(e);
            }
        }
        c.params.set(s.params.clone());
        c.user.set(user);
        c.history.refetch();
        c.users.refetch();
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
            return c.fail("give the scenario a name");
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
                <label class="grow" for="scenario-name">"Name"<input id="scenario-name" data-testid="scenario-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) placeholder="e.g. luggage shopper" /></label>
                <button class="primary" data-testid="scenario-save" on:click=save>"Save scenario"</button>
            </div>
            <p class="because">{move || format!("user {} · {} clicks · share this page's URL to reopen the same view", c.user.get(), c.click_count())}</p>
        </div>
        <div class="panel">
            <h3>"Saved scenarios"</h3>
            {move || list.get().into_iter().map(|s| {
                let summary = format!("{} · user {} · {} clicks · {} fusion, topn {}", s.name, s.user, s.clicks.len(), s.params.fusion.as_str(), s.params.topn);
                let name = s.name.clone();
                view! {
                    <div class="scen"><b>{summary}</b>
                        <button data-testid="scenario-load" data-name=name.clone() aria-label=format!("Load scenario {name}")
                            on:click=move |_| apply(c, s.clone())>"Load"</button>
                        <button aria-label=format!("Delete scenario {name}")
                            on:click=move |_| { list.update(|l| l.retain(|x| x.name != name)); save_scenarios(&list.get_untracked()); }>"Delete"</button>
                    </div>
                }
            }).collect_view()}
        </div>
        <div class="panel">
            <h3>"Export / import (JSON)"</h3>
            <div class="toolbar"><button on:click=export>"Export to the box"</button><button on:click=import>"Import from the box"</button></div>
            <label for="scenario-json" class="because">"Scenarios as JSON"</label>
            <textarea id="scenario-json" data-testid="scenario-json" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        </div>
    }
}
