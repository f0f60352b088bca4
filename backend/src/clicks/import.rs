//! `recall-lab clicks import`: a click log (CSV or JSON Lines with a user, an asin and a
//! timestamp per record) streamed into `user_clicks` in large transactions. Every bad line is
//! reported by its number; a click already stored (same user, asin and time) is skipped, so a
//! re-run adds nothing.

use crate::error::{Error, Result};
use crate::ids::{Asin, UserId};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

/// Lines per transaction: large enough that commits cost little, small enough that a failure
/// loses little and memory stays flat.
const BATCH: usize = 100_000;
/// Bad lines kept in the report (all are counted).
const MAX_REPORTED: usize = 1_000;

/// How the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickFormat {
    /// With a header naming the user, asin and timestamp columns.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl ClickFormat {
    /// From the file name: `.jsonl`, `.ndjson` and `.json` are JSON Lines, anything else CSV.
    pub fn of(path: &Path) -> ClickFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson" | "json") => ClickFormat::JsonLines,
            _ => ClickFormat::Csv,
        }
    }
}

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClickImportReport {
    /// Records read (header excluded).
    pub records: u64,
    pub added: u64,
    /// Records already stored (a re-run).
    pub already_stored: u64,
    pub rejected: u64,
    /// The first bad lines.
    pub bad_lines: Vec<BadLine>,
    /// Users seen for the first time.
    pub new_users: u64,
    pub seconds: f64,
    pub lines_per_second: f64,
}

/// The names a column is recognised by (compared without case, spaces, `_` and `-`).
const USER: &[&str] = &["user", "userid", "user_id", "uid", "customer", "customerid"];
const ASIN: &[&str] = &["asin", "item", "itemid", "product", "productid", "sku"];
const TIME: &[&str] = &[
    "timestamp",
    "clicktime",
    "click_time",
    "time",
    "ts",
    "datetime",
    "date",
];

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| *n == normalise(w)))
}

/// A checked record: who clicked what, when (Unix ms).
type Click = (UserId, Asin, i64);

fn reject(report: &mut ClickImportReport, line: u64, reason: String) {
    report.rejected += 1;
    if report.bad_lines.len() < MAX_REPORTED {
        report.bad_lines.push(BadLine { line, reason });
    }
}

/// One record before checking: the three fields as text.
struct Raw {
    user: String,
    asin: String,
    time: String,
}

