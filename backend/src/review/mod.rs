//! The review workbench's store: scenarios (a click history, configurations A and B, notes,
//! expectations, a baseline answer) and reviewers' judgments, in SQLite side tables
//! (`review_scenarios`, `review_judgments`), with their export and import. `check.rs` holds a
//! scenario's expectations to the current build; `report.rs` writes the review report.

mod check;
mod report;

pub use check::check;
pub use report::{judgments_csv, report};

use crate::error::{Error, Result};
use crate::ids::Asin;
use crate::util::now_rfc3339;
use common::{
    EXPORT_VERSION, Expectation, ImportSummary, Judgment, NewJudgment, Scenario, ScenarioBody,
    ScenarioExport,
};
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

/// Longest scenario name, reviewer name and notes.
const MAX_NAME: usize = 200;
const MAX_REVIEWER: usize = 100;
const MAX_NOTES: usize = 20_000;
/// Most clicks and expectations a scenario holds.
const MAX_CLICKS: usize = 100;
const MAX_EXPECTATIONS: usize = 100;

/// Checks a scenario as a client wrote it: a name, known-shaped asins, valid configurations,
/// expectations whose numbers make sense. (Whether the asins exist is the caller's check:
/// `Engine::check_known`.)
pub fn validate(body: &ScenarioBody) -> Result<()> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::param(
            "name",
            format!("give the scenario a name of 1 to {MAX_NAME} characters"),
        ));
    }
    if body.clicks.len() > MAX_CLICKS {
        return Err(Error::param(
            "clicks",
            format!("at most {MAX_CLICKS} clicks, got {}", body.clicks.len()),
        ));
    }
    for a in &body.clicks {
        Asin::parse(a)?;
    }
    body.a.validate()?;
    if let Some(b) = &body.b {
        b.validate()?;
    }
    if body.notes.len() > MAX_NOTES {
        return Err(Error::param(
            "notes",
            format!("at most {MAX_NOTES} bytes of notes"),
        ));
    }
    if body.expectations.len() > MAX_EXPECTATIONS {
        return Err(Error::param(
            "expectations",
            format!("at most {MAX_EXPECTATIONS} expectations"),
        ));
    }
    for e in &body.expectations {
        let bad = |m: String| {
            Err(Error::param(
                "expectations",
                format!("{}: {m}", e.describe()),
            ))
        };
        if !(1..=common::MAX_TOPN).contains(&e.k()) {
            return bad(format!("k must be 1 to {}", common::MAX_TOPN));
        }
        match e {
            Expectation::InTopK { asin, .. } => {
                Asin::parse(asin)?;
            }
            Expectation::ChannelAtLeast { channel, n, k } => {
                if !crate::recall::channels::REGISTRY
                    .iter()
                    .any(|c| c.name() == channel)
                {
                    return bad(format!("unknown channel {channel:?}"));
                }
                if *n == 0 || n > k {
                    return bad("n must be 1 to k".into());
                }
            }
            Expectation::PrecisionAtLeast { min, .. }
            | Expectation::BaselineOverlapAtLeast { min, .. } => {
                if !(0.0..=1.0).contains(min) {
                    return bad("min must be 0 to 1".into());
                }
            }
            Expectation::NoCategoryInTopK { .. } => {}
        }
    }
    if let Some(base) = &body.baseline {
        for a in base {
            Asin::parse(a)?;
        }
    }
    Ok(())
}

fn check_reviewer(reviewer: &str) -> Result<&str> {
    let r = reviewer.trim();
    if r.is_empty() || r.chars().count() > MAX_REVIEWER {
        return Err(Error::param(
            "reviewer",
            format!("give a reviewer name of 1 to {MAX_REVIEWER} characters"),
        ));
    }
    Ok(r)
}

/// A scenario id from outside (an import): 1 to 32 ASCII letters, digits, `-` or `_`.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::param(
            "scenarios",
            format!("{id:?} is not a scenario id (1 to 32 letters, digits, - or _)"),
        ))
    }
}

