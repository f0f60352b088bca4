//! Product cards: the catalog's (a click on it records a click for the current user) and the
//! recall's (rank, fused score, channel badges and "because you clicked").

use super::ProductImage;
use crate::channels::Badges;
use crate::state::ctx;
use common::{Product, RecallItem};
use leptos::prelude::*;

fn category_label(p: &Product) -> String {
    p.category_name
        .clone()
        .unwrap_or_else(|| format!("Category {}", p.category_id))
}

fn price_view(p: &Product) -> impl IntoView + use<> {
    let list = (p.list_price > p.price).then(|| format!("${:.2}", p.list_price));
    view! {
        <span class="price">{format!("${:.2}", p.price)}</span>
        {list.map(|l| view! { <span class="list">{l}</span> })}
    }
}

/// A catalog card: a click anywhere on it, or on its Click button, records a click.
#[component]
pub fn ProductCard(product: Product) -> impl IntoView {
    let c = ctx();
    let category = category_label(&product);
    let Product { asin, title, .. } = product.clone();
    let record = {
        let (asin, title) = (asin.clone(), title.clone());
        move || c.click(asin.clone(), title.clone())
    };
    let record_button = record.clone();
    let similar_asin = asin.clone();
    view! {
        <article class="card clickable" data-testid="product-card" data-asin=asin.clone() on:click=move |_| record()>
            <ProductImage url=product.img_url.clone() label=category.clone() />
            <div class="body">
                <div class="title" title=title.clone()>{title.clone()}</div>
                <div class="meta">{price_view(&product)}</div>
                <div class="meta">
                    <span>{format!("★ {:.1}", product.stars)}</span>
                    <span>{format!("{} reviews", product.reviews)}</span>
                    {product.is_best_seller.then(|| view! { <span class="badge best">"Best seller"</span> })}
                </div>
                <div class="meta">{category}</div>
                <div class="actions">
                    <button data-testid="card-click" aria-label=format!("Click {title}")
                        on:click=move |ev| { ev.stop_propagation(); record_button(); }>"Click"</button>
                    <button data-testid="card-similar" aria-label=format!("Similar to {title}")
                        on:click=move |ev| { ev.stop_propagation(); c.similar_of.set(Some(similar_asin.clone())); }>"Similar"</button>
                </div>
            </div>
        </article>
    }
}

/// A recalled item; `only` outlines it as absent from the other side of a comparison.
#[component]
pub fn RecallCard(item: RecallItem, #[prop(optional)] only: bool) -> impl IntoView {
    let c = ctx();
    let RecallItem {
        rank,
        score,
        channels,
        because,
        product: p,
    } = item;
    let category = category_label(&p);
    let because: Vec<(String, String)> = because
        .into_iter()
        .take(2)
        .map(|a| (c.clicked_title(&a).unwrap_or_else(|| a.clone()), a))
        .collect();
    let similar_asin = p.asin.clone();
    view! {
        <article class="card" class:only=only data-testid="recall-card" data-asin=p.asin.clone()>
            <span class="rank">{format!("#{rank}")}</span>
            <ProductImage url=p.img_url.clone() label=category />
            <div class="body">
                <div class="title" title=p.title.clone()>{p.title.clone()}</div>
                <div class="meta">{price_view(&p)}<span>{format!("★ {:.1}", p.stars)}</span></div>
                <div class="meta"><Badges scores=channels /><span title="fused score">{format!("{score:.4}")}</span></div>
                {(!because.is_empty()).then(|| view! {
                    <div class="because">"because you clicked "
                        {because.into_iter().map(|(title, asin)| {
                            let short: String = title.chars().take(40).collect();
                            view! {
                                <a href="#" title=title on:click=move |ev| { ev.prevent_default(); c.similar_of.set(Some(asin.clone())); }>{short}</a>" "
                            }
                        }).collect_view()}
                    </div>
                })}
                <div class="actions">
                    <button aria-label=format!("Similar to {}", p.title) on:click=move |_| c.similar_of.set(Some(similar_asin.clone()))>"Similar"</button>
                </div>
            </div>
        </article>
    }
}
