//! Shared pieces: product image with a placeholder, product cards, channel badges, recall
//! controls, the history timeline and the similar-items panel.

use crate::api;
use crate::state::ctx;
use common::{Aggregate, ChannelScores, Click, Fusion, NeighboursResponse, Product, RecallParams};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The image of a product; a neat placeholder when there is no URL or it cannot load (never a
/// broken-image icon: the image stays invisible until it has loaded).
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

pub fn price_view(p: &Product) -> impl IntoView + use<> {
    let list = (p.list_price > p.price).then(|| format!("${:.2}", p.list_price));
    view! {
        <span class="price">{format!("${:.2}", p.price)}</span>
        {list.map(|l| view! { <span class="list">{l}</span> })}
    }
}

pub fn badges(c: &ChannelScores) -> impl IntoView + use<> {
    c.iter()
        .map(|(name, score)| {
            let label = crate::channels::label(name).to_owned();
            let class = format!("badge {name}");
            let id = format!("badge-{name}");
            view! { <span class=class data-testid=id title=format!("{label} score {score:.4}")>{label.clone()}</span> }
        })
        .collect_view()
}

/// A catalog card: clicking it records a click for the current user.
#[component]
pub fn ProductCard(product: Product) -> impl IntoView {
    let c = ctx();
    let (asin, title) = (product.asin.clone(), product.title.clone());
    let similar_asin = product.asin.clone();
    let category = product
        .category_name
        .clone()
        .unwrap_or_else(|| format!("Category {}", product.category_id));
    view! {
        <div class="card clickable" data-testid="product-card" data-asin=product.asin.clone() tabindex="0" role="button"
            aria-label=format!("Click {}", product.title)
            on:click=move |_| c.click(asin.clone(), title.clone())
            on:keydown={
                let (asin, title) = (product.asin.clone(), product.title.clone());
                move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" { c.click(asin.clone(), title.clone()) }
            }>
            <ProductImage url=product.img_url.clone() label=category.clone() />
            <div class="body">
                <div class="title" title=product.title.clone()>{product.title.clone()}</div>
                <div class="meta">{price_view(&product)}</div>
                <div class="meta">
                    <span>{format!("★ {:.1}", product.stars)}</span>
                    <span>{format!("{} reviews", product.reviews)}</span>
                    {product.is_best_seller.then(|| view! { <span class="badge best">"Best seller"</span> })}
                </div>
                <div class="meta">{category}</div>
                <div class="actions">
                    <button data-testid="card-click" on:click=move |ev| ev.stop_propagation() title="the card itself records the click">"Click"</button>
                    <button data-testid="card-similar" on:click=move |ev| { ev.stop_propagation(); c.similar_of.set(Some(similar_asin.clone())); }>"Similar"</button>
                </div>
            </div>
        </div>
    }
}

/// A recalled item: rank, score, channel badges and "because you clicked".
#[component]
pub fn RecallCard(item: common::RecallItem, #[prop(optional)] only: bool) -> impl IntoView {
    let c = ctx();
    let p = item.product.clone();
    let category = p
        .category_name
        .clone()
        .unwrap_or_else(|| format!("Category {}", p.category_id));
    let titles: Vec<(String, String)> = c.history.with_untracked(|h| {
        item.because
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    h.iter()
                        .find(|k| &k.asin == a)
                        .and_then(|k| k.product.as_ref())
                        .map(|p| p.title.clone())
                        .unwrap_or_else(|| a.clone()),
                )
            })
            .collect()
    });
    let similar_asin = p.asin.clone();
    view! {
        <div class="card" class:only=only data-testid="recall-card" data-asin=p.asin.clone()>
            <span class="rank">{format!("#{}", item.rank)}</span>
            <ProductImage url=p.img_url.clone() label=category.clone() />
            <div class="body">
                <div class="title" title=p.title.clone()>{p.title.clone()}</div>
                <div class="meta">{price_view(&p)}<span>{format!("★ {:.1}", p.stars)}</span></div>
                <div class="meta">{badges(&item.channels)}<span title="fused score">{format!("{:.4}", item.score)}</span></div>
                {(!titles.is_empty()).then(|| view! {
                    <div class="because">"because you clicked "
                        {titles.into_iter().take(2).map(|(a, t)| {
                            let short: String = t.chars().take(40).collect();
                            view! { <a href="#" title=t.clone() on:click=move |ev| { ev.prevent_default(); c.similar_of.set(Some(a.clone())); }>{short}</a>" " }
                        }).collect_view()}
                    </div>
                })}
                <div class="actions">
                    <button on:click=move |_| c.similar_of.set(Some(similar_asin.clone()))>"Similar"</button>
                </div>
            </div>
        </div>
    }
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

