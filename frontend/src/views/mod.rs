//! The app's views, one file each; this module only wires them up.

mod catalog;
mod catalogs;
mod compare;
mod map;
mod quality;
mod recall;
mod scenarios;

pub use catalog::Catalog;
pub use catalogs::Catalogs;
pub use compare::Compare;
pub use map::Map;
pub use quality::Quality;
pub use recall::Recall;
pub use scenarios::Scenarios;
