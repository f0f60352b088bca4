//! Streaming import of products from the seed's CSV or SQLite file, with every bad row rejected
//! by line and reason, and of the category names.

use super::products::{EXISTING, INSERT, UPDATE, product_from_row, product_values};
use super::{bump_counter, bump_revision, catalog_revision, compute_popularity, open};
use crate::error::{Error, Result};
use crate::ids::Asin;
use common::Product;
use rusqlite::{Connection, OptionalExtension, params};
use std::io::Write;
use std::path::Path;

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reject {
    /// 1-based line in the CSV (row number for an SQLite source).
    pub line: u64,
    pub reason: String,
}

/// Which source column fed a product field (`None`: the file has none; the field takes its
/// default).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnSource {
    pub field: &'static str,
    pub source: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// For a CSV: the source column of each field.
    pub columns: Vec<ColumnSource>,
    /// Things worth knowing that did not stop the import (a missing optional column).
    pub warnings: Vec<String>,
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

/// Validates one record given as the seed's 11 fields in [`Product::COLUMNS`] order.
pub fn parse_product(f: [&str; 11]) -> std::result::Result<Product, String> {
    let asin = f[0].trim();
    if asin.is_empty() {
        return Err("missing asin".into());
    }
    Asin::parse(asin).map_err(|e| format!("bad asin {asin:?}: {e}"))?;
    if f[1].trim().is_empty() {
        return Err(format!("missing title for asin {asin}"));
    }
    if let Some(i) = f.iter().position(|v| v.contains('\0')) {
        return Err(format!("a NUL byte in column {}", Product::COLUMNS[i]));
    }
    let product = Product {
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
        category_name: None,
    };
    for (column, v) in [
        ("price", product.price),
        ("listPrice", product.list_price),
        ("reviews", product.reviews as f64),
        ("boughtInLastMonth", product.bought_in_last_month as f64),
    ] {
        if v < 0.0 {
            return Err(format!("negative {column}: {v}"));
        }
    }
    if !(0.0..=5.0).contains(&product.stars) {
        return Err(format!("stars {} outside 0 to 5", product.stars));
    }
    Ok(product)
}

