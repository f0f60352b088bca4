//! Product cards: the catalog's (a click on it records a click) and the recall's (rank, the
//! labelled fused score, channel badges, the top contributing click, judging and explaining).

use super::ProductImage;
use crate::channels::Badges;
use crate::state::{InCatalog, ctx};
use common::{Fusion, Grade, Product, RecallItem, RecallParams};
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

/// Whether a key event reached the card itself, not one of its buttons.
fn on_itself(ev: &web_sys::Event) -> bool {
    match (ev.target(), ev.current_target()) {
        (Some(a), Some(b)) => js_sys::Object::is(a.as_ref(), b.as_ref()),
        _ => false,
    }
}

/// Whether a click event started on a button inside the card (the button acts on its own).
fn on_button(ev: &web_sys::MouseEvent) -> bool {
    ev.target()
        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        .and_then(|e| e.closest("button").ok().flatten())
        .is_some()
}

/// A catalog card: its Click button records a click, and so does a click on the card's body
/// or Space or Enter on the focused card, unless `body_clicks` is false (the similar-items
/// dialog, where looking is not clicking). Its Similar asks `catalog` (`None`: the page's).
#[component]
pub fn ProductCard(
    product: Product,
    #[prop(default = true)] body_clicks: bool,
    #[prop(default = None)] catalog: Option<String>,
) -> impl IntoView {
    let c = ctx();
    let category = category_label(&product);
    let Product { asin, title, .. } = product.clone();
    let record = {
        let (asin, title) = (asin.clone(), title.clone());
        move || c.click(asin.clone(), title.clone())
    };
    let (record_button, record_key) = (record.clone(), record.clone());
    let similar_asin = asin.clone();
    view! {
        <article class="card" class:clickable=body_clicks data-testid="product-card" data-asin=asin.clone()
            tabindex=body_clicks.then_some("0") aria-label=title.clone()
            on:click=move |ev| if body_clicks && !on_button(&ev) { record() }
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                if body_clicks && on_itself(&ev) && (ev.key() == " " || ev.key() == "Enter") { ev.prevent_default(); record_key(); }
            }>
            <ProductImage asin=product.asin.clone() url=product.img_url.clone() label=category.clone() />
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
                        on:click=move |_| record_button()>"Click"</button>
                    <button data-testid="card-similar" aria-label=format!("Similar to {title}")
                        on:click=move |_| c.similar_of.set(Some(InCatalog { asin: similar_asin.clone(), catalog: catalog.clone() }))>"Similar"</button>
                </div>
            </div>
        </article>
    }
}

/// The fused score's label: what the number means under each fusion.
pub fn score_label(fusion: Fusion) -> &'static str {
    match fusion {
        Fusion::Rrf => "RRF",
        Fusion::Seed => "seed score",
        Fusion::Weighted => "weighted",
    }
}

/// Focuses the recall card of `asin` within the same list (`grid`), when it is on the page.
pub fn focus_card(grid: &web_sys::Element, asin: &str) {
    let sel = format!("[data-testid=\"recall-card\"][data-asin=\"{asin}\"]");
    if let Some(el) = grid
        .query_selector(&sel)
        .ok()
        .flatten()
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    {
        let _ = el.focus();
    }
}

/// The next card to judge after `asin` in the card's list: the next unjudged one among the
/// list's first `within`, else simply the next card.
fn next_to_judge(card: &web_sys::Element, asin: &str, within: usize) -> Option<String> {
    let grid = card.closest("[data-testid=\"recall-grid\"]").ok()??;
    let cards = grid
        .query_selector_all("[data-testid=\"recall-card\"]")
        .ok()?;
    let all: Vec<web_sys::Element> = (0..cards.length())
        .filter_map(|i| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(cards.item(i)?).ok())
        .collect();
    let at = all
        .iter()
        .position(|e| e.get_attribute("data-asin").as_deref() == Some(asin))?;
    let after = all.iter().skip(at + 1);
    after
        .clone()
        .take(within.saturating_sub(at + 1))
        .find(|e| e.get_attribute("data-judged").as_deref() == Some("false"))
        .or_else(|| after.clone().next())
        .and_then(|e| e.get_attribute("data-asin"))
}

