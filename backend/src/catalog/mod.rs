//! The product catalog in SQLite: schema, connection pool, streaming CSV import with per-row
//! rejects, popularity scores, keyword search (FTS5) and order-preserving enrichment.
//!
//! `amazon_products` keeps exactly the seed's columns; everything Recall Lab adds lives in side
//! tables (`product_popularity`, `product_fts`, `users`, `recall_meta`).

mod import;
mod listing;
mod popularity;
mod preview;
mod products;

pub use import::{
    ColumnMap, ColumnSource, ImportReport, Reject, Source, import, import_categories,
    import_mapped, parse_product,
};
pub use listing::{CatalogStats, Listing, StatsCache, list_products};
pub use popularity::{compute_popularity, popularity};
pub use preview::preview;
pub use products::{
    BY_ASIN, categories, category_names, get_product, lookup, products_by_rowid, products_in_order,
    scan_products,
};

use crate::error::{Error, Result};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
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
CREATE UNIQUE INDEX IF NOT EXISTS user_clicks_once ON user_clicks(user_id, click_time, asin);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
-- Popularity with the columns the popularity channel filters on, so that loading its top reads
-- one covering index in order (no lookup into amazon_products per entry).
CREATE TABLE IF NOT EXISTS product_popularity (
    asin TEXT PRIMARY KEY, score REAL NOT NULL, price REAL, stars REAL, category_id INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS product_popularity_top ON product_popularity(score DESC, price, stars, category_id);
-- Each category's own ranking, which a build loads the top of per category.
CREATE INDEX IF NOT EXISTS product_popularity_category ON product_popularity(category_id, score DESC, price, stars);
-- The catalog listing's filters and sort orders walk these instead of sorting the whole table.
CREATE INDEX IF NOT EXISTS amazon_products_category ON amazon_products(category_id);
CREATE INDEX IF NOT EXISTS amazon_products_price ON amazon_products(price);
CREATE INDEX IF NOT EXISTS amazon_products_stars ON amazon_products(stars DESC, reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_reviews ON amazon_products(reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_bought ON amazon_products(boughtInLastMonth DESC, reviews DESC);
CREATE INDEX IF NOT EXISTS amazon_products_bestseller ON amazon_products(isBestSeller);
CREATE TABLE IF NOT EXISTS recall_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The review workbench (`review`): scenarios as JSON documents (`common::ScenarioBody`), and
-- each reviewer's latest grade of an item in a scenario.
CREATE TABLE IF NOT EXISTS review_scenarios (
    id TEXT PRIMARY KEY, doc TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_judgments (
    scenario TEXT NOT NULL, asin TEXT NOT NULL, reviewer TEXT NOT NULL, grade TEXT NOT NULL,
    judged_at TEXT NOT NULL, PRIMARY KEY (scenario, asin, reviewer)
) WITHOUT ROWID;
-- What happened to each product's image (`images`): cached ('ok', fetched or drawn) or failed
-- with a kind and a detail.
CREATE TABLE IF NOT EXISTS product_images (
    asin TEXT PRIMARY KEY, source TEXT NOT NULL, status TEXT NOT NULL, url TEXT, bytes INTEGER,
    failure TEXT, detail TEXT, attempts INTEGER NOT NULL, updated_at INTEGER NOT NULL
) WITHOUT ROWID;
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

/// How much of the database file the enrichment reader maps by default: the whole database of a
/// catalog of a few hundred thousand products, and a part of a larger one, whose full mapping
/// would weigh on the server's resident set.
pub const DEFAULT_READER_MAP_BYTES: u64 = 128 << 20;

/// The recall's enrichment reader: a read-only connection that memory-maps the first
/// `map_bytes` of the database (`mmap_size`), so that a row lookup there reads pages in place
/// instead of copying them into the page cache.
///
/// Keep one per process, because every connection's mapping counts again in the resident set
/// (touched mapped pages stay resident, so `map_bytes` is a memory budget).
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
    // A click log from before `user_clicks_once` may hold repeats of one click: keep the first.
    // (A click is one user, time and asin; the index's column order serves a user's history.)
    let had_clicks_once: bool = c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'user_clicks_once'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    let has_clicks: bool = c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'user_clicks'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !had_clicks_once && has_clicks {
        // With the index in the same transaction, so no repeat can slip in between.
        c.execute_batch(
            "BEGIN IMMEDIATE;
             DELETE FROM user_clicks WHERE rowid NOT IN
               (SELECT min(rowid) FROM user_clicks GROUP BY user_id, asin, click_time);
             CREATE UNIQUE INDEX IF NOT EXISTS user_clicks_once ON user_clicks(user_id, click_time, asin);
             COMMIT;",
        )?;
    }
    // `user_clicks_once` serves a user's clicks in time order too; the co-click index served
    // the SQL CF that the precomputed model replaced. One index keeps imports fast.
    c.execute_batch(
        "DROP INDEX IF EXISTS user_clicks_user_time; DROP INDEX IF EXISTS user_clicks_asin;",
    )?;
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

pub(crate) fn meta_counter(c: &Connection, key: &str) -> Result<u64> {
    // Cached: a recall checks the catalog revision on every request.
    let v: Option<String> = c
        .prepare_cached("SELECT value FROM recall_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub(crate) fn bump_counter(c: &Connection, key: &str) -> Result<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
