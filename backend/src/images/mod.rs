//! Product images kept in the data dir (`images/<asin>.jpg` or `.svg`), so that the app shows
//! pictures without reaching the products' original hosts. `fetch` downloads each product's
//! `imgUrl` as a thumbnail; `draw` makes an illustration for products without a picture. What
//! happened to each product is in the side table `product_images`.

pub mod draw;
pub mod fetch;

use crate::error::{Error, Result};
use crate::ids::Asin;
use crate::layout::Layout;
use rusqlite::{Connection, params};
use std::path::PathBuf;

/// Where a cached image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Fetched,
    Drawn,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Fetched => "fetched",
            Source::Drawn => "drawn",
        }
    }
}

/// The file kinds the cache holds, in the order a lookup tries them, with their media types.
const KINDS: [(&str, &str); 2] = [("jpg", "image/jpeg"), ("svg", "image/svg+xml")];

/// The image cache of one data dir.
#[derive(Debug, Clone)]
pub struct ImageStore {
    dir: PathBuf,
}

impl ImageStore {
    pub fn new(layout: &Layout) -> Self {
        ImageStore {
            dir: layout.images_dir(),
        }
    }

    fn path(&self, asin: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{asin}.{ext}"))
    }

    /// The cached image of a product and its media type, if there is one. An `Asin` is
    /// alphanumeric, so the path never leaves the folder.
    pub fn find(&self, asin: &Asin) -> Option<(PathBuf, &'static str)> {
        KINDS
            .iter()
            .map(|(ext, mime)| (self.path(asin.as_str(), ext), *mime))
            .find(|(p, _)| p.is_file())
    }

    /// Whether a picture of `asin` is on disk.
    fn has(&self, asin: &str) -> bool {
        KINDS.iter().any(|(ext, _)| self.path(asin, ext).is_file())
    }

    /// Writes a product's image atomically, replacing any other kind cached for it.
    fn store(&self, asin: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir).map_err(Error::io(&self.dir))?;
        let path = self.path(asin, ext);
        crate::layout::write_atomic(&path, |w| std::io::Write::write_all(w, bytes))?;
        for (other, _) in KINDS.iter().filter(|(e, _)| *e != ext) {
            let _ = std::fs::remove_file(self.path(asin, other));
        }
        Ok(path)
    }
}

/// The cache's figures for `/api/stats` and the CLI.
pub fn counts(c: &Connection) -> Result<common::ImageStats> {
    let (cached, drawn, failed) = c.query_row(
        "SELECT coalesce(sum(status = 'ok'), 0), coalesce(sum(status = 'ok' AND source = 'drawn'), 0),
                coalesce(sum(status = 'failed'), 0) FROM product_images",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
    )?;
    Ok(common::ImageStats {
        cached: cached as u64,
        drawn: drawn as u64,
        failed: failed as u64,
    })
}

fn record_ok(c: &Connection, asin: &str, source: Source, url: &str, bytes: usize) -> Result<()> {
    c.execute(
        "INSERT INTO product_images (asin, source, status, url, bytes, failure, detail, attempts, updated_at)
         VALUES (?1, ?2, 'ok', ?3, ?4, NULL, NULL, ?5, ?6)
         ON CONFLICT(asin) DO UPDATE SET source = ?2, status = 'ok', url = ?3, bytes = ?4,
             failure = NULL, detail = NULL, attempts = ?5, updated_at = ?6",
        params![
            asin,
            source.as_str(),
            url,
            bytes as i64,
            1,
            crate::util::now_millis()
        ],
    )?;
    Ok(())
}

/// Every product whose picture could not be fetched, by asin.
pub fn failures(c: &Connection) -> Result<Vec<fetch::Failure>> {
    let mut stmt = c.prepare(
        "SELECT asin, coalesce(url, ''), failure, coalesce(detail, ''), attempts FROM product_images
         WHERE status = 'failed' ORDER BY asin",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, u32>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (asin, url, kind, detail, attempts) = row?;
        let kind = fetch::FailureKind::parse(&kind).ok_or_else(|| Error::Format {
            path: PathBuf::from("product_images"),
            message: format!("unknown failure kind {kind:?}"),
        })?;
        out.push(fetch::Failure {
            asin,
            url,
            kind,
            detail,
            attempts,
        });
    }
    Ok(out)
}