/// A new scenario id: 10 lowercase letters and digits (short enough for a link, random enough
/// that two teams' exports do not collide).
fn new_id() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn from_row(id: String, doc: String, created_at: String, updated_at: String) -> Result<Scenario> {
    let body = serde_json::from_str(&doc).map_err(|e| Error::Format {
        path: "review_scenarios".into(),
        message: format!("scenario {id}: {e}"),
    })?;
    Ok(Scenario {
        id,
        body,
        created_at,
        updated_at,
    })
}

fn to_doc(body: &ScenarioBody) -> String {
    serde_json::to_string(body).expect("a scenario serialises")
}

/// Every scenario, by name.
pub fn list(c: &Connection) -> Result<Vec<Scenario>> {
    let mut st = c.prepare_cached(
        "SELECT id, doc, created_at, updated_at FROM review_scenarios ORDER BY lower(json_extract(doc, '$.name')), id",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(i, d, c, u)| from_row(i, d, c, u))
        .collect()
}

pub fn get(c: &Connection, id: &str) -> Result<Scenario> {
    let row = c
        .query_row(
            "SELECT id, doc, created_at, updated_at FROM review_scenarios WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match row {
        Some((i, d, c, u)) => from_row(i, d, c, u),
        None => Err(Error::UnknownScenario(id.to_owned())),
    }
}

pub fn create(c: &Connection, mut body: ScenarioBody) -> Result<Scenario> {
    validate(&body)?;
    body.name = body.name.trim().to_owned();
    let now = now_rfc3339();
    let id = new_id();
    c.execute(
        "INSERT INTO review_scenarios (id, doc, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![id, to_doc(&body), now],
    )?;
    Ok(Scenario {
        id,
        body,
        created_at: now.clone(),
        updated_at: now,
    })
}

pub fn update(c: &Connection, id: &str, mut body: ScenarioBody) -> Result<Scenario> {
    validate(&body)?;
    body.name = body.name.trim().to_owned();
    let now = now_rfc3339();
    let n = c.execute(
        "UPDATE review_scenarios SET doc = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, to_doc(&body), now],
    )?;
    if n == 0 {
        return Err(Error::UnknownScenario(id.to_owned()));
    }
    get(c, id)
}

/// Deletes a scenario and its judgments.
pub fn delete(c: &mut Connection, id: &str) -> Result<()> {
    let tx = c.transaction()?;
    tx.execute("DELETE FROM review_judgments WHERE scenario = ?1", [id])?;
    let n = tx.execute("DELETE FROM review_scenarios WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(Error::UnknownScenario(id.to_owned()));
    }
    tx.commit()?;
    Ok(())
}

