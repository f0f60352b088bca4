//! A product's image that never shows a broken-image icon: a lettered placeholder stands in
//! until the picture has loaded, and for good when there is no URL or it cannot load.

use leptos::prelude::*;

/// The image of a product; the placeholder shows `label` (e.g. the category) under its initial.
#[component]
pub fn ProductImage(url: String, label: String) -> impl IntoView {
    let loaded = RwSignal::new(false);
    let failed = RwSignal::new(url.is_empty());
    let initial = label
        .chars()
        .find(|c| c.is_alphanumeric())
        .unwrap_or('?')
        .to_ascii_uppercase();
    view! {
        <div class="thumb" style="position:relative">
            <Show when=move || !loaded.get()>
                <div class="placeholder" data-testid="img-placeholder" aria-hidden="true">
                    {initial.to_string()}
                    <small>{label.clone()}</small>
                </div>
            </Show>
            <Show when=move || !failed.get()>
                <img
                    src=url.clone()
                    alt=""
                    loading="lazy"
                    style=move || if loaded.get() { "position:absolute;inset:0" } else { "position:absolute;inset:0;opacity:0" }
                    on:load=move |_| loaded.set(true)
                    on:error=move |_| failed.set(true)
                />
            </Show>
        </div>
    }
}
