//! The review workbench's shared shapes: scenarios (a click history with two configurations,
//! notes and expectations), reviewers' judgments, the judged metrics, and expectation results.
//! The metrics are defined here once, so the server, the CLI's gate and the app agree.

use crate::params::RecallParams;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The format version of [`ScenarioExport`].
pub const EXPORT_VERSION: u32 = 1;

/// A reviewer's grade of one recalled item for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    NotRelevant,
    Partly,
    Relevant,
}

impl Grade {
    pub const ALL: [Grade; 3] = [Grade::Relevant, Grade::Partly, Grade::NotRelevant];

    /// The graded gain nDCG uses: 2, 1, 0.
    pub fn gain(self) -> u8 {
        match self {
            Grade::Relevant => 2,
            Grade::Partly => 1,
            Grade::NotRelevant => 0,
        }
    }

    /// Whether precision counts it as a hit: any positive grade, as TREC's binary measures do.
    pub fn is_hit(self) -> bool {
        self.gain() > 0
    }

    /// Its name on the wire and in CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Relevant => "relevant",
            Grade::Partly => "partly",
            Grade::NotRelevant => "not_relevant",
        }
    }

    /// What a person reads (the judging buttons' accessible names).
    pub fn label(self) -> &'static str {
        match self {
            Grade::Relevant => "relevant",
            Grade::Partly => "partly",
            Grade::NotRelevant => "not relevant",
        }
    }
}

impl std::str::FromStr for Grade {
    type Err = crate::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                crate::ParseError::new(
                    "grade",
                    format!("unknown grade {s:?}; expected relevant, partly or not_relevant"),
                )
            })
    }
}

/// One stored judgment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Judgment {
    pub scenario: String,
    pub asin: String,
    pub reviewer: String,
    pub grade: Grade,
    /// RFC 3339, UTC.
    pub judged_at: String,
}

/// `PUT /api/scenarios/{id}/judgments/{asin}`: a reviewer's grade (their earlier one of the
/// same item is replaced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewJudgment {
    pub reviewer: String,
    pub grade: Grade,
}

/// What a scenario's recall is expected to do; checked by `recall-lab scenarios check` and
/// shown in the app. Every expectation looks at configuration A's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// The item is within the top `k`.
    InTopK { asin: String, k: usize },
    /// No item of the category is within the top `k`.
    NoCategoryInTopK { category_id: i64, k: usize },
    /// At least `n` of the top `k` were recalled by the channel.
    ChannelAtLeast { channel: String, n: usize, k: usize },
    /// Judged precision@k is at least `min`.
    PrecisionAtLeast { k: usize, min: f64 },
    /// Overlap@k with the scenario's saved baseline answer is at least `min`.
    BaselineOverlapAtLeast { k: usize, min: f64 },
}

impl Expectation {
    /// One line a person reads, e.g. "B00X in the top 10".
    pub fn describe(&self) -> String {
        match self {
            Expectation::InTopK { asin, k } => format!("{asin} in the top {k}"),
            Expectation::NoCategoryInTopK { category_id, k } => {
                format!("no item of category {category_id} in the top {k}")
            }
            Expectation::ChannelAtLeast { channel, n, k } => {
                format!("at least {n} of the top {k} from {channel}")
            }
            Expectation::PrecisionAtLeast { k, min } => {
                format!("judged precision@{k} at least {min}")
            }
            Expectation::BaselineOverlapAtLeast { k, min } => {
                format!("overlap@{k} with the baseline at least {min}")
            }
        }
    }

    /// The `k` it looks at.
    pub fn k(&self) -> usize {
        match self {
            Expectation::InTopK { k, .. }
            | Expectation::NoCategoryInTopK { k, .. }
            | Expectation::ChannelAtLeast { k, .. }
            | Expectation::PrecisionAtLeast { k, .. }
            | Expectation::BaselineOverlapAtLeast { k, .. } => *k,
        }
    }
}

/// A scenario as a client writes it. (Unknown fields are ignored rather than refused: a
/// [`Scenario`] flattens it, and serde cannot refuse them through a flatten.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScenarioBody {
    pub name: String,
    /// Clicked asins, oldest first.
    pub clicks: Vec<String>,
    /// Configuration A: the one expectations check.
    #[serde(default)]
    pub a: RecallParams,
    /// Configuration B, to compare A with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<RecallParams>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub expectations: Vec<Expectation>,
    /// A saved answer of configuration A (asins in recall order), for overlap expectations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Vec<String>>,
}

/// A stored scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Scenario {
    pub id: String,
    #[serde(flatten)]
    pub body: ScenarioBody,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// Scenarios with their judgments, as exported and imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScenarioExport {
    /// [`EXPORT_VERSION`].
    pub version: u32,
    pub scenarios: Vec<Scenario>,
    pub judgments: Vec<Judgment>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportSummary {
    pub scenarios: usize,
    pub judgments: usize,
}

