//! The one place that knows the recall channels: their labels, the per-channel score badges, the
//! channel toggles and weights, and the per-channel fields of the wire types. The rest of the app
//! iterates over [`names`] so that a new channel needs changes here only.

use common::{Channel, ChannelCounts, ChannelScores, Fusion, RecallParams, Timings, Weights};
use leptos::prelude::*;

/// The channels' names (as on the wire), in display order.
pub fn names() -> impl Iterator<Item = &'static str> {
    Channel::ALL.into_iter().map(Channel::as_str)
}

/// How a channel is shown to people.
pub fn label(name: &str) -> &str {
    match name {
        "cf" => "CF",
        other => other,
    }
}

fn channel(name: &str) -> Option<Channel> {
    name.parse().ok()
}

/// The `channels` query value of a channel list.
pub fn to_param(list: &[Channel]) -> String {
    list.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a `channels` query value; unknown names are skipped.
pub fn parse_param(value: &str) -> Vec<Channel> {
    value.split(',').filter_map(channel).collect()
}

/// The time a recall spent in the channel, in milliseconds.
pub fn millis(t: &Timings, name: &str) -> Option<f64> {
    channel(name).map(|c| match c {
        Channel::Content => t.search_ms,
        Channel::Cf => t.cf_ms,
        Channel::Popular => t.popular_ms,
    })
}

/// How many of the returned items the channel recalled.
pub fn returned(k: &ChannelCounts, name: &str) -> Option<usize> {
    channel(name).map(|c| match c {
        Channel::Content => k.content_returned,
        Channel::Cf => k.cf_returned,
        Channel::Popular => k.popular_returned,
    })
}

fn score(s: &ChannelScores, name: &str) -> Option<f32> {
    channel(name).and_then(|c| s.get(c))
}

fn enabled(p: &RecallParams, name: &str) -> bool {
    channel(name).is_some_and(|c| p.uses(c))
}

/// Turns a channel on or off; turning off the last one turns the first channel back on, because a
/// recall needs at least one.
fn set_enabled(p: &mut RecallParams, name: &str, on: bool) {
    let Some(c) = channel(name) else { return };
    p.channels.retain(|x| *x != c);
    if on {
        p.channels.push(c);
        p.channels.sort();
    }
    if p.channels.is_empty() {
        p.channels.push(Channel::ALL[0]);
    }
}

fn weight(w: &Weights, name: &str) -> f32 {
    channel(name).map_or(0.0, |c| w.get(c))
}

fn set_weight(w: &mut Weights, name: &str, v: f32) {
    match channel(name) {
        Some(Channel::Content) => w.content = v,
        Some(Channel::Cf) => w.cf = v,
        Some(Channel::Popular) => w.popular = v,
        None => {}
    }
}

/// A badge for each channel that recalled an item, with its score as the tooltip.
#[component]
pub fn Badges(scores: ChannelScores) -> impl IntoView {
    names()
        .filter_map(|name| Some((name, score(&scores, name)?)))
        .map(|(name, score)| {
            view! {
                <span class=format!("badge {name}") data-testid=format!("badge-{name}")
                    title=format!("{} score {score:.4}", label(name))>{label(name)}</span>
            }
        })
        .collect_view()
}

/// A checkbox per channel, then (for weighted fusion) a weight per channel, bound to `params`.
/// `id_prefix` keeps the ids unique when two sets of controls share a page.
#[component]
pub fn ChannelToggles(params: RwSignal<RecallParams>, id_prefix: &'static str) -> impl IntoView {
    view! {
        {names().map(|name| {
            let id = format!("{id_prefix}ctl-channel-{name}");
            view! {
                <label for=id.clone()>{label(name)}<input type="checkbox" id=id.clone()
                    prop:checked=move || params.with(|p| enabled(p, name))
                    on:change=move |ev| params.update(|p| set_enabled(p, name, event_target_checked(&ev))) /></label>
            }
        }).collect_view()}
        <Show when=move || params.with(|p| p.fusion == Fusion::Weighted)>
            {names().map(|name| {
                let id = format!("{id_prefix}ctl-weight-{name}");
                view! {
                    <label for=id.clone()>{format!("w {}", label(name))}<input type="number" id=id.clone() step="0.1" min="0" style="width:70px"
                        prop:value=move || params.with(|p| weight(&p.weights, name)).to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<f32>() {
                            params.update(|p| set_weight(&mut p.weights, name, v.max(0.0)))
                        } } /></label>
                }
            }).collect_view()}
        </Show>
    }
}
