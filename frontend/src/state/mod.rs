//! App-wide state (current view, user, history, recall parameters, errors) shared through
//! context; `url.rs` keeps its mirror in the page URL so that a link reopens the same view.

use crate::api::{self, ApiError};
use common::{
    Category, Click, Grade, Judgment, Product, RecallParams, Scenario, ScenarioBody, Stats, User,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::HashMap;
use std::fmt::Display;

mod url;
use url::default_b;
pub use url::open_catalog;

/// What a server read gives: the data, or the server's error.
pub type Fetched<T> = LocalResource<Result<T, ApiError>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum View {
    Catalog,
    Recall,
    Map,
    Compare,
    Quality,
    Scenarios,
    Catalogs,
}

impl View {
    pub const ALL: [View; 7] = [
        View::Catalog,
        View::Recall,
        View::Map,
        View::Compare,
        View::Quality,
        View::Scenarios,
        View::Catalogs,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            View::Catalog => "catalog",
            View::Recall => "recall",
            View::Map => "map",
            View::Compare => "compare",
            View::Quality => "quality",
            View::Scenarios => "scenarios",
            View::Catalogs => "catalogs",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            View::Catalog => "Catalog",
            View::Recall => "Recall",
            View::Map => "Map",
            View::Compare => "Compare",
            View::Quality => "Quality",
            View::Scenarios => "Scenarios",
            View::Catalogs => "Catalogs",
        }
    }
    fn from_slug(s: &str) -> View {
        View::ALL
            .into_iter()
            .find(|v| v.slug() == s)
            .unwrap_or(View::Catalog)
    }
}

/// A product a dialog is open on, and the catalog to ask about it: a card of the compare view's
/// B side may come from another build (another model's index), and its Explain and Similar must
/// answer for that build, not the page's.
#[derive(Clone, Debug, PartialEq)]
pub struct InCatalog {
    pub asin: String,
    /// `None`: the page's catalog.
    pub catalog: Option<String>,
}

