//! The similar-items dialog: the item-to-item neighbours of the product in `similar_of`.

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
        let asin = c.similar_of.get();
        async move {
            match asin {
                Some(a) => api::get::<NeighboursResponse>(&format!(
                    "/api/products/{}/similar?k=24",
                    api::enc(&a)
                ))
                .await
                .map(Some),
                None => Ok(None),
            }
        }
    });
    let title = RwSignal::new(String::new());
    Effect::new(move |_| {
        let Some(asin) = c.similar_of.get() else {
            return;
        };
        title.set(asin.clone());
        spawn_title(asin, title);
    });
    let close = Callback::new(move |()| c.similar_of.set(None));
    view! {
        <Show when=move || c.similar_of.get().is_some()>
            <Modal label=Signal::derive(move || format!("Similar to {}", title.get())) on_close=close test_id="similar-dialog">
                // Suspense, not Transition: the previous item's neighbours must not stand in for these.
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    <ErrorBoundary fallback=error_banners>
                        {move || Suspend::new(async move {
                            let r = neighbours.await?;
                            Ok::<_, ApiError>(r.map(|r| view! {
                                <p class="status">{format!("{} neighbours in {:.1} ms (nprobe {})", r.items.len(), r.took_ms, r.nprobe.map_or("-".into(), |n| n.to_string()))}</p>
                                <div class="grid" data-testid="similar-grid">
                                    {r.items.into_iter().map(|s| view! { <ProductCard product=s.product body_clicks=false /> }).collect_view()}
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
