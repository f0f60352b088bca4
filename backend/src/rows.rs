//! `products.rows`: the build's product rows in index order, written with the index and
//! memory-mapped by the server, so enrichment reads a row by its position in the build (one
//! offset, one record) instead of walking SQLite's B-trees for every recalled item.
//!
//! Layout (format [`FORMAT_VERSION`], little-endian): a 64-byte header (magic, version, row
//! count, the catalog revision the rows were read at, where the offsets and the records start),
//! `count + 1` u64 offsets into the record area, then one record per row: its SQLite rowid and
//! its category id (8 bytes each, the keys a request looks up without decoding the row), then
//! `common::Product` in the bincode of `common::wire` with no category name.
//! Row *i* is label *i* of `faiss.index` and line *i* of `asin_list.txt`.
//!
//! Invariant: a record holds `common::Product` itself, so the row store restates none of its
//! fields; `category_name` is the product's last field, which makes a record's product bytes the
//! wire bytes of the product up to its final `None`.

use crate::asin_table::AsinTable;
use crate::error::{Error, Result};
use crate::layout::{Layout, write_atomic};
use common::Product;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bump when the layout or the record changes; older files are then stale and rebuilt by `index`.
pub const FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"RLROWS\n\0";
const HEADER: usize = 64;
/// A record's prefix: the rowid, then the category id.
const PREFIX: usize = 16;

/// What [`write`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct RowsReport {
    pub rows: usize,
    pub bytes: u64,
}

/// Writes `products.rows` for the build in `layout` (its `asin_list.txt` order), reading every
/// product once from the catalog at `revision`. Fails when an asin of the build is no longer in
/// the catalog.
pub fn write(
    layout: &Layout,
    conn: &rusqlite::Connection,
    revision: u64,
    build: u64,
) -> Result<RowsReport> {
    let text =
        std::fs::read_to_string(layout.asin_list()).map_err(Error::io(layout.asin_list()))?;
    let asins = AsinTable::from_lines(text);
    let n = asins.len();
    // Records in scan order; spans[i] is where row i's record sits in `data`.
    let mut data: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = vec![(usize::MAX, 0); n];
    crate::catalog::scan_products(conn, |rowid, mut product| {
        let Some(pos) = asins.position(&product.asin) else {
            return Ok(());
        };
        product.category_name = None;
        let start = data.len();
        data.extend_from_slice(&rowid.to_le_bytes());
        data.extend_from_slice(&product.category_id.to_le_bytes());
        common::wire::encode_product(&product, &mut data).map_err(|e| Error::Format {
            path: layout.rows(),
            message: e.to_string(),
        })?;
        spans[pos as usize] = (start, data.len() - start);
        Ok(())
    })?;
    if let Some(i) = spans.iter().position(|s| s.0 == usize::MAX) {
        return Err(Error::StaleArtifact {
            what: "the asin list",
            path: layout.asin_list(),
            why: format!("{} is no longer in the catalog", asins.get(i)),
            fix: layout.fix("build"),
        });
    }
    let offsets_at = HEADER as u64;
    let data_at = offsets_at + 8 * (n as u64 + 1);
    let mut bytes = 0u64;
    write_atomic(&layout.rows(), |w| {
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[16..24].copy_from_slice(&(n as u64).to_le_bytes());
        header[24..32].copy_from_slice(&revision.to_le_bytes());
        header[32..40].copy_from_slice(&offsets_at.to_le_bytes());
        header[40..48].copy_from_slice(&data_at.to_le_bytes());
        header[48..56].copy_from_slice(&build.to_le_bytes());
        w.write_all(&header)?;
        let mut at = 0u64;
        for &(_, len) in &spans {
            w.write_all(&at.to_le_bytes())?;
            at += len as u64;
        }
        w.write_all(&at.to_le_bytes())?;
        for &(start, len) in &spans {
            w.write_all(&data[start..start + len])?;
        }
        bytes = data_at + at;
        Ok(())
    })?;
    Ok(RowsReport { rows: n, bytes })
}

/// A mapped `products.rows`, shared by every request of one build.
pub struct RowStore {
    map: Arc<memmap2::Mmap>,
    path: PathBuf,
    count: usize,
    revision: u64,
    data_at: usize,
}

