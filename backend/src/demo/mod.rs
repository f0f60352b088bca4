//! The demo catalog: a deterministic generator of marketplace-style products from hand-written
//! vocabularies (no scraped or downloaded data). `backend/demo/*.csv` is its committed output.

mod vocabulary;

use common::Product;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;
use vocabulary::{BRANDS, COLOURS, SPECS, Spec};

pub const DEMO_SEED: u64 = 2024;
pub const DEMO_PRODUCTS: usize = 1200;

/// The generated categories (`id`, name) and products.
pub struct DemoCatalog {
    pub categories: Vec<(i64, String)>,
    pub rows: Vec<Product>,
}

fn asin(rng: &mut impl Rng) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = String::from("D");
    for _ in 0..9 {
        s.push(CHARS[rng.random_range(0..CHARS.len())] as char);
    }
    s
}

fn title(rng: &mut impl Rng, spec: &Spec) -> String {
    let brand = BRANDS.choose(rng).expect("brands");
    let noun = spec.nouns.choose(rng).expect("nouns");
    let f1 = spec.features.choose(rng).expect("features");
    let mut f2 = spec.features.choose(rng).expect("features");
    if f2 == f1 {
        f2 = &spec.features[0];
    }
    let size = spec.sizes.choose(rng).expect("sizes");
    let colour = COLOURS.choose(rng).expect("colours");
    match rng.random_range(0..4) {
        0 => format!("{brand} {noun}, {f1}, {size}, {colour}"),
        1 => format!("{brand} {f1} {noun} with {f2} - {size} ({colour})"),
        2 => format!("{noun} by {brand} | {f1} | {f2} | {size}"),
        _ => format!("{brand} {size} {noun}, {f1} and {f2}, {colour}"),
    }
}

/// Products in `SPECS`' categories, `n` in all, the same for the same seed.
pub fn generate(seed: u64, n: usize) -> DemoCatalog {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let categories: Vec<(i64, String)> = SPECS
        .iter()
        .enumerate()
        .map(|(i, s)| (i as i64 + 1, s.name.to_owned()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % SPECS.len();
        let spec = &SPECS[c];
        let mut a = asin(&mut rng);
        while !seen.insert(a.clone()) {
            a = asin(&mut rng);
        }
        // Heavy tails: most products have few reviews and sales, a few have many.
        let pop: f64 = rng.random::<f64>().powi(3);
        let reviews = (pop * 20_000.0) as i64 + rng.random_range(0..40);
        let bought = [0, 0, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000]
            [((pop * 10.0) as usize + rng.random_range(0..2)).min(10)];
        let (lo, hi) = spec.price;
        let price = ((lo + (hi - lo) * rng.random::<f64>().powi(2)).floor()
            + if rng.random_bool(0.7) { 0.99 } else { 0.49 })
        .min(hi);
        let list_price = if rng.random_bool(0.4) {
            ((price * rng.random_range(1.1..1.6)).floor() + 0.99).max(price + 1.0)
        } else {
            0.0
        };
        let stars = (rng.random_range(3.6..4.9f64) * 10.0).round() / 10.0;
        rows.push(Product {
            product_url: format!("https://example.com/dp/{a}"),
            asin: a,
            title: title(&mut rng, spec),
            img_url: String::new(),
            stars: if rng.random_bool(0.03) {
                (rng.random_range(1.0..3.5f64) * 10.0).round() / 10.0
            } else {
                stars
            },
            reviews,
            price: (price * 100.0).round() / 100.0,
            list_price: (list_price * 100.0).round() / 100.0,
            category_id: c as i64 + 1,
            is_best_seller: rng.random_bool(0.03),
            bought_in_last_month: bought,
            category_name: None,
        });
    }
    DemoCatalog { categories, rows }
}

/// Writes `amazon_products.csv` and `amazon_categories.csv` into `dir`, atomically.
pub fn write_csv(catalog: &DemoCatalog, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let to_io = |e: crate::Error| std::io::Error::other(e.to_string());
    crate::layout::write_atomic(&dir.join("amazon_products.csv"), |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(Product::COLUMNS)?;
        for r in &catalog.rows {
            out.write_record([
                r.asin.as_str(),
                &r.title,
                &r.img_url,
                &r.product_url,
                &format!("{:.1}", r.stars),
                &r.reviews.to_string(),
                &format!("{:.2}", r.price),
                &format!("{:.2}", r.list_price),
                &r.category_id.to_string(),
                if r.is_best_seller { "True" } else { "False" },
                &r.bought_in_last_month.to_string(),
            ])?;
        }
        out.flush()
    })
    .map_err(to_io)?;
    crate::layout::write_atomic(&dir.join("amazon_categories.csv"), |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["id", "category_name"])?;
        for (id, name) in &catalog.categories {
            out.write_record([id.to_string().as_str(), name])?;
        }
        out.flush()
    })
    .map_err(to_io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_deterministic_and_well_formed() {
        let a = generate(DEMO_SEED, DEMO_PRODUCTS);
        let b = generate(DEMO_SEED, DEMO_PRODUCTS);
        assert_eq!(
            a.rows.iter().map(|r| &r.title).collect::<Vec<_>>(),
            b.rows.iter().map(|r| &r.title).collect::<Vec<_>>()
        );
        assert!(a.rows.len() >= 1000 && a.categories.len() >= 20);
        let asins: std::collections::HashSet<_> = a.rows.iter().map(|r| &r.asin).collect();
        assert_eq!(asins.len(), a.rows.len());
        for (id, _) in &a.categories {
            assert!(a.rows.iter().filter(|r| r.category_id == *id).count() >= 20);
        }
        assert!(
            a.rows
                .iter()
                .all(|r| r.list_price == 0.0 || r.list_price > r.price)
        );
    }

    #[test]
    fn committed_csv_is_the_generator_output() {
        let dir = tempfile::tempdir().unwrap();
        write_csv(&generate(DEMO_SEED, DEMO_PRODUCTS), dir.path()).unwrap();
        for f in ["amazon_products.csv", "amazon_categories.csv"] {
            let committed =
                std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("demo").join(f)).unwrap();
            assert!(
                committed == std::fs::read(dir.path().join(f)).unwrap(),
                "{f} differs from `recall-lab demo-catalog` output"
            );
        }
    }
}
