//! The explanation panel: why an item is where it is in a recall. The fused score named by its
//! fusion with each channel's part (rank, score and contribution as bars), every click that
//! drove the recall with its thumbnail, title similarity and co-click evidence, the item's
//! popularity rank, and the recall's notes.

use super::{Modal, ProductImage, error_banners};
use crate::api::{self, ApiError};
use crate::channels;
use crate::state::ctx;
use common::{ExplainRequest, Explanation};
use leptos::prelude::*;

/// A horizontal bar of `value` out of `max` (0 when `max` is 0).
fn bar(value: f64, max: f64) -> impl IntoView {
    let pct = if max > 0.0 {
        (value / max * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    view! { <span class="bar" aria-hidden="true"><span style=format!("width:{pct:.0}%")></span></span> }
}

/// The explanation of `explain`'s item as a dialog; closing it clears `explain`.
#[component]
pub fn ExplainPanel() -> impl IntoView {
    let c = ctx();
    let answer = LocalResource::new(move || {
        let open = c.explain.get();
        let clicks = c.current_clicks();
        async move {
            match open {
                Some((item, params)) => api::post::<_, Explanation>(
                    &api::url_in(item.catalog.as_deref(), "/api/recall/explain"),
                    &ExplainRequest {
                        clicks,
                        params,
                        asin: item.asin,
                    },
                )
                .await
                .map(Some),
                None => Ok(None),
            }
        }
    });
    // An item of another build (the compare view's B) is explained by that build, and says so.
    let label = Signal::derive(move || {
        let within = c
            .explain
            .get()
            .and_then(|(item, _)| item.catalog)
            .map_or_else(String::new, |k| format!(" in catalog {k}"));
        match answer.get().and_then(|r| r.ok()).flatten() {
            Some(e) => match e.rank {
                Some(r) => format!("Why #{r}{within}: {}", e.product.title),
                None => format!("Why not in the list{within}: {}", e.product.title),
            },
            None => "Why this item".into(),
        }
    });
    let close = Callback::new(move |()| c.explain.set(None));
    view! {
        <Show when=move || c.explain.get().is_some()>
            <Modal label=label on_close=close test_id="explain-dialog">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    <ErrorBoundary fallback=error_banners>
                        {move || Suspend::new(async move {
                            let e = answer.await?;
                            Ok::<_, ApiError>(e.map(|e| view! { <Explained e=e /> }))
                        })}
                    </ErrorBoundary>
                </Suspense>
            </Modal>
        </Show>
    }
}

#[component]
fn Explained(e: Explanation) -> impl IntoView {
    let score = e
        .score
        .map_or("not in the answer".into(), |s| format!("{s:.4}"));
    let max_contrib = e
        .channels
        .iter()
        .map(|ch| f64::from(ch.contribution))
        .fold(0.0, f64::max);
    let max_sim = e
        .clicks
        .iter()
        .filter_map(|k| k.similarity.map(f64::from))
        .fold(0.0, f64::max);
    view! {
        <p class="formula" data-testid="explain-formula"><b>{format!("Fused score {score}")}</b>" · "{e.formula.clone()}</p>
        <h3>"Channels"</h3>
        <table class="explain" aria-label="channels">
            <thead><tr><th scope="col">"channel"</th><th scope="col">"rank in it"</th><th scope="col">"score"</th><th scope="col">"weight"</th><th scope="col">"adds"</th></tr></thead>
            <tbody>
                {e.channels.into_iter().map(|ch| view! {
                    <tr data-testid="explain-channel" data-channel=ch.channel.clone()>
                        <th scope="row">{channels::label(&ch.channel).to_owned()}</th>
                        <td data-testid="explain-rank">{ch.rank.map_or_else(|| if ch.candidates == 0 { "recalled nothing".to_owned() } else { format!("not among its {}", ch.candidates) }, |r| format!("#{r} of {}", ch.candidates))}</td>
                        <td>{ch.score.map_or("–".into(), |s| format!("{s:.4}"))}</td>
                        <td>{format!("{:.2}", ch.weight)}</td>
                        <td>{bar(f64::from(ch.contribution), max_contrib)}{format!(" {:.4}", ch.contribution)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Clicks that drove the recall (most recent first)"</h3>
        <ul class="explain-clicks">
            {e.clicks.into_iter().map(|k| {
                let title = k.product.as_ref().map_or(k.asin.clone(), |p| p.title.clone());
                let img = k.product.as_ref().map(|p| p.img_url.clone()).unwrap_or_default();
                let cat = k.product.as_ref().and_then(|p| p.category_name.clone()).unwrap_or_default();
                view! {
                    <li data-testid="explain-click" data-asin=k.asin.clone() class:recalled=k.recalled_it>
                        <ProductImage asin=k.asin.clone() url=img label=cat />
                        <div>
                            <div>{title}</div>
                            <small>
                                {k.similarity.map(|s| view! { "title similarity "{bar(f64::from(s), max_sim)}{format!(" {s:.3}")} })}
                                {k.co_click.map(|s| format!(" · co-clicked (CF {s:.3})"))}
                                {k.recalled_it.then_some(" · recalled it")}
                            </small>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
        <p class="because">{e.popularity_rank.map_or("Popularity: outside the ranking the popular channel reads".into(), |r| format!("Popularity rank #{r} in the catalog"))}</p>
        {(!e.notes.is_empty()).then(|| view! {
            <h3>"What the recall did"</h3>
            <ul class="notes">{e.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        })}
    }
}
