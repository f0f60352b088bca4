//! The catalog listing: keyword search over titles (FTS5) with filters, sort and paging, and the
//! catalog-wide figures it reuses between requests.

use super::{
    catalog_revision, categories, categories_revision, category_names, product_count,
    products_by_rowid,
};
use crate::error::Result;
use common::{Category, ProductPage, SortOrder};
use rusqlite::Connection;

/// Catalog-wide figures that would otherwise cost a scan of the table on every request: the
/// product count and the categories with their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogStats {
    /// `(catalog_revision, categories_revision)` the figures were taken at.
    pub revisions: (u64, u64),
    pub products: i64,
    pub categories: Vec<Category>,
}

impl CatalogStats {
    pub fn read(c: &Connection) -> Result<CatalogStats> {
        let revisions = (catalog_revision(c)?, categories_revision(c)?);
        let categories = categories(c)?;
        let products = product_count(c)?;
        Ok(CatalogStats {
            revisions,
            products,
            categories,
        })
    }

    /// How many products a listing matches, when these figures answer it without a query.
    fn total_for(&self, l: &Listing, fts: Option<&str>) -> Option<i64> {
        let f = &l.filters;
        if fts.is_some()
            || l.bestseller.is_some()
            || f.min_price.is_some()
            || f.max_price.is_some()
            || f.min_stars.is_some()
        {
            return None;
        }
        Some(match f.category {
            None => self.products,
            Some(id) => self
                .categories
                .iter()
                .find(|c| c.id == id)
                .map_or(0, |c| c.products),
        })
    }
}

/// [`CatalogStats`] computed once per revision: a request reads the two revision numbers (a
/// primary-key lookup each) and recomputes only after an import changed them.
#[derive(Debug, Default)]
pub struct StatsCache(std::sync::Mutex<Option<std::sync::Arc<CatalogStats>>>);

impl StatsCache {
    pub fn get(&self, c: &Connection) -> Result<std::sync::Arc<CatalogStats>> {
        let revisions = (catalog_revision(c)?, categories_revision(c)?);
        // Held while computing, so concurrent requests after an import wait for one scan.
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.as_ref().filter(|s| s.revisions == revisions) {
            return Ok(s.clone());
        }
        let fresh = std::sync::Arc::new(CatalogStats::read(c)?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }
}

/// A parsed, validated catalog listing query.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub q: Option<String>,
    pub filters: common::Filters,
    pub bestseller: Option<bool>,
    pub sort: SortOrder,
    pub page: usize,
    pub per_page: usize,
}

/// Turns free text into an FTS5 query: every word as a quoted prefix term, all required.
fn fts_query(q: &str) -> Option<String> {
    let terms: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{}\"*", t.to_lowercase()))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Keyword search over titles (FTS5, ranked by bm25) with filters, sort and paging.
///
/// Every sort order and the category filter walk an index (see `SCHEMA`), the page is chosen
/// over rowids alone before its rows are read, and the total comes from `stats` when it answers
/// the listing, so that the cost grows with the page rather than the catalog; a price or stars
/// range is the exception, as it counts (and, sorted by another column, reads) every match.
pub fn list_products(c: &Connection, l: &Listing, stats: &CatalogStats) -> Result<ProductPage> {
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let fts = l.q.as_deref().and_then(fts_query);
    let from = if let Some(f) = &fts {
        args.push(f.clone().into());
        wh.push(format!("product_fts MATCH ?{}", args.len()));
        "FROM product_fts JOIN amazon_products p ON p.rowid = product_fts.rowid"
    } else {
        "FROM amazon_products p"
    };
    let f = &l.filters;
    let mut push = |cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        wh.push(format!("{cond} ?{}", args.len()));
    };
    if let Some(v) = f.category {
        push("p.category_id =", v.into());
    }
    if let Some(v) = f.min_price {
        push("p.price >=", v.into());
    }
    if let Some(v) = f.max_price {
        push("p.price <=", v.into());
    }
    if let Some(v) = f.min_stars {
        push("p.stars >=", v.into());
    }
    if let Some(v) = l.bestseller {
        push("p.isBestSeller =", i64::from(v).into());
    }
    let wh = if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    };
    let order = match l.sort {
        SortOrder::Relevance if fts.is_some() => "ORDER BY bm25(product_fts), p.rowid",
        SortOrder::Relevance => "ORDER BY p.rowid",
        SortOrder::PriceAsc => "ORDER BY p.price ASC, p.rowid",
        SortOrder::PriceDesc => "ORDER BY p.price DESC, p.rowid",
        SortOrder::Stars => "ORDER BY p.stars DESC, p.reviews DESC, p.rowid",
        SortOrder::Reviews => "ORDER BY p.reviews DESC, p.rowid",
        SortOrder::Popular => "ORDER BY p.boughtInLastMonth DESC, p.reviews DESC, p.rowid",
    };
    let total: i64 = match stats.total_for(l, fts.as_deref()) {
        Some(n) => n,
        None => c.query_row(
            &format!("SELECT count(*) {from} {wh}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?,
    };
    let offset = (l.page.saturating_sub(1) * l.per_page) as i64;
    let page_sql = format!(
        "SELECT p.rowid {from} {wh} {order} LIMIT {} OFFSET {offset}",
        l.per_page
    );
    let rowids = c
        .prepare(&page_sql)?
        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    let names = category_names(c)?;
    let items = products_by_rowid(c, &rowids)?
        .into_iter()
        .flatten()
        .map(|mut p| {
            p.category_name = names.get(&p.category_id).cloned();
            p
        })
        .collect();
    Ok(ProductPage {
        items,
        total,
        page: l.page,
        per_page: l.per_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_terms() {
        assert_eq!(
            fts_query("Suit-case 24\"").as_deref(),
            Some("\"suit\"* \"case\"* \"24\"*")
        );
        assert_eq!(fts_query("  -- "), None);
    }
}
