//! The product catalog in SQLite: schema, connection pool, streaming CSV import with per-row
//! rejects, popularity scores, keyword search (FTS5) and order-preserving enrichment.
//!
//! `amazon_products` keeps exactly the seed's columns; everything Recall Lab adds lives in side
//! tables (`product_popularity`, `product_fts`, `users`, `recall_meta`).

use crate::error::{Error, Result};
use crate::ids::Asin;
use common::{Category, Product, ProductPage, SortOrder};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

pub type Pool = r2d2::Pool<SqliteConnectionManager>;
pub type Conn = r2d2::PooledConnection<SqliteConnectionManager>;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS amazon_products (
    asin TEXT, title TEXT, imgUrl TEXT, productURL TEXT, stars REAL, reviews INTEGER,
    price REAL, listPrice REAL, category_id INTEGER, isBestSeller INTEGER, boughtInLastMonth INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS amazon_products_asin ON amazon_products(asin);
CREATE TABLE IF NOT EXISTS amazon_categories (id INTEGER PRIMARY KEY, category_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_clicks (user_id TEXT NOT NULL, asin TEXT NOT NULL, click_time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS user_clicks_user_time ON user_clicks(user_id, click_time);
CREATE INDEX IF NOT EXISTS user_clicks_asin ON user_clicks(asin, user_id);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
-- Popularity with the columns the popularity channel filters on, so that loading its top reads
-- one covering index in order (no lookup into amazon_products per entry).
CREATE TABLE IF NOT EXISTS product_popularity (
    asin TEXT PRIMARY KEY, score REAL NOT NULL, price REAL, stars REAL, category_id INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS product_popularity_top ON product_popularity(score DESC, price, stars, category_id);
-- The catalog listing's filters and sort orders walk these instead of sorting the whole table.
CREATE INDEX IF NOT EXISTS amazon_products_category ON amazon_products(category_id);
CREATE INDEX IF NOT EXISTS amazon_products_price ON amazon_products(price);
CREATE INDEX IF NOT EXISTS amazon_products_stars ON amazon_products(stars DESC, reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_reviews ON amazon_products(reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_bought ON amazon_products(boughtInLastMonth DESC, reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_bestseller ON amazon_products(isBestSeller);
CREATE TABLE IF NOT EXISTS recall_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS amazon_products_fts_ai AFTER INSERT ON amazon_products BEGIN
    INSERT INTO product_fts(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER IF NOT EXISTS amazon_products_fts_ad AFTER DELETE ON amazon_products BEGIN
    INSERT INTO product_fts(product_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER IF NOT EXISTS amazon_products_fts_au AFTER UPDATE OF title ON amazon_products BEGIN
    INSERT INTO product_fts(product_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO product_fts(rowid, title) VALUES (new.rowid, new.title);
END;
"#;

fn configure(c: &mut Connection) -> rusqlite::Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL lets readers run beside the writer; FULL makes a committed click durable.
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "temp_store", "MEMORY")?;
    // 8 MB of page cache per connection: the pool holds several, and the server's memory budget
    // is the index (enrichment reads only a few hundred rows per request).
    c.pragma_update(None, "cache_size", -8_000)?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    }
    let mut c = Connection::open(path)?;
    configure(&mut c)?;
    migrate(&c)?;
    Ok(c)
}

/// A connection pool over an existing, migrated database.
pub fn pool(path: &Path, size: u32) -> Result<Pool> {
    drop(open(path)?);
    let manager = SqliteConnectionManager::file(path).with_init(configure);
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .build(manager)?)
}

/// How much of the database file the enrichment reader maps by default: 128 MiB covers the
/// whole database up to a few hundred thousand products and a quarter of it at 1M, where mapping
/// all of it would add its 0.3 GB to the server's resident set.
pub const DEFAULT_READER_MAP_BYTES: u64 = 128 << 20;

/// The recall's enrichment reader: a read-only connection that reads the first `map_bytes` of
/// the database through a memory map (`mmap_size`), so a row lookup there reads mapped pages in
/// place instead of a `pread` into the page cache; pages beyond are read as usual. On the
/// 100,000-product benchmark catalog (whole file mapped) 500 rows take 1.0 ms instead of 1.6.
/// Keep one per process: each connection maps the file on its own, and every mapping counts
/// again in the resident set (a pool of eight mapped connections reached 2.2x the raw vectors
/// at 1M). Touched mapped pages stay resident, so `map_bytes` is a memory budget.
pub fn reader(path: &Path, map_bytes: u64) -> Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "mmap_size", map_bytes.min(i64::MAX as u64) as i64)?;
    c.pragma_update(None, "cache_size", -8_000)?;
    c.set_prepared_statement_cache_capacity(8);
    Ok(c)
}

fn migrate(c: &Connection) -> Result<()> {
    let had_fts: bool = c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'product_fts'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    c.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS product_fts USING fts5(title, content='amazon_products', content_rowid='rowid', tokenize='porter unicode61');",
    )?;
    // Databases from before the popularity table carried the filter columns: add them, and
    // fill them below by recomputing the table.
    let old_popularity: bool = c.query_row(
        "SELECT count(*) = 2 FROM pragma_table_info('product_popularity')",
        [],
        |r| r.get(0),
    )?;
    if old_popularity {
        c.execute_batch(
            "ALTER TABLE product_popularity ADD COLUMN price REAL;
             ALTER TABLE product_popularity ADD COLUMN stars REAL;
             ALTER TABLE product_popularity ADD COLUMN category_id INTEGER;
             DROP INDEX IF EXISTS product_popularity_score;",
        )?;
    }
    c.execute_batch(SCHEMA)?;
    if !had_fts {
        // A database made elsewhere (e.g. by the seed's script) already has rows: index them.
        c.execute_batch("INSERT INTO product_fts(product_fts) VALUES ('rebuild');")?;
    }
    if old_popularity {
        compute_popularity(c)?;
    }
    Ok(())
}

/// A monotonically increasing number that changes whenever product rows change.
pub fn catalog_revision(c: &Connection) -> Result<u64> {
    meta_counter(c, "catalog_revision")
}

pub fn bump_revision(c: &Connection) -> Result<u64> {
    bump_counter(c, "catalog_revision")
}

/// Like [`catalog_revision`], for the category names: a categories import changes the listing's
/// names without changing any product row (and so without making the vectors stale).
pub fn categories_revision(c: &Connection) -> Result<u64> {
    meta_counter(c, "categories_revision")
}

fn meta_counter(c: &Connection, key: &str) -> Result<u64> {
    // Cached: a recall checks the catalog revision on every request.
    let v: Option<String> = c
        .prepare_cached("SELECT value FROM recall_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn bump_counter(c: &Connection, key: &str) -> Result<u64> {
    let next = meta_counter(c, key)? + 1;
    c.execute(
        "INSERT INTO recall_meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, next.to_string()],
    )?;
    Ok(next)
}

pub fn product_count(c: &Connection) -> Result<i64> {
    Ok(c.query_row("SELECT count(*) FROM amazon_products", [], |r| r.get(0))?)
}

fn product_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
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

/// One product by asin, with its category name (use with [`lookup`]).
pub const BY_ASIN: &str = "SELECT p.asin, p.title, p.imgUrl, p.productURL, p.stars, p.reviews, p.price, \
     p.listPrice, p.category_id, p.isBestSeller, p.boughtInLastMonth, c.category_name \
     FROM amazon_products p LEFT JOIN amazon_categories c ON c.id = p.category_id WHERE p.asin = ?1";

/// Runs a prepared [`BY_ASIN`] statement.
pub fn lookup(st: &mut rusqlite::CachedStatement<'_>, asin: &str) -> Result<Option<Product>> {
    Ok(st.query_row([asin], product_from_row).optional()?)
}

pub fn get_product(c: &Connection, asin: &Asin) -> Result<Product> {
    lookup(&mut c.prepare_cached(BY_ASIN)?, asin.as_str())?
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
    let mut st = c.prepare_cached(
        "SELECT p.asin, p.title, p.imgUrl, p.productURL, p.stars, p.reviews, p.price, p.listPrice, p.category_id,
                p.isBestSeller, p.boughtInLastMonth, c.category_name, j.key
         FROM json_each(?1) j JOIN amazon_products p ON p.asin = j.value
         LEFT JOIN amazon_categories c ON c.id = p.category_id",
    )?;
    let mut rows = st.query([list])?;
    while let Some(r) = rows.next()? {
        let at: usize = r.get::<_, i64>(12)? as usize;
        out[at] = Some(product_from_row(r)?);
    }
    Ok(out)
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
    let mut st = c.prepare_cached(
        "SELECT p.asin, p.title, p.imgUrl, p.productURL, p.stars, p.reviews, p.price, p.listPrice, p.category_id,
                p.isBestSeller, p.boughtInLastMonth, NULL, j.key
         FROM json_each(?1) j JOIN amazon_products p ON p.rowid = j.value",
    )?;
    let mut rows = st.query([list])?;
    while let Some(r) = rows.next()? {
        let at: usize = r.get::<_, i64>(12)? as usize;
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
/// At a million products this stays in milliseconds for the common listings: every sort order
/// and the category filter walk an index (see `SCHEMA`), the page is chosen over rowids alone and
/// only its rows are read (a deferred join, so SQLite never sorts whole rows), and the total
/// comes from `stats` when it answers the listing (no keywords, at most a category filter).
/// A price or stars range still counts its matches, and sorting a range by another column
/// reads a column of each match: cost grows with the matches there, not with the page.
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

// ---------------------------------------------------------------------------------------------
// Import

/// One product row as parsed from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow {
    pub asin: String,
    pub title: String,
    pub img_url: String,
    pub product_url: String,
    pub stars: f64,
    pub reviews: i64,
    pub price: f64,
    pub list_price: f64,
    pub category_id: i64,
    pub is_best_seller: bool,
    pub bought_in_last_month: i64,
}

/// The seed's column names, in its order.
pub const COLUMNS: [&str; 11] = [
    "asin",
    "title",
    "imgUrl",
    "productURL",
    "stars",
    "reviews",
    "price",
    "listPrice",
    "category_id",
    "isBestSeller",
    "boughtInLastMonth",
];

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reject {
    /// 1-based line in the CSV (row number for an SQLite source).
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Rows that were new.
    pub loaded: u64,
    /// Rows whose asin existed and whose values changed.
    pub updated: u64,
    /// Rows whose asin existed with identical values.
    pub unchanged: u64,
    pub rejected: u64,
    /// The first rejects (all of them are in `import_rejects.txt`).
    pub rejects: Vec<Reject>,
    pub categories: u64,
    pub catalog_revision: u64,
    pub seconds: f64,
}

const REJECTS_KEPT: usize = 1000;

fn parse_f64(field: &str, s: &str) -> std::result::Result<f64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0.0);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("bad number in column {field}: {s:?}")),
    }
}

fn parse_i64(field: &str, s: &str) -> std::result::Result<i64, String> {
    let v = parse_f64(field, s)?;
    if v.fract() != 0.0 || v.abs() > 9.0e15 {
        return Err(format!("bad integer in column {field}: {:?}", s.trim()));
    }
    Ok(v as i64)
}

fn parse_bool(field: &str, s: &str) -> std::result::Result<bool, String> {
    match s.trim() {
        "True" | "true" | "TRUE" | "1" => Ok(true),
        "False" | "false" | "FALSE" | "0" | "" => Ok(false),
        other => Err(format!("bad boolean in column {field}: {other:?}")),
    }
}

impl ProductRow {
    /// Validates one record given as the seed's 11 fields in order.
    pub fn parse(f: [&str; 11]) -> std::result::Result<Self, String> {
        let asin = f[0].trim();
        if asin.is_empty() {
            return Err("missing asin".into());
        }
        Asin::parse(asin).map_err(|e| format!("bad asin {asin:?}: {e}"))?;
        if f[1].trim().is_empty() {
            return Err(format!("missing title for asin {asin}"));
        }
        Ok(ProductRow {
            asin: asin.to_owned(),
            title: f[1].trim().to_owned(),
            img_url: f[2].trim().to_owned(),
            product_url: f[3].trim().to_owned(),
            stars: parse_f64("stars", f[4])?,
            reviews: parse_i64("reviews", f[5])?,
            price: parse_f64("price", f[6])?,
            list_price: parse_f64("listPrice", f[7])?,
            category_id: parse_i64("category_id", f[8])?,
            is_best_seller: parse_bool("isBestSeller", f[9])?,
            bought_in_last_month: parse_i64("boughtInLastMonth", f[10])?,
        })
    }
}

/// Writes rows into the catalog: insert new asins, update changed ones, reject duplicates within
/// one import. Commits every `BATCH` rows so memory and the WAL stay flat.
struct Upserter<'c> {
    c: &'c Connection,
    in_batch: usize,
    report: ImportReport,
    rejects_file: std::io::BufWriter<std::fs::File>,
}

