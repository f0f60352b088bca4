//! Shared components, one file each; this module only wires them up.

mod cards;
mod chart;
mod controls;
mod explain;
mod history;
mod image;
mod judged;
mod loaded;
mod modal;
mod model_badge;
mod similar;
mod summary;
mod user_bar;

pub use cards::{ProductCard, RecallCard, focus_card};
pub use chart::RecallChart;
pub use controls::RecallControls;
pub use explain::ExplainPanel;
pub use history::History;
pub use image::ProductImage;
pub use judged::{JudgedBar, ReviewerBox};
pub use loaded::{ErrorBanner, Loaded, error_banners};
pub use modal::Modal;
pub use model_badge::{ModelBadge, short_model};
pub use similar::SimilarPanel;
pub use summary::SummaryBar;
pub use user_bar::UserBar;

/// Whether the window is wider than a phone: controls start open there, folded on a phone.
pub fn wide() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_some_and(|w| w > 640.0)
}
