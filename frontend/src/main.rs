//! Recall Lab's browser app (Leptos, client-side rendered, built by Trunk).
//!
//! Modules: `api` (HTTP client, its error type and query strings), `state` (shared state, the
//! server data it holds as resources, and its URL mirror), `channels` (everything that names a
//! recall channel), `components` (cards, image placeholder, recall controls, chart, history,
//! similar-items dialog, user bar, model badge, loading and error states; one file each) and `views`
//! (catalog, recall, map, compare, quality, scenarios, catalogs; one file each).

mod api;
mod channels;
mod components;
mod state;
mod views;

use components::{
    ErrorBanner, ExplainPanel, History, ModelBadge, SimilarPanel, UserBar, error_banners,
};
use leptos::prelude::*;
use state::{Ctx, View};

#[component]
fn App() -> impl IntoView {
    let c = Ctx::from_url();
    provide_context(c);
    c.sync_url();
    c.ensure_user();
    let _ = window_event_listener(leptos::ev::hashchange, move |_| c.follow_url());
    let _ = window_event_listener(leptos::ev::popstate, move |_| c.follow_url());
    // Pictures come from the server's cache when it has one (a failed read means no cache).
    Effect::new(move |_| {
        if let Some(r) = c.stats.get() {
            c.images_cached
                .set(Some(r.as_ref().is_ok_and(|s| s.images.cached > 0)));
        }
    });
    // A success replaces the error of an earlier attempt (`Ctx::fail` does the converse).
    Effect::new(move |_| {
        if c.notice.with(Option::is_some) {
            c.error.set(None);
        }
    });
    let menu = RwSignal::new(false);
    // A message belongs to the view it was shown in: switching views clears it (and closes the
    // phone menu).
    Effect::new(move |prev: Option<View>| {
        let v = c.view.get();
        menu.set(false);
        if prev.is_some_and(|p| p != v) {
            c.error.set(None);
            c.notice.set(None);
        }
        v
    });
    view! {
        <header class="top">
            <div class="brand">
                <h1>"Recall Lab"</h1>
                <ModelBadge />
                {api::catalog().map(|name| view! {
                    <span class="model-badge" role="note" aria-label=format!("catalog {name}") data-testid="catalog-badge">"catalog " <b>{name.clone()}</b></span>
                })}
            </div>
            // On a phone the views and the user bar fold into this menu.
            <button class="menu-toggle" aria-controls="app-menu" aria-expanded=move || menu.get().to_string()
                aria-label=move || format!("Menu (now: {})", c.view.get().label())
                on:click=move |_| menu.update(|m| *m = !*m)>
                <span>{move || c.view.get().label()}</span>" ☰"
            </button>
            <div id="app-menu" class="menu" class:open=move || menu.get()>
                <nav aria-label="views">
                    {View::ALL.into_iter().map(|v| view! {
                        <a href=format!("#/{}", v.slug()) data-testid=format!("nav-{}", v.slug()) class:active=move || c.view.get() == v
                            aria-current=move || (c.view.get() == v).then_some("page")
                            on:click=move |ev| { ev.prevent_default(); c.view.set(v); }>{v.label()}</a>
                    }).collect_view()}
                </nav>
                <UserBar />
            </div>
        </header>
        <div class="layout">
            <main>
                // The app-wide reads (users, categories) fail here; the views' reads fail in place.
                <ErrorBoundary fallback=error_banners>
                    {move || c.users.get().map(|r| r.map(drop))}
                    {move || c.categories.get().map(|r| r.map(drop))}
                </ErrorBoundary>
                {move || c.error.get().map(|e| view! { <ErrorBanner message=e on_dismiss=move |_| c.error.set(None) /> })}
                {move || c.notice.get().map(|n| view! { <div class="note" role="status">{n}</div> })}
                {move || match c.view.get() {
                    View::Catalog => view! { <views::Catalog /> }.into_any(),
                    View::Recall => view! { <views::Recall /> }.into_any(),
                    View::Map => view! { <views::Map /> }.into_any(),
                    View::Compare => view! { <views::Compare /> }.into_any(),
                    View::Quality => view! { <views::Quality /> }.into_any(),
                    View::Scenarios => view! { <views::Scenarios /> }.into_any(),
                    View::Catalogs => view! { <views::Catalogs /> }.into_any(),
                }}
            </main>
            <History />
        </div>
        <SimilarPanel />
        <ExplainPanel />
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
