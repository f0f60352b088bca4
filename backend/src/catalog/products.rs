//! Reading products: by asin, by asin or rowid in a caller's order (the recall's enrichment),
//! and the categories with their names and product counts.

use crate::error::{Error, Result};
use crate::ids::Asin;
use common::{Category, Product};
use rusqlite::{Connection, OptionalExtension, ToSql};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The columns after a product's in a [`select_product`] statement start at this index.
pub(super) const AFTER_PRODUCT: usize = Product::COLUMNS.len() + 1;

/// A `SELECT` of products as [`product_from_row`] reads them: `amazon_products p`'s columns in
/// [`Product::COLUMNS`] order, then `category_name` (an SQL expression: `c.category_name` with
/// the categories joined, or `NULL`), then `rest` (more columns, `FROM` and the rest).
pub(super) fn select_product(category_name: &str, rest: &str) -> String {
    let columns = Product::COLUMNS.map(|c| format!("p.{c}")).join(", ");
    format!("SELECT {columns}, {category_name}{rest}")
}

/// Reads a product from a row selected by [`select_product`] (a NULL reads as empty or zero,
/// as the seed's script left some).
pub(super) fn product_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        asin: r.get(0)?,
        title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        img_url: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        product_url: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        stars: r.get::<_, Option<f64>>(4)?.unwrap_or(0.0),
        reviews: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
        price: r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
        list_price: r.get::<_, Option<f64>>(7)?.unwrap_or(0.0),
        category_id: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
        is_best_seller: r.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0,
        bought_in_last_month: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
        category_name: r.get(11)?,
    })
}

/// A product's values in [`Product::COLUMNS`] order, for writing it as `?1` to `?11`.
pub(super) fn product_values(p: &Product) -> [&dyn ToSql; 11] {
    [
        &p.asin,
        &p.title,
        &p.img_url,
        &p.product_url,
        &p.stars,
        &p.reviews,
        &p.price,
        &p.list_price,
        &p.category_id,
        &p.is_best_seller,
        &p.bought_in_last_month,
    ]
}

/// The stored product with an asin, to tell an update from an unchanged row.
pub(super) static EXISTING: LazyLock<String> =
    LazyLock::new(|| select_product("NULL", " FROM amazon_products p WHERE p.asin = ?1"));

/// Inserts a product given as [`product_values`].
pub(super) static INSERT: LazyLock<String> = LazyLock::new(|| {
    let marks: Vec<String> = (1..=Product::COLUMNS.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT INTO amazon_products ({}) VALUES ({})",
        Product::COLUMNS.join(", "),
        marks.join(", ")
    )
});

/// Updates the product with asin `?1` from [`product_values`].
pub(super) static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> = Product::COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    format!(
        "UPDATE amazon_products SET {} WHERE asin = ?1",
        set.join(", ")
    )
});

/// One product by asin, with its category name (use with [`lookup`]).
pub static BY_ASIN: LazyLock<String> = LazyLock::new(|| {
    select_product(
        "c.category_name",
        " FROM amazon_products p LEFT JOIN amazon_categories c ON c.id = p.category_id \
         WHERE p.asin = ?1",
    )
});

/// Products by asin with their category names, `?1` a JSON array of asins; `j.key` follows.
static IN_ORDER: LazyLock<String> = LazyLock::new(|| {
    select_product(
        "c.category_name, j.key",
        " FROM json_each(?1) j JOIN amazon_products p ON p.asin = j.value \
         LEFT JOIN amazon_categories c ON c.id = p.category_id",
    )
});

/// Products by rowid without category names, `?1` a JSON array of rowids; `j.key` follows.
static BY_ROWID: LazyLock<String> = LazyLock::new(|| {
    select_product(
        "NULL, j.key",
        " FROM json_each(?1) j JOIN amazon_products p ON p.rowid = j.value",
    )
});

/// Runs a prepared [`BY_ASIN`] statement.
pub fn lookup(st: &mut rusqlite::CachedStatement<'_>, asin: &str) -> Result<Option<Product>> {
    Ok(st.query_row([asin], product_from_row).optional()?)
}

pub fn get_product(c: &Connection, asin: &Asin) -> Result<Product> {
    lookup(&mut c.prepare_cached(&BY_ASIN)?, asin.as_str())?
        .ok_or_else(|| Error::UnknownProduct(asin.to_string()))
}

