//! The header's model badge: which embedding model built the index every view shows, and the
//! engine searching it when that is not the server's own FAISS, so a reviewer never judges
//! vectors without knowing where they came from.

use crate::state::Ctx;
use leptos::prelude::*;

/// The model's name without the family prefix every named model shares.
pub fn short_model(model: &str) -> &str {
    model.strip_prefix("all-MiniLM-L6-v2-").unwrap_or(model)
}

#[component]
pub fn ModelBadge() -> impl IntoView {
    let c = expect_context::<Ctx>();
    // `Ctx::stats` is read again on every view change: a reindex may have swapped in a build of
    // another model.
    move || {
        c.stats.get().and_then(Result::ok).map(|s| {
            let mut title = if s.model_summary.is_empty() {
                format!("index built with {}", s.model)
            } else {
                format!("index built with {}: {}", s.model, s.model_summary)
            };
            let milvus = s.index_engine == "milvus";
            if let Some(l) = &s.index_location {
                title.push_str(&format!("; searched on Milvus at {l}"));
            }
            view! {
                <span class="model-badge" role="note" data-testid="model-badge" title=title.clone() aria-label=title>
                    "model " <b>{short_model(&s.model).to_owned()}</b>
                    {milvus.then(|| view! { " · on " <b>"Milvus"</b> })}
                </span>
            }
        })
    }
}