/// Controls of a recall configuration, bound to `params`.
#[component]
pub fn RecallControls(
    params: RwSignal<RecallParams>,
    #[prop(optional)] prefix: &'static str,
) -> impl IntoView {
    let c = ctx();
    let id = move |s: &str| {
        if prefix.is_empty() {
            s.to_owned()
        } else {
            format!("{prefix}-{s}")
        }
    };
    let set_channel = move |name: &str, on: bool| {
        params.update(|p| {
            if let Some(list) = crate::channels::toggled(p, name, on) {
                p.channels = Some(list);
            }
        })
    };
    view! {
        <div class="toolbar">
            <label>"topn"<input type="number" min="1" max="10000" data-testid={id("ctl-topn")} prop:value=move || params.get().topn.to_string()
                on:change=move |ev| { if let Some(v) = num::<usize>(&event_target_value(&ev)) { params.update(|p| p.topn = v.clamp(1, 10_000)) } } /></label>
            <label>"nprobe"<input type="number" min="1" placeholder="auto" data-testid={id("ctl-nprobe")} prop:value=move || params.get().nprobe.map(|n| n.to_string()).unwrap_or_default()
                on:change=move |ev| { let v = num::<usize>(&event_target_value(&ev)); params.update(|p| p.nprobe = v.filter(|n| *n > 0)) } /></label>
            <label>"fusion"<select data-testid={id("ctl-fusion")} prop:value=move || params.get().fusion.as_str()
                on:change=move |ev| { if let Ok(f) = event_target_value(&ev).parse::<Fusion>() { params.update(|p| p.fusion = f) } }>
                <option value="rrf">"RRF"</option><option value="seed">"seed (CF, then content)"</option><option value="weighted">"weighted"</option>
            </select></label>
            <label>"aggregate"<select data-testid={id("ctl-aggregate")} prop:value=move || params.get().aggregate.as_str()
                on:change=move |ev| { if let Ok(a) = event_target_value(&ev).parse::<Aggregate>() { params.update(|p| p.aggregate = a) } }>
                <option value="max">"max"</option><option value="sum">"sum"</option>
            </select></label>
            {crate::channels::CHANNELS.iter().map(|ch| view! {
                <label>{ch.label}<input type="checkbox" prop:checked=move || crate::channels::enabled(&params.get(), ch.name)
                    on:change=move |ev| set_channel(ch.name, event_target_checked(&ev)) /></label>
            }).collect_view()}
            <Show when=move || params.get().fusion == Fusion::Weighted>
                {crate::channels::CHANNELS.iter().map(|ch| view! {
                    <label>{format!("w {}", ch.label)}<input type="number" step="0.1" min="0" style="width:70px" placeholder="default"
                        prop:value=move || params.get().weights.get(ch.name).map(|w| w.to_string()).unwrap_or_default()
                        on:change=move |ev| { let v = num::<f32>(&event_target_value(&ev)); params.update(|p| match v {
                            Some(v) => { p.weights.insert(ch.name.to_owned(), v.max(0.0)); }
                            None => { p.weights.remove(ch.name); } }) } /></label>
                }).collect_view()}
            </Show>
            <label>"category"<select prop:value=move || params.get().filters.category.map(|c| c.to_string()).unwrap_or_default()
                on:change=move |ev| { let v = num::<i64>(&event_target_value(&ev)); params.update(|p| p.filters.category = v) }>
                <option value="">"any"</option>
                {move || c.categories.get().into_iter().map(|cat| view! { <option value=cat.id.to_string()>{cat.name}</option> }).collect_view()}
            </select></label>
            <label>"min $"<input type="number" min="0" style="width:80px" prop:value=move || params.get().filters.min_price.map(|v| v.to_string()).unwrap_or_default()
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.min_price = v) } /></label>
            <label>"max $"<input type="number" min="0" style="width:80px" prop:value=move || params.get().filters.max_price.map(|v| v.to_string()).unwrap_or_default()
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.max_price = v) } /></label>
            <label>"min ★"<input type="number" min="0" max="5" step="0.5" style="width:70px" prop:value=move || params.get().filters.min_stars.map(|v| v.to_string()).unwrap_or_default()
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.min_stars = v) } /></label>
        </div>
    }
}