/// Looks products up by asin, keeping the order of `asins`; unknown asins come back as `None`.
/// One statement: the asins go in as a JSON array and `json_each`'s key carries their position,
/// so the recall order survives (the seed's `WHERE asin IN (...)` lost it). Each row is an
/// indexed point lookup: cost grows with the list, not with the catalog.
pub fn products_in_order<'a>(
    c: &Connection,
    asins: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Option<Product>>> {
    let asins: Vec<&str> = asins.into_iter().collect();
    let mut out: Vec<Option<Product>> = vec![None; asins.len()];
    if asins.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(&asins).map_err(|e| Error::Format {
        path: "asin list".into(),
        message: e.to_string(),
    })?;
    let mut st = c.prepare_cached(&IN_ORDER)?;
    let mut rows = st.query([list])?;
    while let Some(r) = rows.next()? {
        let at: usize = r.get::<_, i64>(AFTER_PRODUCT)? as usize;
        out[at] = Some(product_from_row(r)?);
    }
    Ok(out)
}

/// Every product with its rowid, in table order, without category names: one pass for the
/// build's row store.
pub fn scan_products(c: &Connection, mut f: impl FnMut(i64, Product) -> Result<()>) -> Result<()> {
    let mut st = c.prepare(&select_product("NULL, p.rowid", " FROM amazon_products p"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        f(r.get(AFTER_PRODUCT)?, product_from_row(r)?)?;
    }
    Ok(())
}

/// Looks products up by rowid, keeping the order of `rowids` (`None` where a row is gone).
/// The category name is left empty for the caller to fill from its own cache. This is the
/// recall's enrichment: one statement of rowid point lookups, no index traversal by asin.
pub fn products_by_rowid(c: &Connection, rowids: &[i64]) -> Result<Vec<Option<Product>>> {
    let mut out: Vec<Option<Product>> = vec![None; rowids.len()];
    if rowids.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(rowids).map_err(|e| Error::Format {
        path: "rowid list".into(),
        message: e.to_string(),
    })?;
    let mut st = c.prepare_cached(&BY_ROWID)?;
    let mut rows = st.query([list])?;
    while let Some(r) = rows.next()? {
        let at: usize = r.get::<_, i64>(AFTER_PRODUCT)? as usize;
        out[at] = Some(product_from_row(r)?);
    }
    Ok(out)
}

/// Category names by id.
pub fn category_names(c: &Connection) -> Result<HashMap<i64, String>> {
    let mut st = c.prepare("SELECT id, category_name FROM amazon_categories")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every category with its product count (categories without products included), by name.
/// One pass over the category index; [`StatsCache`] keeps the result per revision.
pub fn categories(c: &Connection) -> Result<Vec<Category>> {
    let mut counts: HashMap<i64, i64> = HashMap::new();
    let mut st = c.prepare(
        "SELECT category_id, count(*) FROM amazon_products WHERE category_id IS NOT NULL GROUP BY category_id",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        counts.insert(r.get(0)?, r.get(1)?);
    }
    let names = category_names(c)?;
    let mut out: Vec<Category> = names
        .iter()
        .map(|(id, name)| Category {
            id: *id,
            name: name.clone(),
            products: counts.get(id).copied().unwrap_or(0),
        })
        .collect();
    out.extend(
        counts
            .iter()
            .filter(|(id, _)| !names.contains_key(id))
            .map(|(id, n)| Category {
                id: *id,
                name: format!("Category {id}"),
                products: *n,
            }),
    );
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement of the one column list writes and reads back the same product.
    #[test]
    fn products_round_trip_through_every_statement() {
        let dir = tempfile::tempdir().unwrap();
        let c = super::super::open(&dir.path().join("recommend.db")).unwrap();
        c.execute(
            "INSERT INTO amazon_categories(id, category_name) VALUES (7, 'Kitchen')",
            [],
        )
        .unwrap();
        let mut p = Product {
            asin: "B1".into(),
            title: "Blue Mug".into(),
            img_url: "https://example.com/i.jpg".into(),
            product_url: "https://example.com/dp/B1".into(),
            stars: 4.5,
            reviews: 12,
            price: 9.99,
            list_price: 14.99,
            category_id: 7,
            category_name: None,
            is_best_seller: true,
            bought_in_last_month: 100,
        };
        c.execute(&INSERT, &product_values(&p)[..]).unwrap();
        let stored = c.query_row(&EXISTING, ["B1"], product_from_row).unwrap();
        assert_eq!(stored, p);
        p.title = "Red Mug".into();
        p.is_best_seller = false;
        c.execute(&UPDATE, &product_values(&p)[..]).unwrap();
        assert_eq!(
            products_by_rowid(&c, &[1, 2]).unwrap(),
            [Some(p.clone()), None]
        );
        p.category_name = Some("Kitchen".into());
        let asin = Asin::parse("B1").unwrap();
        assert_eq!(get_product(&c, &asin).unwrap(), p);
        assert_eq!(
            products_in_order(&c, ["B2", "B1"]).unwrap(),
            [None, Some(p)]
        );
    }
}
