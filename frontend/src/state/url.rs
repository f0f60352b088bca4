//! The app state's mirror in the page URL (`#/<view>?catalog=..&user=..&s=..&b.catalog=..` and
//! configurations A and `b.*` B): read at start, followed when a link is edited in place, and
//! kept in step as the state changes, so a link reopens the same view.

use super::{Ctx, View, window};
use crate::api;
use common::{Fusion, RecallParams};
use leptos::prelude::*;

/// What the page URL says: the view, user, configurations A and B, and the scenario.
pub(super) struct UrlState {
    /// The catalog the page shows (`catalog=`); `None`: the server's default one.
    pub(super) catalog: Option<String>,
    /// The catalog configuration B recalls from in the compare view (`b.catalog`).
    pub(super) b_catalog: Option<String>,
    pub(super) view: View,
    pub(super) user: String,
    pub(super) params: RecallParams,
    pub(super) b_params: RecallParams,
    pub(super) scenario: Option<String>,
    /// Opened by a scenario link (`#/s/<id>`): its stored configurations apply.
    pub(super) scenario_link: bool,
}

/// Configuration B when the URL names none: A with the seed's fusion, the comparison people
/// make first.
pub(super) fn default_b(a: &RecallParams) -> RecallParams {
    RecallParams {
        fusion: Fusion::Seed,
        ..a.clone()
    }
}

impl Ctx {
    /// Reads the page URL: `#/recall?user=u1&topn=500&b.fusion=seed&s=<id>...`, or a scenario
    /// link `#/s/<id>`.
    pub(super) fn parse_url() -> UrlState {
        let hash = window().location().hash().unwrap_or_default();
        let hash = hash.trim_start_matches('#').trim_start_matches('/');
        let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
        let pairs = api::parse_query(query);
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let user = get("user").unwrap_or_else(|| "demo-user".into());
        let params = api::params_from_pairs(&pairs);
        let b_pairs: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("b.")?.to_owned(), v.clone())))
            .filter(|(k, _)| k != "catalog")
            .collect();
        let b_params = if b_pairs.is_empty() {
            default_b(&params)
        } else {
            api::params_from_pairs(&b_pairs)
        };
        let (view, scenario, scenario_link) = match path.strip_prefix("s/") {
            Some(id) if !id.is_empty() => (View::Recall, Some(id.to_owned()), true),
            _ => (
                View::from_slug(path),
                get("s").filter(|s| !s.is_empty()),
                false,
            ),
        };
        UrlState {
            b_catalog: get("b.catalog").filter(|c| !c.is_empty()),
            catalog: get("catalog"),
            view,
            user,
            params,
            b_params,
            scenario,
            scenario_link,
        }
    }

    /// Follows a URL pasted or edited while the app is open.
    pub fn follow_url(self) {
        let u = Ctx::parse_url();
        // Another catalog is another page: load it afresh.
        let named = u
            .catalog
            .clone()
            .filter(|c| !c.is_empty() && c != "default");
        if named != api::catalog() {
            let _ = window().location().reload();
            return;
        }
        self.view.set(u.view);
        if u.user != self.user.get_untracked() {
            self.user.set(u.user);
            self.ensure_user();
        }
        if u.params != self.params.get_untracked() {
            self.params.set(u.params);
        }
        if u.b_params != self.b_params.get_untracked() {
            self.b_params.set(u.b_params);
        }
        if u.b_catalog != self.b_catalog.get_untracked() {
            self.b_catalog.set(u.b_catalog);
        }
        if u.scenario != self.scenario_id.get_untracked() || u.scenario_link {
            self.open_scenario(u.scenario, u.scenario_link);
        }
    }

    /// Keeps the URL in step with the view, user, configurations and scenario: a new history
    /// entry when the view changes (so Back returns to the last view), the same entry rewritten
    /// otherwise (no entry per keystroke).
    pub fn sync_url(self) {
        Effect::new(move |prev: Option<View>| {
            let view = self.view.get();
            let b = api::params_query(&self.b_params.get());
            let b: Vec<String> = b
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| format!("b.{kv}"))
                .collect();
            let mut parts: Vec<String> = api::catalog()
                .map(|c| format!("catalog={}", api::enc(&c)))
                .into_iter()
                .collect();
            parts.push(format!("user={}", api::enc(&self.user.get())));
            if let Some(id) = self.scenario_id.get() {
                parts.push(format!("s={}", api::enc(&id)));
            }
            if let Some(k) = self.b_catalog.get() {
                parts.push(format!("b.catalog={}", api::enc(&k)));
            }
            parts.push(api::params_query(&self.params.get()));
            parts.extend(b);
            parts.retain(|p| !p.is_empty());
            let url = format!("#/{}?{}", view.slug(), parts.join("&"));
            if let Ok(h) = window().history() {
                let null = wasm_bindgen::JsValue::NULL;
                let _ = if prev.is_some_and(|p| p != view) {
                    h.push_state_with_url(&null, "", Some(&url))
                } else {
                    h.replace_state_with_url(&null, "", Some(&url))
                };
            }
            view
        });
    }
}

/// Opens another catalog (`None`: the server's default) in this tab: a new page load, so every
/// server read starts over against it.
pub fn open_catalog(name: Option<&str>, view: View, user: &str) {
    let catalog = name
        .map(|n| format!("catalog={}&", api::enc(n)))
        .unwrap_or_default();
    let location = window().location();
    let _ = location.set_hash(&format!(
        "/{}?{catalog}user={}",
        view.slug(),
        api::enc(user)
    ));
    let _ = location.reload();
}