/// Writes rows into the catalog: insert new asins, update changed ones, reject duplicates within
/// one import. Commits every `BATCH` rows so memory and the WAL stay flat.
struct Upserter<'c> {
    c: &'c Connection,
    /// Fields the source has no column for: an update keeps the stored value.
    absent: Vec<&'static str>,
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
            absent: Vec::new(),
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

    fn row(&mut self, line: u64, mut row: Product) -> Result<()> {
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
        let existing: Option<Product> = c
            .prepare_cached(&EXISTING)?
            .query_row([&row.asin], product_from_row)
            .optional()?;
        if let Some(old) = existing.as_ref().filter(|_| !self.absent.is_empty()) {
            row = keep_fields(row, old, &self.absent)?;
        }
        let values = product_values(&row);
        match existing {
            None => {
                c.prepare_cached(&INSERT)?.execute(&values[..])?;
                self.report.loaded += 1;
            }
            Some(old) if old == row => self.report.unchanged += 1,
            Some(_) => {
                c.prepare_cached(&UPDATE)?.execute(&values[..])?;
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

/// `source=target` pairs naming a CSV column for a product field (`target` one of
/// [`Product::COLUMNS`]), tried before the common spellings.
pub type ColumnMap = Vec<(String, String)>;

/// The spellings each field is recognised by, compared after [`normalise`]: the seed's name
/// first, then the common ones of other exports of the same data.
const SPELLINGS: [&[&str]; 11] = [
    &["asin", "productid", "id", "sku"],
    &["title", "name", "productname", "producttitle"],
    &[
        "imgurl",
        "imageurl",
        "image",
        "img",
        "imagelink",
        "thumbnail",
    ],
    &["producturl", "url", "link", "productlink"],
    &["stars", "rating", "averagerating", "starrating"],
    &["reviews", "reviewcount", "numreviews", "ratingscount"],
    &["price", "currentprice", "saleprice"],
    &["listprice", "originalprice", "msrp"],
    &["categoryid", "catid"],
    &["isbestseller", "bestseller", "bestselling"],
    &[
        "boughtinlastmonth",
        "boughtlastmonth",
        "monthlysales",
        "bought",
    ],
];

/// Fields a CSV must have; any other missing column is a warning and takes its default.
pub(super) const REQUIRED: [&str; 2] = ["asin", "title"];

/// A header name without case, spaces, `_`, `-` or a byte-order mark.
fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Each field's column in `names` (`None`: absent), from `map` first, then the spellings.
pub(super) fn match_columns(
    names: &[String],
    map: &ColumnMap,
) -> std::result::Result<[Option<usize>; 11], String> {
    let mut order = [None; 11];
    for (source, target) in map {
        let field = Product::COLUMNS
            .iter()
            .position(|c| c == target)
            .ok_or_else(|| {
                format!(
                    "--map {source}={target}: {target} is not one of {}",
                    Product::COLUMNS.join(", ")
                )
            })?;
        let col = names
            .iter()
            .position(|n| n.trim() == source.trim())
            .ok_or_else(|| {
                format!("--map {source}={target}: the header has no column {source:?}")
            })?;
        order[field] = Some(col);
    }
    let normalised: Vec<String> = names.iter().map(|n| normalise(n)).collect();
    for (field, spellings) in SPELLINGS.iter().enumerate() {
        if order[field].is_some() {
            continue;
        }
        order[field] = spellings.iter().find_map(|s| {
            normalised
                .iter()
                .enumerate()
                .position(|(i, n)| n == s && !order.contains(&Some(i)))
        });
    }
    Ok(order)
}

/// `row` with the `fields` (wire names) of `old`, through the record's one serde definition.
fn keep_fields(row: Product, old: &Product, fields: &[&'static str]) -> Result<Product> {
    let bad = |e: serde_json::Error| Error::Format {
        path: "import".into(),
        message: e.to_string(),
    };
    let mut value = serde_json::to_value(&row).map_err(bad)?;
    let old = serde_json::to_value(old).map_err(bad)?;
    for f in fields {
        value[*f] = old[*f].clone();
    }
    serde_json::from_value(value).map_err(bad)
}

/// A CSV's column names, trimmed, without a byte-order mark.
pub(super) fn header_names<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> Result<Vec<String>> {
    Ok(rdr
        .byte_headers()?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_owned()
        })
        .collect())
}

/// The fields a CSV has no column for (after `map` and the common spellings).
fn absent_fields(path: &Path, map: &ColumnMap) -> Result<Vec<&'static str>> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let names = header_names(&mut rdr)?;
    // A header that does not match is reported by the import itself.
    let Ok(order) = match_columns(&names, map) else {
        return Ok(Vec::new());
    };
    Ok(Product::COLUMNS
        .iter()
        .zip(order)
        .filter(|(_, o)| o.is_none())
        .map(|(c, _)| *c)
        .collect())
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
    import_mapped(
        db_path,
        source,
        &ColumnMap::new(),
        categories_csv,
        rejects_path,
        progress,
    )
}

/// [`import`], with `map` naming CSV columns for product fields.
pub fn import_mapped(
    db_path: &Path,
    source: Source<'_>,
    map: &ColumnMap,
    categories_csv: Option<&Path>,
    rejects_path: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport> {
    let existed = db_path.exists();
    let result = import_into(db_path, source, map, categories_csv, rejects_path, progress)
        .and_then(|r| {
            if existed || r.loaded > 0 {
                return Ok(r);
            }
            Err(Error::Format {
                path: rejects_path.to_owned(),
                message: format!(
                    "no product was loaded ({} rejected; the first: {})",
                    r.rejected,
                    r.rejects.first().map_or("none", |x| x.reason.as_str())
                ),
            })
        });
    if result.is_err() && !existed {
        // No half-made catalog for a later command to mistake for one.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db_path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn import_into(
    db_path: &Path,
    source: Source<'_>,
    map: &ColumnMap,
    categories_csv: Option<&Path>,
    rejects_path: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport> {
    let started = std::time::Instant::now();
    let c = open(db_path)?;
    let mut up = Upserter::new(&c, rejects_path)?;
    if let Source::Csv(path) = source {
        up.absent = absent_fields(path, map)?;
    }
    let mut sink = |line: u64, parsed: std::result::Result<Product, String>| -> Result<()> {
        progress.inc(1);
        match parsed {
            Ok(row) => up.row(line, row),
            Err(reason) => up.reject(line, reason),
        }
    };
    let read = match source {
        Source::Csv(path) => read_csv(path, map, &mut sink),
        Source::Sqlite(path) => read_sqlite(path, &mut sink).map(|()| (Vec::new(), Vec::new())),
    };
    let (columns, warnings) = match read {
        Ok(r) => r,
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK;");
            return Err(e);
        }
    };
    let mut report = up.finish()?;
    report.columns = columns;
    report.warnings = warnings;
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

/// Reads the CSV's records into `sink`; returns which column fed each field, and warnings.
pub(super) fn read_csv(
    path: &Path,
    map: &ColumnMap,
    sink: &mut dyn FnMut(u64, std::result::Result<Product, String>) -> Result<()>,
) -> Result<(Vec<ColumnSource>, Vec<String>)> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let names = header_names(&mut rdr)?;
    let bad_header = |message: String| Error::Format {
        path: path.to_owned(),
        message,
    };
    let order = match_columns(&names, map).map_err(bad_header)?;
    let mut warnings = Vec::new();
    for (i, col) in Product::COLUMNS.iter().enumerate() {
        if order[i].is_none() {
            if REQUIRED.contains(col) {
                return Err(bad_header(format!(
                    "the header has no column for {col} (found {}); name it with --map SOURCE={col}",
                    names.join(", ")
                )));
            }
            warnings.push(format!(
                "no column for {col}: every product gets its default"
            ));
        }
    }
    let columns: Vec<ColumnSource> = Product::COLUMNS
        .iter()
        .zip(order)
        .map(|(field, o)| ColumnSource {
            field,
            source: o.map(|i| names[i].clone()),
        })
        .collect();
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
        let next_line = rdr.position().line();
        if next_line > line + 1 && rec.iter().any(|f| f.contains(&b'\n')) {
            sink(
                line,
                Err(format!(
                    "a quoted field runs over lines {line} to {} (an unterminated quote?)",
                    next_line - 1
                )),
            )?;
            continue;
        }
        if rec.len() != width {
            sink(
                line,
                Err(format!("expected {width} fields, found {}", rec.len())),
            )?;
            continue;
        }
        let mut fields = [""; 11];
        let mut bad = None;
        for (i, j) in order.iter().enumerate() {
            let Some(j) = *j else { continue };
            match std::str::from_utf8(&rec[j]) {
                Ok(s) => fields[i] = s,
                Err(e) => {
                    bad = Some(format!(
                        "invalid UTF-8 in column {} at byte {}",
                        Product::COLUMNS[i],
                        e.valid_up_to()
                    ));
                    break;
                }
            }
        }
        let parsed = match bad {
            Some(reason) => Err(reason),
            None => parse_product(fields),
        };
        sink(line, parsed)?;
    }
    Ok((columns, warnings))
}

fn read_sqlite(
    path: &Path,
    sink: &mut dyn FnMut(u64, std::result::Result<Product, String>) -> Result<()>,
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
        Product::COLUMNS.join(", ")
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
            parse_product(fields)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_parse_reports_the_reason() {
        let good = [
            "B1", "A title", "", "", "4.5", "12", "9.99", "0.0", "3", "True", "100",
        ];
        let row = parse_product(good).unwrap();
        assert!(row.is_best_seller);
        let mut bad = good;
        bad[6] = "nine";
        assert_eq!(
            parse_product(bad).unwrap_err(),
            "bad number in column price: \"nine\""
        );
        let mut bad = good;
        bad[0] = " ";
        assert_eq!(parse_product(bad).unwrap_err(), "missing asin");
        let mut empty = good;
        empty[4] = "";
        assert_eq!(parse_product(empty).unwrap().stars, 0.0);
    }
}
