//! Shared components, one file each; this module only wires them up.

mod cards;
mod chart;
mod controls;
mod history;
mod image;
mod loaded;
mod similar;
mod user_bar;

pub use cards::{ProductCard, RecallCard};
pub use chart::RecallChart;
pub use controls::RecallControls;
pub use history::History;
pub use image::ProductImage;
pub use loaded::{ErrorBanner, Loaded, error_banners};
pub use similar::SimilarPanel;
pub use user_bar::UserBar;