/// A timestamp as Unix milliseconds: ISO 8601 / RFC 3339 (`2024-05-01T12:00:00Z`, with an
/// offset, or without one as UTC), or Unix seconds (digits, optionally with a fraction).
pub fn parse_time(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        // Up to the year 3000: a larger number is milliseconds or a mistake, not seconds.
        if !(0.0..=32_503_680_000.0).contains(&secs) {
            return Err(format!("timestamp {s} is not a Unix time in seconds"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    use time::format_description::well_known::Iso8601;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    if let Ok(t) = time::PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
        return Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64);
    }
    Err(format!(
        "timestamp {s:?} is neither ISO 8601 nor Unix seconds"
    ))
}

/// Imports the click log at `path` into the catalog's `user_clicks`.
pub fn import(
    conn: &mut Connection,
    path: &Path,
    format: ClickFormat,
    progress: &indicatif::ProgressBar,
) -> Result<ClickImportReport> {
    let started = Instant::now();
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let known: HashSet<String> = {
        let mut st = conn.prepare("SELECT asin FROM amazon_products")?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut users: HashSet<String> = {
        let mut st = conn.prepare("SELECT id FROM users")?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut report = ClickImportReport::default();
    let mut batch: Vec<Click> = Vec::with_capacity(BATCH);
    let check = |report: &mut ClickImportReport, batch: &mut Vec<Click>, line: u64, raw: Raw| {
        report.records += 1;
        let user = match UserId::parse(&raw.user) {
            Ok(u) => u,
            Err(e) => return reject(report, line, e.to_string()),
        };
        let asin = match Asin::parse(&raw.asin) {
            Ok(a) if known.contains(a.as_str()) => a,
            Ok(a) => return reject(report, line, format!("unknown product {a}")),
            Err(e) => return reject(report, line, e.to_string()),
        };
        match parse_time(&raw.time) {
            Ok(t) => batch.push((user, asin, t)),
            Err(e) => reject(report, line, e),
        }
    };
    let mut flush = |conn: &mut Connection,
                     batch: &mut Vec<Click>,
                     report: &mut ClickImportReport|
     -> Result<()> {
        let tx = conn.transaction()?;
        {
            let mut click = tx.prepare_cached(
                "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut user = tx.prepare_cached(
                "INSERT INTO users(id, name, created_at) VALUES (?1, ?1, ?2) ON CONFLICT(id) DO NOTHING",
            )?;
            for (u, a, t) in batch.drain(..) {
                if !users.contains(u.as_str()) {
                    user.execute(params![u.as_str(), t])?;
                    users.insert(u.as_str().to_owned());
                    report.new_users += 1;
                }
                match click.execute(params![u.as_str(), a.as_str(), t])? {
                    0 => report.already_stored += 1,
                    _ => report.added += 1,
                }
            }
        }
        tx.commit()?;
        Ok(())
    };
    match format {
        ClickFormat::Csv => {
            let mut csv = csv::ReaderBuilder::new()
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(reader);
            let names: Vec<String> = csv.headers()?.iter().map(normalise).collect();
            let (Some(u), Some(a), Some(t)) = (
                column(&names, USER),
                column(&names, ASIN),
                column(&names, TIME),
            ) else {
                return Err(Error::param(
                    "header",
                    format!(
                        "the header needs a user, an asin and a timestamp column (e.g. user_id,asin,timestamp); found {:?}",
                        csv.headers()?.iter().collect::<Vec<_>>()
                    ),
                ));
            };
            let mut record = csv::StringRecord::new();
            loop {
                let line = csv.position().line();
                match csv.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
                        if record.len() <= u.max(a).max(t) {
                            report.records += 1;
                            reject(
                                &mut report,
                                line,
                                format!("{} fields, the header has {}", record.len(), names.len()),
                            );
                        } else {
                            check(
                                &mut report,
                                &mut batch,
                                line,
                                Raw {
                                    user: field(u),
                                    asin: field(a),
                                    time: field(t),
                                },
                            );
                        }
                    }
                    Err(e) => {
                        report.records += 1;
                        reject(&mut report, line, e.to_string());
                    }
                }
                if batch.len() >= BATCH {
                    flush(conn, &mut batch, &mut report)?;
                    progress.set_position(report.records);
                }
            }
        }
        ClickFormat::JsonLines => {
            #[derive(serde::Deserialize)]
            struct Line {
                #[serde(alias = "user_id", alias = "userId", alias = "uid")]
                user: serde_json::Value,
                #[serde(alias = "item", alias = "item_id", alias = "product", alias = "sku")]
                asin: String,
                #[serde(alias = "click_time", alias = "time", alias = "ts")]
                timestamp: serde_json::Value,
            }
            let text = |v: serde_json::Value| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            for (i, line) in reader.lines().enumerate() {
                let n = i as u64 + 1;
                let line = line.map_err(Error::io(path))?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Line>(&line) {
                    Ok(l) => check(
                        &mut report,
                        &mut batch,
                        n,
                        Raw {
                            user: text(l.user),
                            asin: l.asin,
                            time: text(l.timestamp),
                        },
                    ),
                    Err(e) => {
                        report.records += 1;
                        reject(&mut report, n, format!("not a click record: {e}"));
                    }
                }
                if batch.len() >= BATCH {
                    flush(conn, &mut batch, &mut report)?;
                    progress.set_position(report.records);
                }
            }
        }
    }
    flush(conn, &mut batch, &mut report)?;
    report.seconds = started.elapsed().as_secs_f64();
    report.lines_per_second = report.records as f64 / report.seconds.max(1e-9);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_iso_8601_and_unix_seconds() {
        assert_eq!(parse_time("1714564800"), Ok(1_714_564_800_000));
        assert_eq!(parse_time("1714564800.25"), Ok(1_714_564_800_250));
        assert_eq!(parse_time("2024-05-01T12:00:00Z"), Ok(1_714_564_800_000));
        assert_eq!(
            parse_time("2024-05-01T14:00:00+02:00"),
            Ok(1_714_564_800_000)
        );
        assert_eq!(parse_time("2024-05-01T12:00:00"), Ok(1_714_564_800_000));
        for bad in ["", "yesterday", "-5", "2024-13-01T00:00:00Z", "NaN"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn columns_are_recognised_by_their_common_spellings() {
        let names: Vec<String> = ["User ID", "Product-ID", "Click Time"]
            .iter()
            .map(|n| normalise(n))
            .collect();
        assert_eq!(column(&names, USER), Some(0));
        assert_eq!(column(&names, ASIN), Some(1));
        assert_eq!(column(&names, TIME), Some(2));
    }
}
