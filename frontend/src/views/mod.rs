//! The app's views, one file each; this module only wires them up.

mod catalog;
mod compare;
mod map;
mod quality;
mod recall;
mod scenarios;

pub use catalog::Catalog;
pub use compare::Compare;
pub use map::Map;
pub use quality::Quality;
pub use recall::Recall;
pub use scenarios::Scenarios;
