//! The history timeline: the current user's clicks, newest on top, with remove and clear.

use super::{Loaded, ProductImage};
use crate::api::{self, ApiError};
use crate::state::ctx;
use common::Click;
use leptos::prelude::*;
use leptos::task::spawn_local;

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
    view! {
        <aside class="history" aria-label="click history">
            <h2>
                {move || format!("History ({})", c.click_count())}
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
            <ProductImage url=url label=label />
            <div><span class="t" title=title.clone()>{title.clone()}</span><small>{String::from(time)}</small></div>
            <button aria-label=format!("Remove {title}") on:click=move |_| remove.run(id)>"×"</button>
        </div>
    }
}
