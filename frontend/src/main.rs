//! Recall Lab's browser app (Leptos, client-side rendered, built by Trunk).
//!
//! Modules: `api` (HTTP client and query strings), `state` (shared state and its URL mirror),
//! `components` (cards, image placeholder, controls, history, similar items) and `views`
//! (catalog, recall, compare, quality, scenarios).

mod api;
mod channels;
mod components;
mod state;
mod views;

use components::{History, SimilarPanel};
use leptos::prelude::*;
use leptos::task::spawn_local;
use state::{Ctx, View, ctx};

#[component]
fn UserBar() -> impl IntoView {
    let c = ctx();
    let rename = RwSignal::new(String::new());
    let new_user = move |_| {
        let n = c.users.with_untracked(Vec::len) + 1;
        let id = format!("user-{}-{}", n, (js_sys::Math::random() * 1000.0) as u32);
        c.user.set(id);
        c.ensure_user();
    };
    let do_rename = move |_| {
        let (id, name) = (c.user.get_untracked(), rename.get_untracked());
        spawn_local(async move {
            match api::post::<_, common::User>(
                "/api/users",
                &common::NewUser {
                    id: Some(id),
                    name: Some(name),
                },
            )
            .await
            {
                Ok(_) => c.load_users(),
                Err(e) => c.fail(e),
            }
        });
    };
    view! {
        <div class="user">
            <label for="user-select">"User"</label>
            <select id="user-select" data-testid="user-select" prop:value=move || c.user.get()
                on:change=move |ev| c.user.set(event_target_value(&ev))>
                {move || {
                    let mut users = c.users.get();
                    let current = c.user.get();
                    if !users.iter().any(|u| u.id == current) {
                        users.insert(0, common::User { id: current.clone(), name: current.clone(), clicks: 0 });
                    }
                    users.into_iter().map(|u| {
                        let label = if u.name != u.id { format!("{} ({})", u.name, u.id) } else { u.id.clone() };
                        view! { <option value=u.id.clone()>{label}</option> }
                    }).collect_view()
                }}
            </select>
            <button data-testid="user-new" on:click=new_user>"New user"</button>
            <input aria-label="new name" placeholder="rename to…" style="width:120px" prop:value=move || rename.get() on:input=move |ev| rename.set(event_target_value(&ev)) />
            <button on:click=do_rename>"Rename"</button>
        </div>
    }
}

#[component]
fn App() -> impl IntoView {
    let c = Ctx::from_url();
    provide_context(c);
    c.sync_url();
    c.ensure_user();
    let _ = window_event_listener(leptos::ev::hashchange, move |_| c.follow_url());
    spawn_local(async move {
        match api::get::<Vec<common::Category>>("/api/categories").await {
            Ok(cats) => c
                .categories
                .set(cats.into_iter().filter(|k| k.products > 0).collect()),
            Err(e) => c.fail(e),
        }
    });
    view! {
        <header class="top">
            <h1>"Recall Lab"</h1>
            <nav aria-label="views">
                {View::ALL.into_iter().map(|v| view! {
                    <a href=format!("#/{}", v.slug()) data-testid=format!("nav-{}", v.slug()) class:active=move || c.view.get() == v
                        on:click=move |ev| { ev.prevent_default(); c.view.set(v); }>{v.label()}</a>
                }).collect_view()}
            </nav>
            <UserBar />
        </header>
        <div class="layout">
            <main>
                {move || c.error.get().map(|e| view! {
                    <div class="error" role="alert" data-testid="error-banner">{e}" "<button on:click=move |_| c.error.set(None)>"Dismiss"</button></div>
                })}
                {move || c.notice.get().map(|n| view! { <div class="note" role="status">{n}</div> })}
                {move || match c.view.get() {
                    View::Catalog => view! { <views::Catalog /> }.into_any(),
                    View::Recall => view! { <views::Recall /> }.into_any(),
                    View::Compare => view! { <views::Compare /> }.into_any(),
                    View::Quality => view! { <views::Quality /> }.into_any(),
                    View::Scenarios => view! { <views::Scenarios /> }.into_any(),
                }}
            </main>
            <History />
        </div>
        <SimilarPanel />
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
