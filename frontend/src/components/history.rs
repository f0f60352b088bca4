//! The history timeline: the clicks that drive the recalls, newest on top, with remove and
//! clear: the current user's (on the server), or the open scenario's (in this page until the
//! scenario is saved).

use super::{Loaded, ProductImage};
use crate::api::{self, ApiError};
use crate::state::ctx;
use common::Click;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The button that opens and closes the history as a bottom sheet on a phone (hidden on wider
/// screens, where the history is a column).
#[component]
fn SheetToggle(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button class="sheet-toggle" aria-expanded=move || open.get().to_string()
            aria-label=move || if open.get() { "Hide the history" } else { "Show the history" }
            on:click=move |_| open.update(|o| *o = !*o)>
            {move || if open.get() { "▾" } else { "▴" }}
        </button>
    }
}

/// The current user's clicks, newest first, with remove and clear.
#[component]
pub fn History() -> impl IntoView {
    let c = ctx();
    let clicks_url = move || format!("/api/users/{}/clicks", api::enc(&c.user.get_untracked()));
    // Deletes on the server, then reloads the history so that it shows what the server holds.
    let delete = move |url: String| {
        spawn_local(async move {
            match api::delete(&url).await {
                Ok(()) => c.history.refetch(),
                Err(e) => c.fail(e),
            }
        })
    };
    let remove = Callback::new(move |id: i64| delete(format!("{}/{id}", clicks_url())));
    let open = RwSignal::new(false);
    view! {
        <Show when=move || c.scenario_clicks.with(Option::is_none) fallback=|| view! { <ScenarioClicks /> }>
        <aside class="history" class:open=move || open.get() aria-label="click history">
            <h2>
                <span class="sheet-title" on:click=move |_| open.update(|o| *o = !*o)>{move || format!("History ({})", c.click_count())}</span>
                <SheetToggle open=open />
                <button data-testid="history-clear" aria-label="Clear the history" on:click=move |_| delete(clicks_url())>"Clear"</button>
            </h2>
            <Loaded>
                {move || Suspend::new(async move {
                    let clicks = c.history.await?;
                    Ok::<_, ApiError>(if clicks.is_empty() {
                        view! { <p class="because">"No clicks yet: click product cards in the catalog."</p> }.into_any()
                    } else {
                        clicks.into_iter().rev().map(|k| view! { <HistoryItem click=k remove=remove /> }).collect_view().into_any()
                    })
                })}
            </Loaded>
        </aside>
        </Show>
    }
}

/// The open scenario's clicks, newest first; removing one or clearing them changes the
/// scenario in this page (saved by "Update the open scenario").
#[component]
fn ScenarioClicks() -> impl IntoView {
    let c = ctx();
    let clicks = move || c.scenario_clicks.get().unwrap_or_default();
    let remove = move |at: usize| {
        c.scenario_clicks.update(|k| {
            if let Some(k) = k {
                k.remove(at);
            }
        })
    };
    let open = RwSignal::new(false);
    view! {
        <aside class="history" class:open=move || open.get() aria-label="scenario clicks">
            <h2>
                <span class="sheet-title" on:click=move |_| open.update(|o| *o = !*o)>{move || format!("Scenario clicks ({})", clicks().len())}</span>
                <SheetToggle open=open />
                <button aria-label="Clear the scenario's clicks" on:click=move |_| c.scenario_clicks.set(Some(Vec::new()))>"Clear"</button>
            </h2>
            {move || {
                let list = clicks();
                if list.is_empty() {
                    return view! { <p class="because">"No clicks: click product cards in the catalog to add some."</p> }.into_any();
                }
                list.into_iter().enumerate().rev().map(|(at, asin)| {
                    let p = c.scenario_products.with(|m| m.get(&asin).cloned());
                    let title = p.as_ref().map_or_else(|| asin.clone(), |p| p.title.clone());
                    let label = p.as_ref().and_then(|p| p.category_name.clone()).unwrap_or_default();
                    let url = p.map(|p| p.img_url).unwrap_or_default();
                    view! {
                        <div class="history-item" data-testid="history-item" data-asin=asin.clone()>
                            <ProductImage asin=asin.clone() url=url label=label />
                            <div><span class="t" title=title.clone()>{title.clone()}</span><small>{format!("click {}", at + 1)}</small></div>
                            <button aria-label=format!("Remove {title}") on:click=move |_| remove(at)>"×"</button>
                        </div>
                    }
                }).collect_view().into_any()
            }}
        </aside>
    }
}

#[component]
fn HistoryItem(click: Click, remove: Callback<i64>) -> impl IntoView {
    let p = click.product.as_ref();
    let title = p.map_or_else(|| click.asin.clone(), |p| p.title.clone());
    let label = p.and_then(|p| p.category_name.clone()).unwrap_or_default();
    let url = p.map(|p| p.img_url.clone()).unwrap_or_default();
    let time = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(click.click_time as f64))
        .to_locale_time_string("en-GB");
    let id = click.id;
    view! {
        <div class="history-item" data-testid="history-item" data-asin=click.asin.clone()>
            <ProductImage asin=click.asin.clone() url=url label=label />
            <div><span class="t" title=title.clone()>{title.clone()}</span><small>{String::from(time)}</small></div>
            <button aria-label=format!("Remove {title}") on:click=move |_| remove.run(id)>"×"</button>
        </div>
    }
}
