//! The similar-items dialog: the item-to-item neighbours of the product in `similar_of`.

use super::{ProductCard, error_banners};
use crate::api::{self, ApiError};
use crate::state::ctx;
use common::NeighboursResponse;
use leptos::prelude::*;

/// The neighbours of `similar_of` as a dialog; closing it clears `similar_of`.
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
    let close = move || c.similar_of.set(None);
    view! {
        <Show when=move || c.similar_of.get().is_some()>
            <div class="modal-back" on:click=move |_| close()>
                <div class="modal" role="dialog" aria-modal="true" aria-labelledby="similar-title" on:click=|ev| ev.stop_propagation()>
                    <h2><span id="similar-title">"Similar items"</span><button on:click=move |_| close()>"Close"</button></h2>
                    // Suspense, not Transition: the previous item's neighbours must not stand in for these.
                    <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                        <ErrorBoundary fallback=error_banners>
                            {move || Suspend::new(async move {
                                let r = neighbours.await?;
                                Ok::<_, ApiError>(r.map(|r| view! {
                                    <p class="status">{format!("{} neighbours in {:.1} ms (nprobe {})", r.items.len(), r.took_ms, r.nprobe.map_or("-".into(), |n| n.to_string()))}</p>
                                    <div class="grid" data-testid="similar-grid">
                                        {r.items.into_iter().map(|s| view! { <ProductCard product=s.product /> }).collect_view()}
                                    </div>
                                }))
                            })}
                        </ErrorBoundary>
                    </Suspense>
                </div>
            </div>
        </Show>
    }
}