/// Writes `images/failures.csv`: every failure by asin (asin, kind, detail, attempts, url).
pub fn write_failures(layout: &Layout, failures: &[fetch::Failure]) -> Result<PathBuf> {
    let dir = layout.images_dir();
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let path = dir.join("failures.csv");
    crate::layout::write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["asin", "kind", "detail", "attempts", "url"])?;
        for f in failures {
            out.write_record([
                f.asin.as_str(),
                f.kind.as_str(),
                &f.detail,
                &f.attempts.to_string(),
                &f.url,
            ])?;
        }
        out.flush()
    })?;
    Ok(path)
}

/// What `draw_missing` did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DrawReport {
    /// Products that got an illustration.
    pub drawn: usize,
    /// Products left alone: they already had a picture, or have an `imgUrl` to fetch.
    pub kept: usize,
}

/// Draws an illustration for every product without a cached picture and without an `imgUrl`
/// (`images fetch` is for those); with `force`, for every product, replacing fetched pictures.
pub fn draw_missing(layout: &Layout, c: &mut Connection, force: bool) -> Result<DrawReport> {
    let _lock = layout.lock_writer()?;
    let store = ImageStore::new(layout);
    let todo: Vec<(String, String, String)> = {
        let mut stmt = c.prepare(
            "SELECT p.asin, p.title, coalesce(k.category_name, ''), i.status IS 'ok',
                    coalesce(p.imgUrl, '') != ''
             FROM amazon_products p
             LEFT JOIN amazon_categories k ON k.id = p.category_id
             LEFT JOIN product_images i ON i.asin = p.asin
             ORDER BY p.rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
        let mut todo = Vec::new();
        for row in rows {
            let (asin, title, category, ok, has_url): (String, String, String, bool, bool) = row?;
            // A picture recorded as cached whose file has gone is drawn again.
            let cached = ok && store.has(&asin);
            if force || (!has_url && !cached) {
                todo.push((asin, title, category));
            }
        }
        todo
    };
    let total: i64 = c.query_row("SELECT count(*) FROM amazon_products", [], |r| r.get(0))?;
    let tx = c.transaction()?;
    for (asin, title, category) in &todo {
        let svg = draw::illustration(asin, title, category);
        store.store(asin, "svg", svg.as_bytes())?;
        record_ok(&tx, asin, Source::Drawn, "", svg.len())?;
    }
    tx.commit()?;
    Ok(DrawReport {
        drawn: todo.len(),
        kept: total as usize - todo.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_fills_the_cache_once() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let mut c = crate::catalog::open(&layout.db()).unwrap();
        c.execute_batch(
            "INSERT INTO amazon_categories VALUES (1, 'Headphones');
             INSERT INTO amazon_products (asin, title, imgUrl, category_id) VALUES
                 ('A1', 'Sonivo Headphones, Red', '', 1), ('A2', 'Bluetooth Earbuds', '', 1),
                 ('A3', 'Kettle with a picture', 'https://example.com/k.jpg', 1);",
        )
        .unwrap();
        let first = draw_missing(&layout, &mut c, false).unwrap();
        // A3 has an imgUrl: `images fetch` caches it, drawing leaves it alone.
        assert_eq!(first, DrawReport { drawn: 2, kept: 1 });
        let store = ImageStore::new(&layout);
        let (path, mime) = store.find(&Asin::parse("A1").unwrap()).unwrap();
        assert_eq!(mime, "image/svg+xml");
        assert!(
            std::fs::read_to_string(path)
                .unwrap()
                .contains("Sonivo Headphones, Red")
        );
        assert_eq!(counts(&c).unwrap().cached, 2);
        let again = draw_missing(&layout, &mut c, false).unwrap();
        assert_eq!(again, DrawReport { drawn: 0, kept: 3 });
        // A file removed behind the table's back is drawn again.
        std::fs::remove_file(layout.images_dir().join("A2.svg")).unwrap();
        let healed = draw_missing(&layout, &mut c, false).unwrap();
        assert_eq!(healed, DrawReport { drawn: 1, kept: 2 });
    }
}
