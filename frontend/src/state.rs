//! App-wide state (current view, user, history, recall parameters, errors) shared through
//! context, and its mirror in the page URL so that a link reopens the same view.

use crate::api::{self, ApiError};
use common::{Category, Click, RecallParams, User};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::fmt::Display;

/// What a server read gives: the data, or the server's error.
pub type Fetched<T> = LocalResource<Result<T, ApiError>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum View {
    Catalog,
    Recall,
    Compare,
    Quality,
    Scenarios,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Catalog,
        View::Recall,
        View::Compare,
        View::Quality,
        View::Scenarios,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            View::Catalog => "catalog",
            View::Recall => "recall",
            View::Compare => "compare",
            View::Quality => "quality",
            View::Scenarios => "scenarios",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            View::Catalog => "Catalog",
            View::Recall => "Recall",
            View::Compare => "Compare",
            View::Quality => "Quality",
            View::Scenarios => "Scenarios",
        }
    }
    fn from_slug(s: &str) -> View {
        View::ALL
            .into_iter()
            .find(|v| v.slug() == s)
            .unwrap_or(View::Catalog)
    }
}

#[derive(Clone, Copy)]
pub struct Ctx {
    pub view: RwSignal<View>,
    pub user: RwSignal<String>,
    pub users: Fetched<Vec<User>>,
    /// The current user's clicks, oldest first; refetched after every change made here.
    pub history: Fetched<Vec<Click>>,
    pub params: RwSignal<RecallParams>,
    /// The categories that have products.
    pub categories: Fetched<Vec<Category>>,
    /// The last failed change (a click, a new user, a scenario...); failed reads show in place.
    pub error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    /// The item whose neighbours the similar-items panel shows.
    pub similar_of: RwSignal<Option<String>>,
}

pub fn ctx() -> Ctx {
    use_context::<Ctx>().expect("context is provided by App")
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

impl Ctx {
    /// Reads (view, user, parameters) from the page URL (`#/recall?user=u1&topn=500...`).
    fn parse_url() -> (View, String, RecallParams) {
        let hash = window().location().hash().unwrap_or_default();
        let hash = hash.trim_start_matches('#').trim_start_matches('/');
        let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
        let pairs = api::parse_query(query);
        let user = pairs
            .iter()
            .find(|(k, _)| k == "user")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "demo-user".into());
        (View::from_slug(path), user, api::params_from_pairs(&pairs))
    }

    /// Follows a URL pasted or edited while the app is open.
    pub fn follow_url(self) {
        let (view, user, params) = Ctx::parse_url();
        self.view.set(view);
        if user != self.user.get_untracked() {
            self.user.set(user);
            self.ensure_user();
        }
        if params != self.params.get_untracked() {
            self.params.set(params);
        }
    }

    /// Builds the state from the page URL.
    pub fn from_url() -> Ctx {
        let (view, user, params) = Ctx::parse_url();
        let user = RwSignal::new(user);
        Ctx {
            view: RwSignal::new(view),
            user,
            users: LocalResource::new(|| api::get("/api/users")),
            history: LocalResource::new(move || {
                let url = format!("/api/users/{}/clicks", api::enc(&user.get()));
                async move {
                    match api::get(&url).await {
                        // A user the server does not know yet (its creation may be on its way) has no clicks.
                        Err(e) if e.code == "unknown_user" => Ok(Vec::new()),
                        r => r,
                    }
                }
            }),
            params: RwSignal::new(params),
            categories: LocalResource::new(|| async {
                let all: Vec<Category> = api::get("/api/categories").await?;
                Ok(all.into_iter().filter(|k| k.products > 0).collect())
            }),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            similar_of: RwSignal::new(None),
        }
    }

    /// Keeps the URL in step with the view, user and parameters (replaceState: no history spam).
    pub fn sync_url(self) {
        Effect::new(move |_| {
            let url = format!(
                "#/{}?user={}&{}",
                self.view.get().slug(),
                api::enc(&self.user.get()),
                api::params_query(&self.params.get())
            );
            if let Ok(h) = window().history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
        });
    }

    /// Shows a failed change in the banner at the top.
    pub fn fail(self, e: impl Display) {
        self.error.set(Some(e.to_string()));
    }

    /// Makes sure the current user exists on the server.
    pub fn ensure_user(self) {
        let id = self.user.get_untracked();
        spawn_local(async move {
            let body = common::NewUser {
                id: Some(id),
                name: None,
            };
            match api::post::<_, User>("/api/users", &body).await {
                Ok(_) => self.users.refetch(),
                Err(e) => self.fail(e),
            }
        });
    }

    /// Records a click of the current user.
    pub fn click(self, asin: String, title: String) {
        let user = self.user.get_untracked();
        spawn_local(async move {
            let body = common::NewClick { asin };
            match api::post::<_, Click>(&format!("/api/users/{}/clicks", api::enc(&user)), &body)
                .await
            {
                Ok(_) => {
                    self.notice.set(Some(format!("Clicked: {title}")));
                    self.history.refetch();
                }
                Err(e) => self.fail(e),
            }
        });
    }

    /// How many clicks the loaded history holds.
    pub fn click_count(self) -> usize {
        self.history
            .with(|h| h.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len))
    }

    /// The asins of the loaded history, oldest first.
    pub fn history_asins(self) -> Vec<String> {
        self.history.with_untracked(|h| match h {
            Some(Ok(clicks)) => clicks.iter().map(|c| c.asin.clone()).collect(),
            _ => Vec::new(),
        })
    }

    /// The title of a clicked product, when the loaded history has it.
    pub fn clicked_title(self, asin: &str) -> Option<String> {
        self.history.with_untracked(|h| {
            let clicks = h.as_ref()?.as_ref().ok()?;
            let click = clicks.iter().find(|k| k.asin == asin)?;
            Some(click.product.as_ref()?.title.clone())
        })
    }
}
