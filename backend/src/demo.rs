//! TEMPORARY stub until the demo generator lands.
pub const DEMO_SEED: u64 = 2024;
pub const DEMO_PRODUCTS: usize = 1200;
pub struct DemoRow;
pub struct DemoCatalog { pub categories: Vec<(i64, String)>, pub rows: Vec<DemoRow> }
pub fn generate(_seed: u64, _n: usize) -> DemoCatalog { DemoCatalog { categories: vec![], rows: vec![] } }
pub fn write_csv(_c: &DemoCatalog, _d: &std::path::Path) -> std::io::Result<()> { Ok(()) }