fn judgment(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_judgment(
    (scenario, asin, reviewer, grade, judged_at): (String, String, String, String, String),
) -> Result<Judgment> {
    let grade = grade.parse().map_err(|_| Error::Format {
        path: "review_judgments".into(),
        message: format!("grade {grade:?} of {asin} in scenario {scenario}"),
    })?;
    Ok(Judgment {
        scenario,
        asin,
        reviewer,
        grade,
        judged_at,
    })
}

/// A scenario's judgments, oldest first.
pub fn judgments(c: &Connection, id: &str) -> Result<Vec<Judgment>> {
    get(c, id)?;
    let mut st = c.prepare_cached(
        "SELECT scenario, asin, reviewer, grade, judged_at FROM review_judgments WHERE scenario = ?1 ORDER BY judged_at, asin, reviewer",
    )?;
    let rows = st
        .query_map([id], judgment)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(to_judgment).collect()
}

/// Records a reviewer's grade of `asin` in scenario `id`, replacing their earlier one.
pub fn judge(c: &Connection, id: &str, asin: &str, j: &NewJudgment) -> Result<Judgment> {
    get(c, id)?;
    let asin = Asin::parse(asin)?.into_string();
    let reviewer = check_reviewer(&j.reviewer)?.to_owned();
    let now = now_rfc3339();
    c.execute(
        "INSERT INTO review_judgments (scenario, asin, reviewer, grade, judged_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (scenario, asin, reviewer) DO UPDATE SET grade = excluded.grade, judged_at = excluded.judged_at",
        params![id, asin, reviewer, j.grade.as_str(), now],
    )?;
    Ok(Judgment {
        scenario: id.to_owned(),
        asin,
        reviewer,
        grade: j.grade,
        judged_at: now,
    })
}

/// Takes a reviewer's grade of `asin` back; false when there was none.
pub fn unjudge(c: &Connection, id: &str, asin: &str, reviewer: &str) -> Result<bool> {
    get(c, id)?;
    Ok(c.execute(
        "DELETE FROM review_judgments WHERE scenario = ?1 AND asin = ?2 AND reviewer = ?3",
        params![id, asin, reviewer.trim()],
    )? > 0)
}

/// Each scenario's judgments, by scenario id.
pub type JudgmentsById = std::collections::HashMap<String, Vec<Judgment>>;

/// Every scenario and its judgments: what a report is written from.
pub fn with_judgments(c: &Connection) -> Result<(Vec<Scenario>, JudgmentsById)> {
    let all = list(c)?;
    let mut judged = JudgmentsById::new();
    for s in &all {
        judged.insert(s.id.clone(), judgments(c, &s.id)?);
    }
    Ok((all, judged))
}

/// Every scenario (or those of `ids`) with their judgments.
pub fn export(c: &Connection, ids: Option<&[String]>) -> Result<ScenarioExport> {
    let scenarios: Vec<Scenario> = list(c)?
        .into_iter()
        .filter(|s| ids.is_none_or(|ids| ids.contains(&s.id)))
        .collect();
    let mut all = Vec::new();
    for s in &scenarios {
        all.extend(judgments(c, &s.id)?);
    }
    Ok(ScenarioExport {
        version: EXPORT_VERSION,
        scenarios,
        judgments: all,
    })
}

/// Adds or replaces the export's scenarios (by id) and judgments, all or nothing.
pub fn import(c: &mut Connection, data: &ScenarioExport) -> Result<ImportSummary> {
    if data.version != EXPORT_VERSION {
        return Err(Error::param(
            "version",
            format!(
                "this is a version {} export; this Recall Lab reads version {EXPORT_VERSION}",
                data.version
            ),
        ));
    }
    for s in &data.scenarios {
        check_id(&s.id)?;
        validate(&s.body)?;
    }
    let tx = c.transaction()?;
    for s in &data.scenarios {
        tx.execute(
            "INSERT INTO review_scenarios (id, doc, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
            params![s.id, to_doc(&s.body), s.created_at, s.updated_at],
        )?;
    }
    for j in &data.judgments {
        let known: bool = tx.query_row(
            "SELECT count(*) > 0 FROM review_scenarios WHERE id = ?1",
            [&j.scenario],
            |r| r.get(0),
        )?;
        if !known {
            return Err(Error::param(
                "judgments",
                format!(
                    "a judgment names scenario {}, which the import lacks",
                    j.scenario
                ),
            ));
        }
        let reviewer = check_reviewer(&j.reviewer)?;
        tx.execute(
            "INSERT INTO review_judgments (scenario, asin, reviewer, grade, judged_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (scenario, asin, reviewer) DO UPDATE SET grade = excluded.grade, judged_at = excluded.judged_at",
            params![j.scenario, Asin::parse(&j.asin)?.as_str(), reviewer, j.grade.as_str(), j.judged_at],
        )?;
    }
    tx.commit()?;
    Ok(ImportSummary {
        scenarios: data.scenarios.len(),
        judgments: data.judgments.len(),
    })
}
