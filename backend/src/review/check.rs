//! A scenario's expectations held to the current build: configuration A's recall of the
//! scenario's clicks, each expectation passed or failed with what was found. What
//! `recall-lab scenarios check` gates on and the app shows.

use crate::error::Result;
use crate::recall::Engine;
use common::{
    Expectation, ExpectationResult, Judgment, RecallResponse, Scenario, ScenarioCheck,
    judged_metrics, latest_grades, overlap_at,
};

/// Checks every expectation of `scenario` against a fresh recall; `judgments` are the
/// scenario's (for precision expectations).
pub fn check(
    engine: &Engine,
    scenario: &Scenario,
    judgments: &[Judgment],
) -> Result<ScenarioCheck> {
    let body = &scenario.body;
    let recent_first: Vec<String> = body.clicks.iter().rev().cloned().collect();
    let answer = engine.recall(&recent_first, None, &body.a)?;
    let results: Vec<ExpectationResult> = body
        .expectations
        .iter()
        .map(|e| evaluate(e, &answer, body.baseline.as_deref(), judgments))
        .collect();
    Ok(ScenarioCheck {
        id: scenario.id.clone(),
        name: body.name.clone(),
        passed: results.iter().all(|r| r.passed),
        results,
    })
}

/// One expectation against an answer.
pub fn evaluate(
    e: &Expectation,
    answer: &RecallResponse,
    baseline: Option<&[String]>,
    judgments: &[Judgment],
) -> ExpectationResult {
    let k = e.k();
    let top = &answer.items[..answer.items.len().min(k)];
    let asins: Vec<&str> = answer
        .items
        .iter()
        .map(|i| i.product.asin.as_str())
        .collect();
    let (passed, actual) = match e {
        Expectation::InTopK { asin, .. } => match asins.iter().position(|a| a == asin) {
            Some(r) => (r < k, format!("rank {}", r + 1)),
            None => (
                false,
                format!("not in the answer's {} items", answer.items.len()),
            ),
        },
        Expectation::NoCategoryInTopK { category_id, .. } => {
            let found: Vec<_> = top
                .iter()
                .filter(|i| i.product.category_id == *category_id)
                .collect();
            match found.first() {
                None => (true, "none".into()),
                Some(first) => (
                    false,
                    format!(
                        "{} item{}, the first {} at rank {}",
                        found.len(),
                        if found.len() == 1 { "" } else { "s" },
                        first.product.asin,
                        first.rank
                    ),
                ),
            }
        }
        Expectation::ChannelAtLeast { channel, n, .. } => {
            let got = top
                .iter()
                .filter(|i| i.channels.contains_key(channel))
                .count();
            (got >= *n, format!("{got} of the top {}", top.len()))
        }
        Expectation::PrecisionAtLeast { min, .. } => {
            let m = judged_metrics(&asins, &latest_grades(judgments), k);
            (
                m.precision >= *min,
                format!(
                    "precision@{k} {:.2} ({} of {} judged)",
                    m.precision,
                    m.judged,
                    top.len()
                ),
            )
        }
        Expectation::BaselineOverlapAtLeast { min, .. } => match baseline {
            None => (false, "the scenario has no saved baseline".into()),
            Some(base) => {
                let o = overlap_at(&asins, base, k);
                (o >= *min, format!("overlap@{k} {o:.2}"))
            }
        },
    };
    ExpectationResult {
        expectation: e.clone(),
        description: e.describe(),
        passed,
        actual,
    }
}
