//! The catalog view: keyword or semantic search, filters, sort and paging over the products;
//! clicking a card adds it to the current user's history.

use crate::api::{self, ApiError};
use crate::components::{Loaded, ProductCard, wide};
use crate::state::ctx;
use common::{NeighboursResponse, Product, ProductPage};
use leptos::prelude::*;

const PER_PAGE: usize = 24;

/// A catalog request: what the form held when it was last submitted or a filter changed.
#[derive(Clone, Default, PartialEq)]
struct Query {
    text: String,
    semantic: bool,
    category: Option<i64>,
    min_price: String,
    max_price: String,
    sort: String,
    page: usize,
}

impl Query {
    /// Semantic search ranks by meaning and has no filters, sort or pages.
    fn is_semantic(&self) -> bool {
        self.semantic && !self.text.trim().is_empty()
    }

    fn url(&self) -> String {
        if self.is_semantic() {
            return format!("/api/search?q={}&k=48", api::enc(&self.text));
        }
        let mut u = format!(
            "/api/products?page={}&per_page={PER_PAGE}&sort={}",
            self.page, self.sort
        );
        if !self.text.trim().is_empty() {
            u += &format!("&q={}", api::enc(&self.text));
        }
        if let Some(cat) = self.category {
            u += &format!("&category={cat}");
        }
        for (k, v) in [
            ("min_price", &self.min_price),
            ("max_price", &self.max_price),
        ] {
            if !v.trim().is_empty() {
                u += &format!("&{k}={}", api::enc(v.trim()));
            }
        }
        u
    }
}

/// The answer to a query.
#[derive(Clone)]
struct Found {
    items: Vec<Product>,
    /// How many products match in all.
    total: usize,
    paged: bool,
}

async fn fetch(q: Query) -> Result<Found, ApiError> {
    if q.is_semantic() {
        let r: NeighboursResponse = api::get(&q.url()).await?;
        Ok(Found {
            total: r.items.len(),
            items: r.items.into_iter().map(|s| s.product).collect(),
            paged: false,
        })
    } else {
        let p: ProductPage = api::get(&q.url()).await?;
        Ok(Found {
            items: p.items,
            total: usize::try_from(p.total).unwrap_or(0),
            paged: true,
        })
    }
}

/// Catalog: keyword or semantic search, filters, sort, paging.
#[component]
pub fn Catalog() -> impl IntoView {
    let c = ctx();
    // The search box and the semantic switch apply on submit; the filters apply at once. The
    // last search outlives the view (`Ctx::catalog_search`), so switching views keeps it.
    let (last_text, last_semantic) = c.catalog_search.get_untracked();
    let text = RwSignal::new(last_text.clone());
    let semantic = RwSignal::new(last_semantic);
    let query = RwSignal::new(Query {
        text: last_text,
        semantic: last_semantic,
        sort: "relevance".into(),
        page: 1,
        ..Query::default()
    });
    let results = LocalResource::new(move || fetch(query.get()));
    let apply = move |change: &dyn Fn(&mut Query)| {
        query.update(|q| {
            q.text = text.get_untracked();
            q.semantic = semantic.get_untracked();
            q.page = 1;
            change(q);
        });
        c.catalog_search
            .set((text.get_untracked(), semantic.get_untracked()));
    };
    let pending = RwSignal::new(false);
    view! {
        <form class="toolbar" role="search" on:submit=move |ev| { ev.prevent_default(); apply(&|_| {}); }>
            <label class="grow" for="catalog-q">"Search titles"<input type="search" id="catalog-q" data-testid="search-input" placeholder="e.g. suitcase, espresso machine"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) /></label>
            <label for="catalog-semantic">"semantic"<input type="checkbox" id="catalog-semantic" data-testid="search-semantic"
                prop:checked=move || semantic.get() on:change=move |ev| semantic.set(event_target_checked(&ev)) /></label>
            // Folded on a phone, so the products are in sight.
            <details class="filters" open=wide()><summary>"Filters"</summary><div class="filter-fields">
            <label for="catalog-category">"category"<select id="catalog-category"
                on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); apply(&|q| q.category = v); }>
                <option value="">"all"</option>
                {move || c.categories.get().and_then(Result::ok).unwrap_or_default().into_iter()
                    .map(|cat| view! { <option value=cat.id.to_string()>{format!("{} ({})", cat.name, cat.products)}</option> }).collect_view()}
            </select></label>
            <label for="catalog-min-price">"min $"<input type="number" id="catalog-min-price" min="0" style="width:80px"
                on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.min_price = v.clone()); } /></label>
            <label for="catalog-max-price">"max $"<input type="number" id="catalog-max-price" min="0" style="width:80px"
                on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.max_price = v.clone()); } /></label>
            <label for="catalog-sort">"sort"<select id="catalog-sort"
                on:change=move |ev| { let v = event_target_value(&ev); apply(&|q| q.sort = v.clone()); }>
                <option value="relevance">"relevance"</option><option value="popular">"popular"</option><option value="price_asc">"price ↑"</option>
                <option value="price_desc">"price ↓"</option><option value="stars">"stars"</option><option value="reviews">"reviews"</option>
            </select></label>
            </div></details>
            <button class="primary" type="submit" data-testid="search-submit">"Search"</button>
        </form>
        <Loaded pending=pending>
            {move || Suspend::new(async move {
                let Found { items, total, paged } = results.await?;
                let pages = total.div_ceil(PER_PAGE).max(1);
                let pager = paged && pages > 1;
                let page = move || query.with(|q| q.page);
                let (at_first, at_last) = (move || page() <= 1, move || page() >= pages);
                let keyword_miss = total == 0 && query.with_untracked(|q| !q.is_semantic() && !q.text.trim().is_empty());
                Ok::<_, ApiError>(view! {
                    <p class="status">{move || format!("{total} products · click a card to add it to {}'s history", c.user.get())}</p>
                    {keyword_miss.then(|| view! {
                        <div class="note" role="status" data-testid="no-results">
                            "No title contains these words. "
                            <button on:click=move |_| { semantic.set(true); apply(&|_| {}); }>"Search by meaning instead"</button>
                        </div>
                    })}
                    <div class="grid" class:loading=move || pending.get() data-testid="catalog-grid">
                        {items.into_iter().map(|p| view! { <ProductCard product=p /> }).collect_view()}
                    </div>
                    <Show when=move || pager>
                        <nav class="pager" aria-label="pages">
                            <button disabled=at_first on:click=move |_| query.update(|q| q.page -= 1)>"‹ Previous"</button>
                            <span>{move || format!("page {} of {pages}", page())}</span>
                            <button disabled=at_last on:click=move |_| query.update(|q| q.page += 1)>"Next ›"</button>
                        </nav>
                    </Show>
                })
            })}
        </Loaded>
    }
}