impl RowStore {
    /// Maps `path` and checks it against the build: `count` rows, read at catalog `revision`,
    /// written by build `build` (`IndexInfo::build_number`: a file of another build means a
    /// build was interrupted between its renames). A missing, older-format or mismatched file
    /// is an artifact error naming `fix`.
    pub fn open(
        path: &Path,
        count: usize,
        revision: u64,
        build: u64,
        fix: &str,
    ) -> Result<RowStore> {
        let stale = |why: String| Error::StaleArtifact {
            what: "the product rows",
            path: path.to_owned(),
            why,
            fix: fix.to_owned(),
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingArtifact {
                    what: "the product rows",
                    path: path.to_owned(),
                    fix: fix.to_owned(),
                });
            }
            Err(e) => return Err(Error::io(path)(e)),
        };
        // SAFETY: the file is only ever replaced by rename, never written in place, so the
        // mapped pages do not change under us.
        // No MADV_RANDOM: it turns off readahead, so the background prefault of a file that has
        // left the page cache would read it page by page instead of in sequence.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io(path))?;
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(map.get(at..at + 8)?.try_into().ok()?))
        };
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err(stale("not a products.rows file".into()));
        }
        let version = u32::from_le_bytes(map[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(stale(format!("format {version} is not {FORMAT_VERSION}")));
        }
        let (have, at_revision) = (u64_at(16).unwrap_or(0), u64_at(24).unwrap_or(0));
        if have != count as u64 {
            return Err(stale(format!("{have} rows for {count} vectors")));
        }
        if at_revision != revision {
            return Err(stale(format!(
                "read at catalog revision {at_revision}, the embeddings at {revision}"
            )));
        }
        let written_by = u64_at(48).unwrap_or(0);
        if written_by != build {
            return Err(stale(format!(
                "it was written by build {written_by:016x}, but manifest.json names build {build:016x} (a build was interrupted?)"
            )));
        }
        let offsets_at = u64_at(32).unwrap_or(0) as usize;
        let data_at = u64_at(40).unwrap_or(0) as usize;
        let end = u64_at(offsets_at + 8 * count).map(|e| data_at as u64 + e);
        if offsets_at != HEADER
            || data_at != offsets_at + 8 * (count + 1)
            || end != Some(map.len() as u64)
        {
            return Err(stale(
                "its offsets do not match its length (truncated?)".into(),
            ));
        }
        Ok(RowStore {
            map: Arc::new(map),
            path: path.to_owned(),
            count,
            revision,
            data_at,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The catalog revision the rows were read at.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Where row `pos`'s record starts in the record area.
    fn offset(&self, pos: usize) -> usize {
        let at = HEADER + 8 * pos;
        u64::from_le_bytes(self.map[at..at + 8].try_into().expect("8 bytes")) as usize
    }

    /// Row `pos`'s bincode record.
    fn record_bytes(&self, pos: usize) -> Result<&[u8]> {
        let corrupt = |message: String| Error::Format {
            path: self.path.clone(),
            message,
        };
        if pos >= self.count {
            return Err(corrupt(format!("row {pos} of {}", self.count)));
        }
        self.map
            .get(self.data_at + self.offset(pos)..self.data_at + self.offset(pos + 1))
            .ok_or_else(|| corrupt(format!("row {pos} lies outside the file")))
    }

    fn corrupt(&self, pos: usize, e: impl std::fmt::Display) -> Error {
        Error::Format {
            path: self.path.clone(),
            message: format!("row {pos}: {e}"),
        }
    }

    /// The products of rows `positions`, in that order, without category names (read after
    /// [`RowStore::prefetch`]).
    pub fn products(&self, positions: &[u32]) -> Result<Vec<Product>> {
        self.prefetch(positions);
        positions
            .iter()
            .map(|&p| self.product(p as usize))
            .collect()
    }

    /// Asks the CPU for every offset of rows `positions`, then every record, so the cache misses
    /// of a few hundred rows scattered over a large file overlap instead of coming one at a time.
    pub fn prefetch(&self, positions: &[u32]) {
        let base = self.map.as_ptr();
        for &p in positions {
            if (p as usize) < self.count {
                prefetch(base.wrapping_add(HEADER + 8 * p as usize));
            }
        }
        for &p in positions {
            let p = p as usize;
            if p < self.count {
                let (from, to) = (
                    self.data_at + self.offset(p),
                    self.data_at + self.offset(p + 1),
                );
                for line in (from..to.min(self.map.len())).step_by(64) {
                    prefetch(base.wrapping_add(line));
                }
            }
        }
    }

    /// Row `pos`'s product in the bincode of `common::wire`, ending with its `None` category name.
    fn product_bytes(&self, pos: usize) -> Result<&[u8]> {
        let bytes = self.record_bytes(pos)?;
        match bytes.get(PREFIX..) {
            Some(p) if p.last() == Some(&0) => Ok(p),
            _ => Err(self.corrupt(pos, "record ends early")),
        }
    }

    /// Appends row `pos`'s product in `common::wire`'s bincode with the category name
    /// `name(category_id)`: the stored bytes up to their final `None`, then the name.
    pub fn encode_product<'n>(
        &self,
        pos: usize,
        name: impl FnOnce(i64) -> Option<&'n str>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let bytes = self.product_bytes(pos)?;
        let category_id = self.prefix(pos, 1)?;
        out.extend_from_slice(&bytes[..bytes.len() - 1]);
        common::wire::encode_value(&name(category_id), out).map_err(|e| self.corrupt(pos, e))
    }

    /// Appends row `pos`'s product in JSON, with the category name `name(category_id)`.
    pub fn write_product_json<'n>(
        &self,
        pos: usize,
        name: impl FnOnce(i64) -> Option<&'n str>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let bytes = self.product_bytes(pos)?;
        let mut product =
            common::wire::decode_product_ref(bytes).map_err(|e| self.corrupt(pos, e))?;
        product.category_name = name(product.category_id).map(common::Text::from);
        crate::answer_json::product(out, &product).map_err(|e| self.corrupt(pos, e))
    }

    /// Word `i` of row `pos`'s prefix (0: the rowid, 1: the category id).
    fn prefix(&self, pos: usize, i: usize) -> Result<i64> {
        let bytes = self.record_bytes(pos)?;
        let raw = bytes
            .get(8 * i..8 * i + 8)
            .ok_or_else(|| self.corrupt(pos, "record ends early"))?;
        Ok(i64::from_le_bytes(raw.try_into().expect("8 bytes")))
    }

    /// The SQLite rowid of row `pos`.
    pub fn rowid(&self, pos: usize) -> Result<i64> {
        self.prefix(pos, 0)
    }

    /// The category id of row `pos`.
    pub fn category_id(&self, pos: usize) -> Result<i64> {
        self.prefix(pos, 1)
    }

    /// Whether row `pos` passes `filters`, read without copying the product's strings.
    pub fn accepts(&self, pos: usize, filters: &common::Filters) -> Result<bool> {
        let bytes = self.product_bytes(pos)?;
        let p = common::wire::decode_product_ref(bytes).map_err(|e| self.corrupt(pos, e))?;
        Ok(filters.accepts_values(p.category_id, p.price, p.stars))
    }

    /// The product of row `pos`, without its category name.
    pub fn product(&self, pos: usize) -> Result<Product> {
        let bytes = self.product_bytes(pos)?;
        common::wire::decode_product(bytes).map_err(|e| self.corrupt(pos, e))
    }

    /// Reads the whole file into the page tables on a background thread
    /// (`MADV_POPULATE_READ`, in chunks: [`crate::util::populate_read`]), so the first requests
    /// do not fault page by page.
    pub fn prefault_in_background(&self) {
        #[cfg(target_os = "linux")]
        {
            let map = Arc::clone(&self.map);
            let _ = std::thread::Builder::new()
                .name("prefault-rows".into())
                .spawn(move || {
                    let t = std::time::Instant::now();
                    match crate::util::populate_read(map.as_ptr(), map.len()) {
                        Ok(()) => tracing::info!(
                            ms = crate::util::ms_since(t),
                            bytes = map.len(),
                            "product rows mapped in"
                        ),
                        Err(error) => tracing::debug!(%error, "prefaulting the rows stopped"),
                    }
                });
        }
    }
}