const BATCH: usize = 20_000;

impl<'c> Upserter<'c> {
    fn new(c: &'c Connection, rejects_path: &Path) -> Result<Self> {
        c.execute_batch(
            "DROP TABLE IF EXISTS temp.import_seen;
             CREATE TEMP TABLE import_seen (asin TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID;
             BEGIN;",
        )?;
        let file = std::fs::File::create(rejects_path).map_err(Error::io(rejects_path))?;
        Ok(Upserter {
            c,
            in_batch: 0,
            report: ImportReport::default(),
            rejects_file: std::io::BufWriter::new(file),
        })
    }

    fn reject(&mut self, line: u64, reason: String) -> Result<()> {
        writeln!(self.rejects_file, "line {line}: {reason}")
            .map_err(Error::io("import_rejects.txt"))?;
        tracing::warn!(line, reason = %reason, "rejected row");
        self.report.rejected += 1;
        if self.report.rejects.len() < REJECTS_KEPT {
            self.report.rejects.push(Reject { line, reason });
        }
        Ok(())
    }

    fn row(&mut self, line: u64, row: ProductRow) -> Result<()> {
        let c = self.c;
        let inserted = c
            .prepare_cached("INSERT INTO temp.import_seen(asin, line) VALUES (?1, ?2) ON CONFLICT(asin) DO NOTHING")?
            .execute(params![row.asin, line as i64])?;
        if inserted == 0 {
            let first: i64 = c
                .prepare_cached("SELECT line FROM temp.import_seen WHERE asin = ?1")?
                .query_row([&row.asin], |r| r.get(0))?;
            return self.reject(
                line,
                format!("duplicate asin {} (first seen on line {first})", row.asin),
            );
        }
        let existing: Option<ProductRow> = c
            .prepare_cached(
                "SELECT asin, title, imgUrl, productURL, stars, reviews, price, listPrice, category_id, isBestSeller, boughtInLastMonth
                 FROM amazon_products WHERE asin = ?1",
            )?
            .query_row([&row.asin], |r| {
                Ok(ProductRow {
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
                })
            })
            .optional()?;
        let values = params![
            row.asin,
            row.title,
            row.img_url,
            row.product_url,
            row.stars,
            row.reviews,
            row.price,
            row.list_price,
            row.category_id,
            row.is_best_seller as i64,
            row.bought_in_last_month
        ];
        match existing {
            None => {
                c.prepare_cached("INSERT INTO amazon_products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(values)?;
                self.report.loaded += 1;
            }
            Some(old) if old == row => self.report.unchanged += 1,
            Some(_) => {
                c.prepare_cached(
                    "UPDATE amazon_products SET title = ?2, imgUrl = ?3, productURL = ?4, stars = ?5, reviews = ?6, price = ?7,
                     listPrice = ?8, category_id = ?9, isBestSeller = ?10, boughtInLastMonth = ?11 WHERE asin = ?1",
                )?
                .execute(values)?;
                self.report.updated += 1;
            }
        }
        self.in_batch += 1;
        if self.in_batch >= BATCH {
            self.in_batch = 0;
            c.execute_batch("COMMIT; BEGIN;")?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ImportReport> {
        self.c
            .execute_batch("COMMIT; DROP TABLE IF EXISTS temp.import_seen;")?;
        self.rejects_file
            .flush()
            .map_err(Error::io("import_rejects.txt"))?;
        Ok(self.report)
    }
}

/// Where an import reads products from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The Kaggle "Amazon Products Dataset 2023" CSV (the seed's columns, any order).
    Csv(&'a Path),
    /// An SQLite file holding the seed's `amazon_products` table.
    Sqlite(&'a Path),
}

/// Streams products from `source` into the catalog at `db_path`, reporting every bad row.
pub fn import(
    db_path: &Path,
    source: Source<'_>,
    categories_csv: Option<&Path>,
    rejects_path: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport> {
    let started = std::time::Instant::now();
    let c = open(db_path)?;
    let mut up = Upserter::new(&c, rejects_path)?;
    let mut sink = |line: u64, parsed: std::result::Result<ProductRow, String>| -> Result<()> {
        progress.inc(1);
        match parsed {
            Ok(row) => up.row(line, row),
            Err(reason) => up.reject(line, reason),
        }
    };
    let read = match source {
        Source::Csv(path) => read_csv(path, &mut sink),
        Source::Sqlite(path) => read_sqlite(path, &mut sink),
    };
    if let Err(e) = read {
        let _ = c.execute_batch("ROLLBACK;");
        return Err(e);
    }
    let mut report = up.finish()?;
    if let Some(cat) = categories_csv {
        report.categories = import_categories(&c, cat)?;
    }
    if report.loaded + report.updated > 0 {
        compute_popularity(&c)?;
        report.catalog_revision = bump_revision(&c)?;
    } else {
        report.catalog_revision = catalog_revision(&c)?;
    }
    c.execute_batch("PRAGMA optimize;")?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn read_csv(
    path: &Path,
    sink: &mut dyn FnMut(u64, std::result::Result<ProductRow, String>) -> Result<()>,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let headers = rdr.byte_headers()?.clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_owned()
        })
        .collect();
    let mut order = [0usize; 11];
    for (i, col) in COLUMNS.iter().enumerate() {
        order[i] = names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| Error::Format {
                path: path.to_owned(),
                message: format!(
                    "header has no column {col:?}; expected {}",
                    COLUMNS.join(",")
                ),
            })?;
    }
    let width = names.len();
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(e.into());
                }
                sink(line, Err(format!("unreadable CSV record: {e}")))?;
                continue;
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() != width {
            sink(
                line,
                Err(format!("expected {width} fields, found {}", rec.len())),
            )?;
            continue;
        }
        let mut fields = [""; 11];
        let mut bad = None;
        for (i, &j) in order.iter().enumerate() {
            match std::str::from_utf8(&rec[j]) {
                Ok(s) => fields[i] = s,
                Err(e) => {
                    bad = Some(format!(
                        "invalid UTF-8 in column {} at byte {}",
                        COLUMNS[i],
                        e.valid_up_to()
                    ));
                    break;
                }
            }
        }
        let parsed = match bad {
            Some(reason) => Err(reason),
            None => ProductRow::parse(fields),
        };
        sink(line, parsed)?;
    }
    Ok(())
}

fn read_sqlite(
    path: &Path,
    sink: &mut dyn FnMut(u64, std::result::Result<ProductRow, String>) -> Result<()>,
) -> Result<()> {
    if !path.exists() {
        return Err(Error::Io {
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let src = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut st = src.prepare(&format!(
        "SELECT {} FROM amazon_products ORDER BY rowid",
        COLUMNS.join(", ")
    ))?;
    let mut rows = st.query([])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        n += 1;
        let text: Vec<String> = (0..11)
            .map(|i| match r.get_ref(i) {
                Ok(rusqlite::types::ValueRef::Null) | Err(_) => String::new(),
                Ok(rusqlite::types::ValueRef::Integer(v)) => v.to_string(),
                Ok(rusqlite::types::ValueRef::Real(v)) => v.to_string(),
                Ok(rusqlite::types::ValueRef::Text(t)) | Ok(rusqlite::types::ValueRef::Blob(t)) => {
                    String::from_utf8(t.to_vec()).unwrap_or_else(|_| "\u{fffd}invalid".into())
                }
            })
            .collect();
        let fields: [&str; 11] = std::array::from_fn(|i| text[i].as_str());
        let parsed = if text.iter().any(|t| t.starts_with('\u{fffd}')) {
            Err("invalid UTF-8".to_owned())
        } else {
            ProductRow::parse(fields)
        };
        sink(n, parsed)?;
    }
    Ok(())
}

/// Loads `id,category_name` rows (upsert by id) and bumps the categories revision. Returns how
/// many rows were read.
pub fn import_categories(c: &Connection, path: &Path) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut rdr = csv::Reader::from_reader(file);
    let mut st = c.prepare("INSERT INTO amazon_categories(id, category_name) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET category_name = excluded.category_name")?;
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let id: i64 = rec
            .get(0)
            .unwrap_or("")
            .trim()
            .parse()
            .map_err(|_| Error::Format {
                path: path.to_owned(),
                message: format!(
                    "line {line}: bad category id {:?}",
                    rec.get(0).unwrap_or("")
                ),
            })?;
        st.execute(params![id, rec.get(1).unwrap_or("").trim()])?;
        n += 1;
    }
    bump_counter(c, "categories_revision")?;
    Ok(n)
}

/// Popularity in 0..=1 from boughtInLastMonth, reviews, stars and isBestSeller; recomputed
/// after every import that changed rows, so requests only read the top of an index.
pub fn compute_popularity(c: &Connection) -> Result<()> {
    let (max_bought, max_reviews): (f64, f64) = c.query_row(
        "SELECT max(coalesce(boughtInLastMonth, 0)), max(coalesce(reviews, 0)) FROM amazon_products",
        [],
        |r| Ok((r.get::<_, Option<f64>>(0)?.unwrap_or(0.0), r.get::<_, Option<f64>>(1)?.unwrap_or(0.0))),
    )?;
    let lb = (1.0 + max_bought.max(0.0)).ln().max(1e-9);
    let lr = (1.0 + max_reviews.max(0.0)).ln().max(1e-9);
    let tx = c.unchecked_transaction()?;
    tx.execute("DELETE FROM product_popularity", [])?;
    {
        let mut read = tx.prepare(
            "SELECT asin, coalesce(boughtInLastMonth,0), coalesce(reviews,0), coalesce(stars,0), coalesce(isBestSeller,0),
                    coalesce(price,0), coalesce(category_id,0)
             FROM amazon_products WHERE asin IS NOT NULL",
        )?;
        let mut write = tx.prepare(
            "INSERT INTO product_popularity(asin, score, price, stars, category_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let asin: String = r.get(0)?;
            let score = popularity(
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, i64>(4)? != 0,
                lb,
                lr,
            );
            let (stars, price, category): (f64, f64, i64) = (r.get(3)?, r.get(5)?, r.get(6)?);
            write.execute(params![asin, score, price, stars, category])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The popularity formula: sales and review volume dominate, rating is shrunk towards 3.5 by a
/// Bayesian prior of 20 reviews, and bestsellers get a bonus.
pub fn popularity(
    bought: f64,
    reviews: f64,
    stars: f64,
    bestseller: bool,
    log_max_bought: f64,
    log_max_reviews: f64,
) -> f64 {
    let sales = (1.0 + bought.max(0.0)).ln() / log_max_bought;
    let volume = (1.0 + reviews.max(0.0)).ln() / log_max_reviews;
    let prior = 20.0;
    let rating = if stars > 0.0 {
        (stars * reviews.max(0.0) + 3.5 * prior) / (reviews.max(0.0) + prior)
    } else {
        3.0
    } / 5.0;
    0.45 * sales + 0.25 * volume + 0.2 * rating + if bestseller { 0.1 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_parse_reports_the_reason() {
        let good = [
            "B1", "A title", "", "", "4.5", "12", "9.99", "0.0", "3", "True", "100",
        ];
        let row = ProductRow::parse(good).unwrap();
        assert!(row.is_best_seller);
        let mut bad = good;
        bad[6] = "nine";
        assert_eq!(
            ProductRow::parse(bad).unwrap_err(),
            "bad number in column price: \"nine\""
        );
        let mut bad = good;
        bad[0] = " ";
        assert_eq!(ProductRow::parse(bad).unwrap_err(), "missing asin");
        let mut empty = good;
        empty[4] = "";
        assert_eq!(ProductRow::parse(empty).unwrap().stars, 0.0);
    }

    #[test]
    fn fts_query_quotes_terms() {
        assert_eq!(
            fts_query("Suit-case 24\"").as_deref(),
            Some("\"suit\"* \"case\"* \"24\"*")
        );
        assert_eq!(fts_query("  -- "), None);
    }

    /// A database from before popularity carried the filter columns gets them on open, filled,
    /// and the popularity top then answers from the table alone.
    #[test]
    fn old_popularity_tables_are_migrated_and_filled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recommend.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE amazon_products (asin TEXT, title TEXT, imgUrl TEXT, productURL TEXT, stars REAL,
                 reviews INTEGER, price REAL, listPrice REAL, category_id INTEGER, isBestSeller INTEGER,
                 boughtInLastMonth INTEGER);
             INSERT INTO amazon_products VALUES ('A1', 'Mug', '', '', 4.5, 10, 12.5, 0, 7, 0, 50);
             INSERT INTO amazon_products VALUES ('A2', 'Skillet', '', '', 4.8, 900, 29.99, 0, 9, 1, 2000);
             CREATE TABLE product_popularity (asin TEXT PRIMARY KEY, score REAL NOT NULL) WITHOUT ROWID;
             CREATE INDEX product_popularity_score ON product_popularity(score DESC);
             INSERT INTO product_popularity VALUES ('A1', 0.1), ('A2', 0.9);",
        )
        .unwrap();
        drop(c);
        let c = open(&path).unwrap();
        let top: Vec<(String, f64, i64)> = c
            .prepare("SELECT asin, price, category_id FROM product_popularity ORDER BY score DESC")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            top,
            [("A2".to_owned(), 29.99, 9), ("A1".to_owned(), 12.5, 7)]
        );
        drop(c);
        // Opening again is a no-op.
        let c = open(&path).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM product_popularity WHERE price IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }
}