/// A recalled item: rank, the fused score with its label, channel badges, the top contributing
/// click in full, and the reviewer's judging buttons (keys 1, 2, 3 on the focused card) and
/// explanation (Enter or Space). `params` is the configuration of the list it is in; `marker`
/// says how its rank moved against the other side of a comparison; `judge_within` is the K
/// of the judged metrics (the walk to the next unjudged card stays within it); `catalog` is the
/// build the list came from (`None`: the page's), which Explain and Similar then ask.
#[component]
pub fn RecallCard(
    item: RecallItem,
    fusion: Fusion,
    params: RecallParams,
    #[prop(optional)] only: bool,
    #[prop(default = None)] marker: Option<String>,
    #[prop(default = 10)] judge_within: usize,
    /// Hides the card (a near-duplicate while the list hides them).
    #[prop(optional, into)]
    collapsed: Option<Signal<bool>>,
    #[prop(default = None)] catalog: Option<String>,
) -> impl IntoView {
    let c = ctx();
    let RecallItem {
        rank,
        score,
        channels,
        because,
        product: p,
    } = item;
    let category = category_label(&p);
    let more = because.len().saturating_sub(1);
    let top_click = because.first().cloned();
    let asin = p.asin.clone();
    let grade = {
        let asin = asin.clone();
        Memo::new(move |_| c.grades.with(|g| g.get(&asin).copied()))
    };
    let at = {
        let catalog = catalog.clone();
        move |asin: &str| InCatalog {
            asin: asin.to_owned(),
            catalog: catalog.clone(),
        }
    };
    let explain = {
        let (item, params) = (at(&asin), params.clone());
        move || c.explain.set(Some((item.clone(), params.clone())))
    };
    let explain_key = explain.clone();
    let key_asin = asin.clone();
    let keydown = move |ev: web_sys::KeyboardEvent| {
        if !on_itself(&ev) {
            return;
        }
        let g = match ev.key().as_str() {
            "1" => Grade::Relevant,
            "2" => Grade::Partly,
            "3" => Grade::NotRelevant,
            " " | "Enter" => {
                ev.prevent_default();
                return explain_key();
            }
            _ => return,
        };
        ev.prevent_default();
        c.judge(key_asin.clone(), g);
        let card = ev
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok());
        if let Some(card) = card
            && let Some(next) = next_to_judge(&card, &key_asin, judge_within)
            && let Ok(Some(grid)) = card.closest("[data-testid=\"recall-grid\"]")
        {
            focus_card(&grid, &next);
        }
    };
    let similar_asin = asin.clone();
    let title = p.title.clone();
    view! {
        <article class="card" class:only=only class:collapsed=move || collapsed.is_some_and(|h| h.get())
            data-testid="recall-card" data-asin=asin.clone()
            data-judged=move || grade.get().is_some().to_string()
            data-grade=move || grade.get().map(Grade::as_str).unwrap_or("")
            tabindex="0" aria-label=format!("#{rank} {title}") on:keydown=keydown>
            <span class="rank">{format!("#{rank}")}</span>
            {marker.map(|m| view! { <span class="diff" data-testid="rank-diff">{m}</span> })}
            <ProductImage asin=p.asin.clone() url=p.img_url.clone() label=category />
            <div class="body">
                <div class="title" title=p.title.clone()>{p.title.clone()}</div>
                <div class="meta">{price_view(&p)}<span>{format!("★ {:.1}", p.stars)}</span></div>
                <div class="meta"><Badges scores=channels />
                    <span class="score" data-testid="fused-score">{format!("{} {score:.4}", score_label(fusion))}</span></div>
                {top_click.map(|asin| {
                    // The title shows once the clicked product is loaded (a scenario's are
                    // fetched after it opens).
                    let shown = asin.clone();
                    let title = move || {
                        c.scenario_products.track();
                        c.history.track();
                        c.clicked_title(&shown).unwrap_or_else(|| shown.clone())
                    };
                    view! {
                    <div class="because">"because you clicked "
                        <a href="#" on:click={ let at = at.clone(); move |ev| { ev.prevent_default(); c.similar_of.set(Some(at(&asin))); } }>{title}</a>
                        {(more > 0).then(|| format!(" and {more} more"))}
                    </div>
                    }
                })}
                <div class="judge" role="group" aria-label="judge">
                    {Grade::ALL.into_iter().map(|g| {
                        let asin = asin.clone();
                        view! {
                            <button class=format!("grade {}", g.as_str()) aria-label=g.label()
                                aria-pressed=move || (grade.get() == Some(g)).to_string()
                                on:click=move |_| c.judge(asin.clone(), g)>{grade_symbol(g)}</button>
                        }
                    }).collect_view()}
                </div>
                <div class="actions">
                    <button aria-label=format!("Explain {}", p.title) on:click=move |_| explain()>"Explain"</button>
                    <button aria-label=format!("Similar to {}", p.title) on:click=move |_| c.similar_of.set(Some(at(&similar_asin)))>"Similar"</button>
                </div>
            </div>
        </article>
    }
}

/// What a judging button shows (its accessible name is the grade's label).
fn grade_symbol(g: Grade) -> &'static str {
    match g {
        Grade::Relevant => "✓ relevant",
        Grade::Partly => "~ partly",
        Grade::NotRelevant => "✗ not",
    }
}