/// A hint to load the cache line at `at` (no effect on correctness; a no-op off x86-64).
#[inline]
fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and never dereferences in the language's sense; callers
    // pass addresses inside the mapping.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(dir: &Path) -> rusqlite::Connection {
        let c = crate::catalog::open(&dir.join("recommend.db")).expect("open catalog");
        c.execute_batch(
            "INSERT INTO amazon_products VALUES ('B2', 'Skillet \"cast\" iron', 'i2', 'u2', 4.8, 900, 29.99, 0, 9, 1, 2000);
             INSERT INTO amazon_products VALUES ('B1', 'Mug', NULL, '', 4.5, 10, 12.5, 0, 7, 0, 50);",
        )
        .expect("rows");
        c
    }

    #[test]
    fn rows_come_back_in_build_order_and_stale_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let c = catalog(dir.path());
        // The build's order is not the table's: row 0 is B1.
        std::fs::write(layout.asin_list(), "B1\nB2\n").expect("asin list");
        let report = write(&layout, &c, 5, 0).expect("write");
        assert_eq!(report.rows, 2);
        let fix = layout.fix("index");
        let store = RowStore::open(&layout.rows(), 2, 5, 0, &fix).expect("open");
        let p0 = store.product(0).expect("row 0");
        assert_eq!(
            (p0.asin.as_str(), p0.title.as_str(), p0.img_url.as_str()),
            ("B1", "Mug", "")
        );
        let p1 = store.product(1).expect("row 1");
        assert_eq!(p1.title, "Skillet \"cast\" iron");
        assert_eq!(
            (
                p1.price,
                p1.reviews,
                p1.is_best_seller,
                p1.bought_in_last_month
            ),
            (29.99, 900, true, 2000)
        );
        assert_eq!(store.rowid(1).expect("rowid"), 1);
        // Many rows at once come back in the order asked, repeats included.
        let titles: Vec<String> = store
            .products(&[1, 0, 1])
            .expect("rows")
            .into_iter()
            .map(|p| p.title)
            .collect();
        assert_eq!(
            titles,
            ["Skillet \"cast\" iron", "Mug", "Skillet \"cast\" iron"]
        );
        assert!(store.products(&[0, 2]).is_err());
        assert!(store.product(2).is_err());

        let err = RowStore::open(&layout.rows(), 2, 6, 0, &fix)
            .err()
            .expect("other revision");
        assert!(err.to_string().contains("revision 5"), "{err}");
        let err = RowStore::open(&layout.rows(), 3, 5, 0, &fix)
            .err()
            .expect("other count");
        assert!(err.to_string().contains("2 rows for 3 vectors"), "{err}");
        let len = std::fs::metadata(layout.rows()).expect("meta").len();
        let bytes = std::fs::read(layout.rows()).expect("read");
        std::fs::write(layout.rows(), &bytes[..len as usize - 3]).expect("truncate");
        let err = RowStore::open(&layout.rows(), 2, 5, 0, &fix)
            .err()
            .expect("truncated");
        assert!(err.to_string().contains("truncated"), "{err}");

        std::fs::write(layout.asin_list(), "B1\nB3\n").expect("asin list");
        let err = write(&layout, &c, 5, 0).expect_err("unknown asin");
        assert!(
            err.to_string().contains("B3 is no longer in the catalog"),
            "{err}"
        );
    }

    #[test]
    fn encoded_products_are_the_wire_bincode_and_json_of_the_decoded_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let c = catalog(dir.path());
        // Integers of every varint width (1, 2, 4 and 8 bytes), negative ones, non-ASCII text.
        c.execute_batch(
            "INSERT INTO amazon_products VALUES ('B3', 'Zoë ☕ mug', 'i3', 'u3', 3.0, 5000000000, 1e9, 12.0, 300, 1, -5);
             INSERT INTO amazon_products VALUES ('B4', '', '', '', 0, 70000, 0, 0, -2, 0, 0);",
        )
        .expect("rows");
        std::fs::write(layout.asin_list(), "B1\nB2\nB3\nB4\n").expect("asin list");
        write(&layout, &c, 5, 0).expect("write");
        let store = RowStore::open(&layout.rows(), 4, 5, 0, &layout.fix("index")).expect("open");
        for pos in 0..4 {
            let bytes = store.record_bytes(pos).expect("record");
            assert!(
                common::wire::decode_product(&bytes[PREFIX..bytes.len() - 1]).is_err(),
                "short record"
            );
            for name in [None, Some("Kitchen & Dining")] {
                let mut want = store.product(pos).expect("row");
                want.category_name = name.map(str::to_owned);
                let mut want_bytes = Vec::new();
                common::wire::encode_product(&want, &mut want_bytes).expect("encode");
                let mut got = vec![7u8];
                store
                    .encode_product(
                        pos,
                        |id| {
                            assert_eq!(id, want.category_id);
                            name
                        },
                        &mut got,
                    )
                    .expect("encode_product");
                assert_eq!(got[0], 7, "appends");
                assert_eq!(&got[1..], &want_bytes[..], "row {pos}, name {name:?}");
                let mut json = b"[".to_vec();
                store
                    .write_product_json(pos, |_| name, &mut json)
                    .expect("write_product_json");
                assert_eq!(
                    String::from_utf8(json).expect("UTF-8"),
                    format!("[{}", serde_json::to_string(&want).expect("json")),
                    "row {pos}, name {name:?}"
                );
            }
        }
        assert!(store.encode_product(4, |_| None, &mut Vec::new()).is_err());
        assert!(
            store
                .write_product_json(4, |_| None, &mut Vec::new())
                .is_err()
        );
        assert_eq!(store.category_id(2).expect("category"), 300);

        // A stored title that is not UTF-8 is a corrupt row, not text passed on.
        let mut bytes = std::fs::read(layout.rows()).expect("read");
        let at = bytes
            .windows(3)
            .position(|w| w == b"Mug")
            .expect("row 0's title");
        bytes[at] = 0xff;
        std::fs::write(layout.rows(), &bytes).expect("write");
        let store = RowStore::open(&layout.rows(), 4, 5, 0, &layout.fix("index")).expect("open");
        let err = store
            .write_product_json(0, |_| None, &mut Vec::new())
            .expect_err("not UTF-8");
        assert!(err.to_string().contains("row 0"), "{err}");
        assert!(store.product(0).is_err());
    }
}
