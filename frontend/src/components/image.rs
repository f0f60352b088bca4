//! A product's picture that never shows a broken-image icon: the server's cached copy first
//! (`/api/images/{asin}`, when the server caches pictures), then the product's original URL,
//! and a lettered placeholder until one has loaded, or for good when none can.

use crate::state::Ctx;
use leptos::prelude::*;

/// The picture of a product; the placeholder shows `label` (e.g. the category) under its initial.
#[component]
pub fn ProductImage(asin: String, url: String, label: String) -> impl IntoView {
    let c = expect_context::<Ctx>();
    let loaded = RwSignal::new(false);
    // Which of the sources below is being tried; an error moves on to the next.
    let attempt = RwSignal::new(0usize);
    let initial = label
        .chars()
        .find(|c| c.is_alphanumeric())
        .unwrap_or('?')
        .to_ascii_uppercase();
    let sources = Memo::new(move |_| {
        let cached = c.images_cached.get()?;
        let mut v = Vec::with_capacity(2);
        if cached && !asin.is_empty() {
            v.push(crate::api::url(&format!("/api/images/{asin}")));
        }
        if !url.is_empty() {
            v.push(url.clone());
        }
        Some(v)
    });
    let src = move || sources.with(|s| s.as_ref().and_then(|s| s.get(attempt.get()).cloned()));
    view! {
        <div class="thumb" style="position:relative">
            <Show when=move || !loaded.get()>
                <div class="placeholder" data-testid="img-placeholder" aria-hidden="true">
                    {initial.to_string()}
                    <small>{label.clone()}</small>
                </div>
            </Show>
            {move || src().map(|s| view! {
                <img
                    src=s
                    alt=""
                    loading="lazy"
                    data-testid="product-img"
                    style=move || if loaded.get() { "position:absolute;inset:0" } else { "position:absolute;inset:0;opacity:0" }
                    on:load=move |_| loaded.set(true)
                    on:error=move |_| {
                        loaded.set(false);
                        attempt.update(|i| *i += 1);
                    }
                />
            })}
        </div>
    }
}
