//! The similar-items dialog: the item-to-item neighbours of the product in `similar_of`, in the
//! index of the catalog it was opened from.

use super::{Modal, ProductCard, error_banners};
use crate::api::{self, ApiError};
use crate::state::ctx;
use common::NeighboursResponse;
use leptos::prelude::*;

/// The neighbours of `similar_of` as a dialog; closing it clears `similar_of`. Its cards do not
/// record a click when their body is clicked (only their Click button does): browsing
/// neighbours is not clicking them.
#[component]
pub fn SimilarPanel() -> impl IntoView {
    let c = ctx();
    let neighbours = LocalResource::new(move || {
        let open = c.similar_of.get();
        async move {
            match open {
                Some(o) => api::get::<NeighboursResponse>(&api::url_in(
                    o.catalog.as_deref(),
                    &format!("/api/products/{}/similar?k=24", api::enc(&o.asin)),
                ))
                .await
                .map(Some),
                None => Ok(None),
            }
        }
    });
    let title = RwSignal::new(String::new());
    Effect::new(move |_| {
        let Some(open) = c.similar_of.get() else {
            return;
        };
        title.set(open.asin.clone());
        spawn_title(open.asin, title);
    });
    // Another build's neighbours say so: they come from that build's model and index.
    let of = move || {
        let t = title.get();
        match c.similar_of.get().and_then(|o| o.catalog) {
            Some(k) => format!("Similar to {t} (catalog {k})"),
            None => format!("Similar to {t}"),
        }
    };
    let catalog = move || c.similar_of.get().and_then(|o| o.catalog);
    let close = Callback::new(move |()| c.similar_of.set(None));
    view! {
        <Show when=move || c.similar_of.get().is_some()>
            <Modal label=Signal::derive(of) on_close=close test_id="similar-dialog">
                // Suspense, not Transition: the previous item's neighbours must not stand in for these.
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    <ErrorBoundary fallback=error_banners>
                        {move || Suspend::new(async move {
                            let r = neighbours.await?;
                            Ok::<_, ApiError>(r.map(|r| view! {
                                <p class="status">{format!("{} neighbours in {:.1} ms (nprobe {})", r.items.len(), r.took_ms, r.nprobe.map_or("-".into(), |n| n.to_string()))}</p>
                                <div class="grid" data-testid="similar-grid">
                                    {r.items.into_iter().map(|s| view! { <ProductCard product=s.product body_clicks=false catalog=catalog() /> }).collect_view()}
                                </div>
                            }))
                        })}
                    </ErrorBoundary>
                </Suspense>
            </Modal>
        </Show>
    }
}

/// Fills `title` with the product's title once the server has it.
fn spawn_title(asin: String, title: RwSignal<String>) {
    leptos::task::spawn_local(async move {
        if let Ok(p) =
            api::get::<common::Product>(&format!("/api/products/{}", api::enc(&asin))).await
        {
            title.set(p.title);
        }
    });
}