/// The current user's clicks, oldest first, with remove and clear.
#[component]
pub fn History() -> impl IntoView {
    let c = ctx();
    Effect::new(move |_| {
        let user = c.user.get();
        c.history_version.track();
        spawn_local(async move {
            match api::get::<Vec<Click>>(&format!("/api/users/{}/clicks", api::enc(&user))).await {
                Ok(h) => c.history.set(h),
                Err(_) => c.history.set(Vec::new()),
            }
        });
    });
    let remove = move |id: i64| {
        let user = c.user.get_untracked();
        spawn_local(async move {
            match api::delete(&format!("/api/users/{}/clicks/{id}", api::enc(&user))).await {
                Ok(()) => c.history_version.update(|v| *v += 1),
                Err(e) => c.fail(e),
            }
        });
    };
    let clear = move |_| {
        let user = c.user.get_untracked();
        spawn_local(async move {
            match api::delete(&format!("/api/users/{}/clicks", api::enc(&user))).await {
                Ok(()) => c.history_version.update(|v| *v += 1),
                Err(e) => c.fail(e),
            }
        });
    };
    view! {
        <aside class="history" aria-label="click history">
            <h2>{move || format!("History ({})", c.history.with(Vec::len))}<button data-testid="history-clear" on:click=clear>"Clear"</button></h2>
            <Show when=move || c.history.with(Vec::is_empty)>
                <p class="because">"No clicks yet: click product cards in the catalog."</p>
            </Show>
            {move || c.history.get().into_iter().rev().map(|k| {
                let p = k.product.clone();
                let title = p.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| k.asin.clone());
                let tooltip = title.clone();
                let label = p.as_ref().and_then(|p| p.category_name.clone()).unwrap_or_default();
                let url = p.as_ref().map(|p| p.img_url.clone()).unwrap_or_default();
                let time = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(k.click_time as f64)).to_locale_time_string("en-GB");
                let id = k.id;
                view! {
                    <div class="history-item" data-testid="history-item">
                        <ProductImage url=url label=label />
                        <div><span class="t" title=tooltip>{title}</span><small>{String::from(time)}</small></div>
                        <button aria-label="remove this click" on:click=move |_| remove(id)>"×"</button>
                    </div>
                }
            }).collect_view()}
        </aside>
    }
}

/// The item-to-item neighbours of `similar_of`, as a dialog.
#[component]
pub fn SimilarPanel() -> impl IntoView {
    let c = ctx();
    let result = RwSignal::new(None::<Result<NeighboursResponse, String>>);
    Effect::new(move |_| {
        if let Some(asin) = c.similar_of.get() {
            result.set(None);
            spawn_local(async move {
                result.set(Some(
                    api::get::<NeighboursResponse>(&format!(
                        "/api/products/{}/similar?k=24",
                        api::enc(&asin)
                    ))
                    .await,
                ));
            });
        }
    });
    view! {
        <Show when=move || c.similar_of.get().is_some()>
            <div class="modal-back" on:click=move |_| c.similar_of.set(None)>
                <div class="modal" role="dialog" aria-label="similar items" on:click=|ev| ev.stop_propagation()>
                    <h2><span>"Similar items"</span><button on:click=move |_| c.similar_of.set(None)>"Close"</button></h2>
                    {move || match result.get() {
                        None => view! { <p>"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <div class="error">{e}</div> }.into_any(),
                        Some(Ok(r)) => view! {
                            <p class="status">{format!("{} neighbours in {:.1} ms (nprobe {})", r.items.len(), r.took_ms, r.nprobe.map(|n| n.to_string()).unwrap_or("-".into()))}</p>
                            <div class="grid" data-testid="similar-grid">
                                {r.items.into_iter().map(|s| view! { <ProductCard product=s.product /> }).collect_view()}
                            </div>
                        }.into_any(),
                    }}
                </div>
            </div>
        </Show>
    }
}