/// The judged metrics of a ranked list at `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct JudgedMetrics {
    pub k: usize,
    /// Of the top `k` (or fewer, when the list is shorter), how many are judged.
    pub judged: usize,
    /// Hits (relevant or partly) among the top `k`, over `k`; unjudged items count as misses.
    pub precision: f64,
    /// DCG of the top `k` with gains 2^g − 1 (g: 2 relevant, 1 partly, 0 not) and a log2(rank + 1)
    /// discount, over the DCG of the scenario's judged grades sorted best first; 0 when nothing
    /// is judged relevant or partly.
    pub ndcg: f64,
}

/// The one definition of the judged metrics. `grades` holds the scenario's judgment of each
/// asin (see [`latest_grades`]); `ranked` is an answer's asins in recall order.
pub fn judged_metrics<S: AsRef<str>>(
    ranked: &[S],
    grades: &HashMap<String, Grade>,
    k: usize,
) -> JudgedMetrics {
    let top = &ranked[..ranked.len().min(k)];
    let grade = |a: &S| grades.get(a.as_ref()).copied();
    let judged = top.iter().filter(|a| grade(a).is_some()).count();
    let hits = top
        .iter()
        .filter(|a| grade(a).is_some_and(Grade::is_hit))
        .count();
    let gain = |g: u8| f64::from((1u32 << g) - 1);
    let discount = |i: usize| (i as f64 + 2.0).log2();
    let dcg: f64 = top
        .iter()
        .enumerate()
        .map(|(i, a)| grade(a).map_or(0.0, |g| gain(g.gain()) / discount(i)))
        .sum();
    let mut ideal: Vec<u8> = grades.values().map(|g| g.gain()).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| gain(g) / discount(i))
        .sum();
    JudgedMetrics {
        k,
        judged,
        precision: if k == 0 { 0.0 } else { hits as f64 / k as f64 },
        ndcg: if idcg > 0.0 { dcg / idcg } else { 0.0 },
    }
}

/// Each asin's grade for the metrics: the most recent judgment of it by any reviewer.
pub fn latest_grades(judgments: &[Judgment]) -> HashMap<String, Grade> {
    let mut latest: HashMap<String, (&str, Grade)> = HashMap::new();
    for j in judgments {
        let e = latest
            .entry(j.asin.clone())
            .or_insert((j.judged_at.as_str(), j.grade));
        if j.judged_at.as_str() >= e.0 {
            *e = (j.judged_at.as_str(), j.grade);
        }
    }
    latest.into_iter().map(|(a, (_, g))| (a, g)).collect()
}

/// Overlap@k of two answers: shared items among both top `k`s, over the larger of the two.
pub fn overlap_at<S: AsRef<str>, T: AsRef<str>>(a: &[S], b: &[T], k: usize) -> f64 {
    let a: Vec<&str> = a.iter().take(k).map(AsRef::as_ref).collect();
    let b: std::collections::HashSet<&str> = b.iter().take(k).map(AsRef::as_ref).collect();
    let of = a.len().max(b.len());
    if of == 0 {
        return 1.0;
    }
    a.iter().filter(|x| b.contains(*x)).count() as f64 / of as f64
}

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ExpectationResult {
    pub expectation: Expectation,
    /// [`Expectation::describe`].
    pub description: String,
    pub passed: bool,
    /// What was found, e.g. "rank 14" or "precision@10 0.60 (8 of 10 judged)".
    pub actual: String,
}

/// A scenario's expectations checked against the current build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScenarioCheck {
    pub id: String,
    pub name: String,
    pub passed: bool,
    pub results: Vec<ExpectationResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grades(g: &[(&str, Grade)]) -> HashMap<String, Grade> {
        g.iter().map(|(a, g)| (a.to_string(), *g)).collect()
    }

    #[test]
    fn metrics_follow_the_judgments() {
        let ranked = ["a", "b", "c", "d"];
        let g = grades(&[
            ("a", Grade::Relevant),
            ("b", Grade::NotRelevant),
            ("c", Grade::Partly),
            ("z", Grade::Relevant),
        ]);
        let m = judged_metrics(&ranked, &g, 4);
        assert_eq!(m.judged, 3);
        assert!((m.precision - 0.5).abs() < 1e-12);
        // DCG = 3/log2(2) + 1/log2(4) = 3.5; ideal 3 + 3/log2(3) + 1/log2(4)
        let ideal = 3.0 + 3.0 / 3f64.log2() + 0.5;
        assert!((m.ndcg - 3.5 / ideal).abs() < 1e-12);
        assert_eq!(judged_metrics(&ranked, &HashMap::new(), 4).ndcg, 0.0);
    }

    #[test]
    fn the_latest_judgment_counts() {
        let j = |r: &str, g, t: &str| Judgment {
            scenario: "s".into(),
            asin: "a".into(),
            reviewer: r.into(),
            grade: g,
            judged_at: t.into(),
        };
        let list = [
            j("ann", Grade::Relevant, "2026-01-02T00:00:00Z"),
            j("bob", Grade::NotRelevant, "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(latest_grades(&list)["a"], Grade::Relevant);
    }

    #[test]
    fn expectations_read_as_tagged_json() {
        let e: Expectation =
            serde_json::from_str(r#"{"kind":"in_top_k","asin":"B1","k":10}"#).unwrap();
        assert_eq!(e.describe(), "B1 in the top 10");
        assert!(serde_json::from_str::<Expectation>(r#"{"kind":"nope"}"#).is_err());
    }
}