impl InCatalog {
    /// `asin` in the page's catalog.
    pub fn here(asin: String) -> Self {
        InCatalog {
            asin,
            catalog: None,
        }
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
    /// The server's figures, read again on every view change (a reindex may have swapped the
    /// build).
    pub stats: Fetched<Stats>,
    /// Whether the server caches product pictures (`/api/images/{asin}`); `None` until known.
    pub images_cached: RwSignal<Option<bool>>,
    /// The last failed change (a click, a new user, a scenario...); failed reads show in place.
    pub error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    /// The item whose neighbours the similar-items panel shows.
    pub similar_of: RwSignal<Option<InCatalog>>,
    /// The open scenario's id (from a `#/s/<id>` link or `?s=<id>`), when one is open.
    pub scenario_id: RwSignal<Option<String>>,
    /// The open scenario as the server holds it.
    pub scenario: Fetched<Option<Scenario>>,
    /// The clicks that drive recalls while a scenario is open (its clicks, then any added
    /// here), oldest first; `None`: the current user's history drives them.
    pub scenario_clicks: RwSignal<Option<Vec<String>>>,
    /// Configuration B of the compare view (mirrored in the URL as `b.*` pairs).
    pub b_params: RwSignal<RecallParams>,
    /// The catalog B recalls from (`b.catalog`): another build of the same products, e.g. one
    /// embedded with another model; `None`: the page's.
    pub b_catalog: RwSignal<Option<String>>,
    /// Who judges (kept in the browser's storage).
    pub reviewer: RwSignal<String>,
    /// The open scenario's grade of each judged asin (the latest judgment of any reviewer).
    pub grades: RwSignal<HashMap<String, Grade>>,
    /// The item whose explanation is open, with the configuration of the list it came from.
    pub explain: RwSignal<Option<(InCatalog, RecallParams)>>,
    /// The catalog's last search (text, semantic), kept while other views show.
    pub catalog_search: RwSignal<(String, bool)>,
    /// The user the server has confirmed (created or found): the history is read only for it,
    /// so a new user's history is never asked for before the user exists.
    pub known_user: RwSignal<Option<String>>,
    /// The products of the open scenario's clicks, by asin (titles and pictures for the
    /// history panel and "because you clicked").
    pub scenario_products: RwSignal<HashMap<String, Product>>,
}

const REVIEWER_KEY: &str = "recall-lab.reviewer";

thread_local! {
    /// Whether a scenario is being saved to hold the first judgments (see [`Ctx::judge`]).
    static CREATING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn ctx() -> Ctx {
    use_context::<Ctx>().expect("context is provided by App")
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

impl Ctx {
    /// Builds the state from the page URL.
    pub fn from_url() -> Ctx {
        let u = Ctx::parse_url();
        // The page's catalog is fixed for its life: another one is another page load.
        api::set_catalog(u.catalog.clone());
        let user = RwSignal::new(u.user);
        let known_user = RwSignal::new(None::<String>);
        let scenario_id = RwSignal::new(u.scenario.clone());
        let view = RwSignal::new(u.view);
        let c = Ctx {
            view,
            user,
            users: LocalResource::new(|| api::get("/api/users")),
            history: LocalResource::new(move || {
                let id = user.get();
                let ready = known_user.get().as_deref() == Some(id.as_str());
                let url = format!("/api/users/{}/clicks", api::enc(&id));
                async move {
                    if !ready {
                        return Ok(Vec::new());
                    }
                    match api::get(&url).await {
                        // A user the server does not know yet (its creation may be on its way) has no clicks.
                        Err(e) if e.code == "unknown_user" => Ok(Vec::new()),
                        r => r,
                    }
                }
            }),
            params: RwSignal::new(u.params),
            categories: LocalResource::new(|| async {
                let all: Vec<Category> = api::get("/api/categories").await?;
                Ok(all.into_iter().filter(|k| k.products > 0).collect())
            }),
            stats: LocalResource::new(move || {
                view.track();
                api::get("/api/stats")
            }),
            images_cached: RwSignal::new(None),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            similar_of: RwSignal::new(None),
            scenario_id,
            scenario: LocalResource::new(move || {
                let id = scenario_id.get();
                async move {
                    match id {
                        Some(id) => api::get(&format!("/api/scenarios/{}", api::enc(&id)))
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                }
            }),
            scenario_clicks: RwSignal::new(None),
            b_params: RwSignal::new(u.b_params),
            b_catalog: RwSignal::new(u.b_catalog),
            reviewer: RwSignal::new(
                storage()
                    .and_then(|s| s.get_item(REVIEWER_KEY).ok().flatten())
                    .unwrap_or_else(|| "reviewer".into()),
            ),
            grades: RwSignal::new(HashMap::new()),
            explain: RwSignal::new(None),
            catalog_search: RwSignal::new((String::new(), false)),
            known_user,
            scenario_products: RwSignal::new(HashMap::new()),
        };
        c.open_scenario(u.scenario, u.scenario_link);
        c
    }

    /// Opens a scenario (or closes it with `None`): its clicks drive the recalls and its
    /// judgments load; from a scenario link its stored configurations apply too.
    pub fn open_scenario(self, id: Option<String>, apply_configs: bool) {
        self.scenario_id.set(id.clone());
        self.grades.set(HashMap::new());
        let Some(id) = id else {
            self.scenario_clicks.set(None);
            return;
        };
        spawn_local(async move {
            let url = format!("/api/scenarios/{}", api::enc(&id));
            match api::get::<Scenario>(&url).await {
                Ok(s) => {
                    if apply_configs {
                        self.params.set(s.body.a.clone());
                        self.b_params
                            .set(s.body.b.clone().unwrap_or_else(|| default_b(&s.body.a)));
                    }
                    self.scenario_clicks.set(Some(s.body.clicks.clone()));
                    for asin in s.body.clicks {
                        self.load_product(asin);
                    }
                }
                Err(e) => {
                    self.scenario_id.set(None);
                    self.scenario_clicks.set(None);
                    return self.fail(e);
                }
            }
            self.reload_grades();
        });
    }

    /// Fetches a clicked product into `scenario_products` (once per asin).
    fn load_product(self, asin: String) {
        if self
            .scenario_products
            .with_untracked(|m| m.contains_key(&asin))
        {
            return;
        }
        spawn_local(async move {
            if let Ok(p) = api::get::<Product>(&format!("/api/products/{}", api::enc(&asin))).await
            {
                self.scenario_products.update(|m| {
                    m.insert(asin, p);
                });
            }
        });
    }

    /// Loads the open scenario's judgments into `grades`.
    pub fn reload_grades(self) {
        let Some(id) = self.scenario_id.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let url = format!("/api/scenarios/{}/judgments", api::enc(&id));
            match api::get::<Vec<Judgment>>(&url).await {
                Ok(list) => self.grades.set(common::latest_grades(&list)),
                Err(e) => self.fail(e),
            }
        });
    }

    /// The current clicks and both configurations as a scenario body named `name`.
    pub fn scenario_body(self, name: String) -> ScenarioBody {
        let stored = self
            .scenario
            .with_untracked(|s| s.as_ref().and_then(|r| r.as_ref().ok()).cloned().flatten());
        let (notes, expectations, baseline) = stored
            .map(|s| (s.body.notes, s.body.expectations, s.body.baseline))
            .unwrap_or_default();
        ScenarioBody {
            name,
            clicks: self.current_clicks(),
            a: self.params.get_untracked(),
            b: Some(self.b_params.get_untracked()),
            notes,
            expectations,
            baseline,
        }
    }

    /// How many clicks drive recalls now (tracked).
    pub fn current_clicks_tracked(self) -> usize {
        match self.scenario_clicks.with(|k| k.as_ref().map(Vec::len)) {
            Some(n) => n,
            None => self.click_count(),
        }
    }

    /// The clicks that drive recalls now, oldest first (untracked).
    pub fn current_clicks(self) -> Vec<String> {
        self.scenario_clicks
            .get_untracked()
            .unwrap_or_else(|| self.history_asins())
    }

    /// Records a reviewer's grade of `asin`. Without an open scenario, the current clicks and
    /// configurations are saved as a new one first, so that the judgment has a home.
    pub fn judge(self, asin: String, grade: Grade) {
        let reviewer = self.reviewer.get_untracked();
        if reviewer.trim().is_empty() {
            return self.fail("type your name in the reviewer box to judge items");
        }
        self.grades.update(|g| {
            g.insert(asin.clone(), grade);
        });
        if let Some(id) = self.scenario_id.get_untracked() {
            return self.send_judgment(id, asin, grade);
        }
        // The first judgment without a scenario saves one; judgments made while that is on its
        // way wait in `grades` and are sent with it.
        if CREATING.replace(true) {
            return;
        }
        spawn_local(async move {
            let name = format!(
                "Review of {}",
                String::from(
                    js_sys::Date::new_0()
                        .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
                )
            );
            let made = api::post::<_, Scenario>("/api/scenarios", &self.scenario_body(name)).await;
            CREATING.set(false);
            match made {
                Ok(s) => {
                    self.notice.set(Some(format!(
                        "Saved these clicks as the scenario \"{}\" to hold your judgments",
                        s.body.name
                    )));
                    self.scenario_clicks.set(Some(s.body.clicks.clone()));
                    self.scenario_id.set(Some(s.id.clone()));
                    for (asin, grade) in self.grades.get_untracked() {
                        self.send_judgment(s.id.clone(), asin, grade);
                    }
                }
                Err(e) => {
                    self.grades.set(HashMap::new());
                    self.fail(e);
                }
            }
        });
    }

    /// Stores one judgment of the current reviewer in scenario `id`.
    fn send_judgment(self, id: String, asin: String, grade: Grade) {
        let reviewer = self.reviewer.get_untracked();
        spawn_local(async move {
            let url = format!(
                "/api/scenarios/{}/judgments/{}",
                api::enc(&id),
                api::enc(&asin)
            );
            let body = common::NewJudgment { reviewer, grade };
            if let Err(e) = api::put::<_, Judgment>(&url, &body).await {
                self.fail(e);
                self.reload_grades();
            }
        });
    }

    /// Sets the reviewer's name, remembered by this browser.
    pub fn set_reviewer(self, name: String) {
        if let Some(s) = storage() {
            let _ = s.set_item(REVIEWER_KEY, &name);
        }
        self.reviewer.set(name);
    }

    /// Shows a failed change in the banner at the top, in place of any earlier notice.
    pub fn fail(self, e: impl Display) {
        self.notice.set(None);
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
                Ok(u) => {
                    self.known_user.set(Some(u.id));
                    self.users.refetch();
                }
                Err(e) => self.fail(e),
            }
        });
    }

    /// Records a click: the open scenario's (in this page, until it is saved), else the current
    /// user's on the server.
    pub fn click(self, asin: String, title: String) {
        if self.scenario_clicks.get_untracked().is_some() {
            self.scenario_clicks.update(|c| {
                if let Some(c) = c {
                    c.push(asin.clone());
                }
            });
            self.load_product(asin);
            self.notice.set(Some(format!(
                "Added to the scenario's clicks (save the scenario to keep them): {title}"
            )));
            return;
        }
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

    /// The title of a clicked product, when the open scenario's products or the loaded
    /// history have it.
    pub fn clicked_title(self, asin: &str) -> Option<String> {
        if let Some(p) = self
            .scenario_products
            .with_untracked(|m| m.get(asin).cloned())
        {
            return Some(p.title);
        }
        self.history.with_untracked(|h| {
            let clicks = h.as_ref()?.as_ref().ok()?;
            let click = clicks.iter().find(|k| k.asin == asin)?;
            Some(click.product.as_ref()?.title.clone())
        })
    }
}
