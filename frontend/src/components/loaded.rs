//! Where server reads show their state: a "Loading…" line until the first answer, the previous
//! answer dimmed while a newer one loads, and the server's error message in place on failure.

use leptos::error::Errors;
use leptos::prelude::*;

/// An error message as a banner; `on_dismiss` adds a button that hides it.
#[component]
pub fn ErrorBanner(
    message: String,
    #[prop(optional, into)] on_dismiss: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div class="error" role="alert" data-testid="error-banner">
            {message}
            {on_dismiss.map(|f| view! { " "<button on:click=move |_| f.run(())>"Dismiss"</button> })}
        </div>
    }
}

/// The fallback of an `ErrorBoundary`: each error's message as a banner.
pub fn error_banners(errors: ArcRwSignal<Errors>) -> impl IntoView {
    move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| view! { <ErrorBanner message=e.to_string() /> })
            .collect_view()
    }
}

/// Shows `children` (which await resources through `Suspend`) with the shared loading and error
/// states: `waiting` until the first answer, then the last answer while a newer one loads, with
/// `pending` set meanwhile (for dimming it).
#[component]
pub fn Loaded(
    #[prop(optional)] pending: Option<RwSignal<bool>>,
    #[prop(default = "Loading…")] waiting: &'static str,
    children: Children,
) -> impl IntoView {
    let pending = pending.unwrap_or_else(|| RwSignal::new(false));
    view! {
        <Transition fallback=move || view! { <p class="status">{waiting}</p> } set_pending=pending.write_only()>
            <ErrorBoundary fallback=error_banners>{children()}</ErrorBoundary>
        </Transition>
    }
}
