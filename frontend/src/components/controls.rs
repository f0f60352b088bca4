//! The controls of one recall configuration (size, nprobe, fusion, channels, filters), bound to a
//! `RecallParams` signal.

use crate::channels::ChannelToggles;
use crate::state::ctx;
use common::{Aggregate, Fusion, RecallParams};
use leptos::prelude::*;

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

/// Controls of a recall configuration, bound to `params`. `id_prefix` (e.g. `"a-"`) keeps ids and
/// test ids unique when two configurations share a page.
#[component]
pub fn RecallControls(
    params: RwSignal<RecallParams>,
    #[prop(optional)] id_prefix: &'static str,
) -> impl IntoView {
    let c = ctx();
    let id = move |s: &str| format!("{id_prefix}{s}");
    view! {
        <div class="toolbar">
            <label for=id("ctl-topn")>"topn"<input type="number" id=id("ctl-topn") min="1" max="10000" data-testid=id("ctl-topn")
                prop:value=move || params.with(|p| p.topn.to_string())
                on:change=move |ev| { if let Some(v) = num::<usize>(&event_target_value(&ev)) { params.update(|p| p.topn = v.clamp(1, 10_000)) } } /></label>
            <label for=id("ctl-nprobe")>"nprobe"<input type="number" id=id("ctl-nprobe") min="1" placeholder="auto" data-testid=id("ctl-nprobe")
                prop:value=move || params.with(|p| p.nprobe.map(|n| n.to_string()).unwrap_or_default())
                on:change=move |ev| { let v = num::<usize>(&event_target_value(&ev)); params.update(|p| p.nprobe = v.filter(|n| *n > 0)) } /></label>
            <label for=id("ctl-fusion")>"fusion"<select id=id("ctl-fusion") data-testid=id("ctl-fusion")
                prop:value=move || params.with(|p| p.fusion.as_str())
                on:change=move |ev| { if let Ok(f) = event_target_value(&ev).parse::<Fusion>() { params.update(|p| p.fusion = f) } }>
                <option value="rrf">"RRF"</option><option value="seed">"seed (CF, then content)"</option><option value="weighted">"weighted"</option>
            </select></label>
            <label for=id("ctl-aggregate")>"aggregate"<select id=id("ctl-aggregate") data-testid=id("ctl-aggregate")
                prop:value=move || params.with(|p| p.aggregate.as_str())
                on:change=move |ev| { if let Ok(a) = event_target_value(&ev).parse::<Aggregate>() { params.update(|p| p.aggregate = a) } }>
                <option value="max">"max"</option><option value="sum">"sum"</option>
            </select></label>
            <ChannelToggles params=params id_prefix=id_prefix />
            <label for=id("ctl-category")>"category"<select id=id("ctl-category")
                prop:value=move || params.with(|p| p.filters.category.map(|c| c.to_string()).unwrap_or_default())
                on:change=move |ev| { let v = num::<i64>(&event_target_value(&ev)); params.update(|p| p.filters.category = v) }>
                <option value="">"any"</option>
                {move || c.categories.get().and_then(Result::ok).unwrap_or_default().into_iter()
                    .map(|cat| view! { <option value=cat.id.to_string()>{cat.name}</option> }).collect_view()}
            </select></label>
            <label for=id("ctl-min-price")>"min $"<input type="number" id=id("ctl-min-price") min="0" style="width:80px"
                prop:value=move || params.with(|p| p.filters.min_price.map(|v| v.to_string()).unwrap_or_default())
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.min_price = v) } /></label>
            <label for=id("ctl-max-price")>"max $"<input type="number" id=id("ctl-max-price") min="0" style="width:80px"
                prop:value=move || params.with(|p| p.filters.max_price.map(|v| v.to_string()).unwrap_or_default())
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.max_price = v) } /></label>
            <label for=id("ctl-min-stars")>"min ★"<input type="number" id=id("ctl-min-stars") min="0" max="5" step="0.5" style="width:70px"
                prop:value=move || params.with(|p| p.filters.min_stars.map(|v| v.to_string()).unwrap_or_default())
                on:change=move |ev| { let v = num::<f64>(&event_target_value(&ev)); params.update(|p| p.filters.min_stars = v) } /></label>
        </div>
    }
}
