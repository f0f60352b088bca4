//! The one place that knows the recall channels: their labels, whether they run by default, the
//! per-channel score badges, and the channel toggles and weights. Answers key every per-channel
//! figure by name, so the rest of the app iterates over [`names`] and a new channel needs a row
//! in [`CHANNELS`] only.

use common::{ChannelScores, Fusion, RecallParams, Timings};
use leptos::prelude::*;

/// A channel the app knows how to show.
struct ChannelView {
    /// Its name on the wire.
    name: &'static str,
    label: &'static str,
    /// Whether the server runs it when a request names no channels.
    on_by_default: bool,
}

/// The server's channels (`GET /api/channels`), in display order.
const CHANNELS: &[ChannelView] = &[
    ChannelView {
        name: "content",
        label: "content",
        on_by_default: true,
    },
    ChannelView {
        name: "cf",
        label: "CF",
        on_by_default: true,
    },
    ChannelView {
        name: "popular",
        label: "popular",
        on_by_default: true,
    },
    ChannelView {
        name: "category",
        label: "category top",
        on_by_default: false,
    },
];

/// The channels' names (as on the wire), in display order.
pub fn names() -> impl Iterator<Item = &'static str> {
    CHANNELS.iter().map(|c| c.name)
}

/// How a channel is shown to people (its name, for a channel this app does not know).
pub fn label(name: &str) -> &str {
    CHANNELS
        .iter()
        .find(|c| c.name == name)
        .map_or(name, |c| c.label)
}

/// The time a recall spent in the channel, in milliseconds.
pub fn millis(t: &Timings, name: &str) -> Option<f64> {
    t.channels_ms.get(name).copied()
}

/// How many of the returned items the channel recalled.
pub fn returned(
    counts: &std::collections::BTreeMap<String, common::ChannelCount>,
    name: &str,
) -> Option<usize> {
    counts.get(name).map(|c| c.returned)
}

/// Whether a recall with these parameters runs the channel.
fn enabled(p: &RecallParams, name: &str) -> bool {
    p.names(name)
        .unwrap_or_else(|| CHANNELS.iter().any(|c| c.name == name && c.on_by_default))
}

/// Turns a channel on or off; the last enabled channel stays on, because a recall needs one.
fn set_enabled(p: &mut RecallParams, name: &str, on: bool) {
    let list: Vec<String> = names()
        .filter(|&n| if n == name { on } else { enabled(p, n) })
        .map(str::to_owned)
        .collect();
    if !list.is_empty() {
        p.channels = Some(list);
    }
}

/// A badge for each channel that recalled an item, with its score as the tooltip.
#[component]
pub fn Badges(scores: ChannelScores) -> impl IntoView {
    scores
        .into_iter()
        .map(|(name, score)| {
            let shown = label(&name).to_owned();
            view! {
                <span class=format!("badge {name}") data-testid=format!("badge-{name}")
                    title=format!("{shown} score {score:.4}")>{shown.clone()}</span>
            }
        })
        .collect_view()
}

/// A checkbox per channel, then (for weighted fusion) a weight per channel, bound to `params`.
/// `id_prefix` keeps the ids unique when two sets of controls share a page. An empty weight is
/// the channel's default weight.
#[component]
pub fn ChannelToggles(params: RwSignal<RecallParams>, id_prefix: &'static str) -> impl IntoView {
    view! {
        {names().map(|name| {
            let id = format!("{id_prefix}ctl-channel-{name}");
            // The last enabled channel cannot be unchecked (a recall needs one): say so
            // instead of re-checking it behind the user's back.
            let last = move || params.with(|p| enabled(p, name) && names().filter(|n| enabled(p, n)).count() == 1);
            view! {
                <label for=id.clone() title=move || last().then_some("a recall needs at least one channel")>{label(name)}<input type="checkbox" id=id.clone()
                    prop:disabled=last
                    prop:checked=move || params.with(|p| enabled(p, name))
                    on:change=move |ev| params.update(|p| set_enabled(p, name, event_target_checked(&ev))) /></label>
            }
        }).collect_view()}
        <Show when=move || params.with(|p| p.fusion == Fusion::Weighted)>
            {names().map(|name| {
                let id = format!("{id_prefix}ctl-weight-{name}");
                view! {
                    <label for=id.clone()>{format!("w {}", label(name))}<input type="number" id=id.clone() step="0.1" min="0" style="width:70px"
                        placeholder="default"
                        prop:value=move || params.with(|p| p.weights.get(name).map(|w| w.to_string()).unwrap_or_default())
                        on:change=move |ev| {
                            let v = event_target_value(&ev).trim().parse::<f32>().ok();
                            params.update(|p| match v {
                                Some(v) => { p.weights.insert(name.to_owned(), v.max(0.0)); }
                                None => { p.weights.remove(name); }
                            })
                        } /></label>
                }
            }).collect_view()}
        </Show>
    }
}
