//! The recall channels as the app shows them: one row per channel the server registers (its
//! name on the wire, its label, whether it runs when a request names none). The rest of the
//! app iterates over this table instead of naming channels.

/// A channel the app knows how to show.
pub struct ChannelView {
    pub name: &'static str,
    pub label: &'static str,
    pub on_by_default: bool,
}

pub const CHANNELS: &[ChannelView] = &[
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
];

/// The label of channel `name` (the name itself for a channel this table does not know).
pub fn label(name: &str) -> &str {
    CHANNELS
        .iter()
        .find(|c| c.name == name)
        .map_or(name, |c| c.label)
}

/// Whether a recall with these parameters runs channel `name`.
pub fn enabled(p: &common::RecallParams, name: &str) -> bool {
    p.names(name)
        .unwrap_or_else(|| CHANNELS.iter().any(|c| c.name == name && c.on_by_default))
}

/// The channels enabled after switching `name` on or off; the last one cannot be switched off.
pub fn toggled(p: &common::RecallParams, name: &str, on: bool) -> Option<Vec<String>> {
    let list: Vec<String> = CHANNELS
        .iter()
        .filter(|c| {
            if c.name == name {
                on
            } else {
                enabled(p, c.name)
            }
        })
        .map(|c| c.name.to_owned())
        .collect();
    (!list.is_empty()).then_some(list)
}
