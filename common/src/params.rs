//! Recall parameters: what a recall can be asked to do differently, with the one parser of their
//! text form (query pairs) that the CLI, the server and the app all use.
//!
//! Channels are named by strings ("content", "cf", ...): which names exist is the server's
//! registry's business, so a new channel needs no change here. This module checks only what
//! does not depend on the registry or the loaded index.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Largest `topn` a recall request may ask for.
pub const MAX_TOPN: usize = 10_000;
/// Default number of recalled items.
pub const DEFAULT_TOPN: usize = 500;
/// Default number of recent clicks a recall looks at (the seed's `limit=10`).
pub const DEFAULT_RECENT_CLICKS: usize = 10;
/// Most recent clicks a recall may look at (a candidate's evidence is a 128-bit click mask).
pub const MAX_RECENT_CLICKS: usize = 100;

/// A value that could not be parsed from its text form, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ParseError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ParseError {}

/// How channel lists are fused into one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// The article's: CF first, then content, concatenated (then the other channels).
    Seed,
    /// Reciprocal rank fusion (k = 60), weighted per channel.
    #[default]
    Rrf,
    /// Min-max normalised channel scores blended by weights.
    Weighted,
}

impl Fusion {
    pub const ALL: [Fusion; 3] = [Fusion::Seed, Fusion::Rrf, Fusion::Weighted];
    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Seed => "seed",
            Fusion::Rrf => "rrf",
            Fusion::Weighted => "weighted",
        }
    }
}

impl FromStr for Fusion {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fusion::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                ParseError::new(
                    "fusion",
                    format!("unknown fusion {s:?}; expected seed, rrf or weighted"),
                )
            })
    }
}

/// How a content candidate's similarity is aggregated over the clicks that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// The best similarity to any click (the seed's behaviour).
    #[default]
    Max,
    /// The sum of similarities over the clicks that recalled it.
    Sum,
}

impl Aggregate {
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Max => "max",
            Aggregate::Sum => "sum",
        }
    }
}

impl FromStr for Aggregate {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "max" => Ok(Aggregate::Max),
            "sum" => Ok(Aggregate::Sum),
            _ => Err(ParseError::new(
                "aggregate",
                format!("unknown aggregate {s:?}; expected max or sum"),
            )),
        }
    }
}

/// Per-channel weights for `rrf` and `weighted` fusion, keyed by channel name. A channel
/// missing from a request's weights takes its registered default.
pub type Weights = BTreeMap<String, f32>;

/// Checks a weight: finite and not negative.
fn check_weight(field: &'static str, v: f32) -> Result<f32, ParseError> {
    if !v.is_finite() || v < 0.0 {
        return Err(ParseError::new(
            field,
            format!("weight {v} must be finite and >= 0"),
        ));
    }
    Ok(v)
}

/// Whether `name` can name a channel: lowercase ASCII letters, digits and `_`.
fn check_channel_name(field: &'static str, name: &str) -> Result<String, ParseError> {
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ParseError::new(
            field,
            format!("{name:?} is not a channel name"),
        ));
    }
    Ok(name.to_owned())
}

/// Parses `content:1,cf:0.5` (or `content=1`) into weights.
pub fn parse_weights(s: &str) -> Result<Weights, ParseError> {
    let mut w = Weights::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once(':')
            .or_else(|| part.split_once('='))
            .ok_or_else(|| {
                ParseError::new("weights", format!("expected channel:weight, got {part:?}"))
            })?;
        let v: f32 = value
            .trim()
            .parse()
            .map_err(|_| ParseError::new("weights", format!("weight {value:?} is not a number")))?;
        w.insert(
            check_channel_name("weights", name)?,
            check_weight("weights", v)?,
        );
    }
    Ok(w)
}

/// The text form [`parse_weights`] reads.
pub fn weights_to_param(w: &Weights) -> String {
    w.iter()
        .map(|(c, v)| format!("{c}:{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Filters applied to recalled items (and to catalog listings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stars: Option<f64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.min_price.is_none()
            && self.max_price.is_none()
            && self.min_stars.is_none()
    }

    /// Whether an item with these columns passes.
    pub fn accepts_values(&self, category_id: i64, price: f64, stars: f64) -> bool {
        self.category.is_none_or(|c| category_id == c)
            && self.min_price.is_none_or(|m| price >= m)
            && self.max_price.is_none_or(|m| price <= m)
            && self.min_stars.is_none_or(|m| stars >= m)
    }

    pub fn accepts(&self, p: &crate::Product) -> bool {
        self.accepts_values(p.category_id, p.price, p.stars)
    }

    pub fn validate(&self) -> Result<(), ParseError> {
        for (field, v) in [
            ("min_price", self.min_price),
            ("max_price", self.max_price),
            ("min_stars", self.min_stars),
        ] {
            if let Some(v) = v
                && (!v.is_finite() || v < 0.0)
            {
                return Err(ParseError::new(
                    field,
                    format!("{v} must be a finite number >= 0"),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price)
            && lo > hi
        {
            return Err(ParseError::new(
                "max_price",
                format!("max_price {hi} is below min_price {lo}"),
            ));
        }
        if let Some(s) = self.min_stars
            && s > 5.0
        {
            return Err(ParseError::new(
                "min_stars",
                format!("min_stars {s} is above 5"),
            ));
        }
        Ok(())
    }
}

/// Everything a recall can be asked to do differently. Missing fields take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RecallParams {
    /// Number of items to return, 1..=10000.
    pub topn: usize,
    /// IVF lists to probe; `None` takes the index's default, raised so that `topn` is reachable.
    pub nprobe: Option<usize>,
    pub fusion: Fusion,
    pub aggregate: Aggregate,
    /// Enabled channels by name; `None` takes the server's default channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Weights by channel name; a channel not named takes its default weight.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: Weights,
    /// How many of the most recent clicks drive the recall.
    pub recent_clicks: usize,
    pub filters: Filters,
}

impl Default for RecallParams {
    fn default() -> Self {
        RecallParams {
            topn: DEFAULT_TOPN,
            nprobe: None,
            fusion: Fusion::default(),
            aggregate: Aggregate::default(),
            channels: None,
            weights: Weights::new(),
            recent_clicks: DEFAULT_RECENT_CLICKS,
            filters: Filters::default(),
        }
    }
}

impl RecallParams {
    /// The keys of the query-pair form, in the order [`RecallParams::to_pairs`] writes them.
    pub const KEYS: [&'static str; 11] = [
        "topn",
        "nprobe",
        "fusion",
        "aggregate",
        "channels",
        "weights",
        "recent_clicks",
        "category",
        "min_price",
        "max_price",
        "min_stars",
    ];

    /// Checks the rules that depend neither on the channel registry nor on the loaded index.
    pub fn validate(&self) -> Result<(), ParseError> {
        if self.topn == 0 || self.topn > MAX_TOPN {
            return Err(ParseError::new(
                "topn",
                format!("topn must be between 1 and {MAX_TOPN}, got {}", self.topn),
            ));
        }
        if self.nprobe == Some(0) {
            return Err(ParseError::new("nprobe", "nprobe must be at least 1"));
        }
        if let Some(channels) = &self.channels {
            if channels.is_empty() {
                return Err(ParseError::new(
                    "channels",
                    "at least one channel must be enabled",
                ));
            }
            for c in channels {
                check_channel_name("channels", c)?;
            }
        }
        for (c, &v) in &self.weights {
            check_channel_name("weights", c)?;
            check_weight("weights", v)?;
        }
        if self.recent_clicks == 0 || self.recent_clicks > MAX_RECENT_CLICKS {
            return Err(ParseError::new(
                "recent_clicks",
                format!(
                    "recent_clicks must be between 1 and {MAX_RECENT_CLICKS}, got {}",
                    self.recent_clicks
                ),
            ));
        }
        self.filters.validate()
    }

    /// Sets one field from its query-pair text (`key` one of [`RecallParams::KEYS`]); an empty
    /// value leaves the field as it is.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ParseError> {
        let v = value.trim();
        if v.is_empty() {
            return Ok(());
        }
        fn parse<T: FromStr>(field: &'static str, v: &str, what: &str) -> Result<T, ParseError> {
            v.parse()
                .map_err(|_| ParseError::new(field, format!("{v:?} is not {what}")))
        }
        fn count(field: &'static str, v: &str) -> Result<usize, ParseError> {
            parse(field, v, "a non-negative integer")
        }
        fn number(field: &'static str, v: &str) -> Result<f64, ParseError> {
            let x: f64 = parse(field, v, "a number")?;
            if !x.is_finite() {
                return Err(ParseError::new(field, "must be finite"));
            }
            Ok(x)
        }
        match key {
            "topn" => self.topn = count("topn", v)?,
            "nprobe" => self.nprobe = Some(count("nprobe", v)?),
            "fusion" => self.fusion = v.parse()?,
            "aggregate" => self.aggregate = v.parse()?,
            "channels" => {
                self.channels = Some(
                    v.split(',')
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| check_channel_name("channels", c))
                        .collect::<Result<_, _>>()?,
                )
            }
            "weights" => self.weights = parse_weights(v)?,
            "recent_clicks" => self.recent_clicks = count("recent_clicks", v)?,
            "category" => self.filters.category = Some(parse("category", v, "an integer")?),
            "min_price" => self.filters.min_price = Some(number("min_price", v)?),
            "max_price" => self.filters.max_price = Some(number("max_price", v)?),
            "min_stars" => self.filters.min_stars = Some(number("min_stars", v)?),
            _ => {
                return Err(ParseError {
                    field: "query",
                    message: format!(
                        "unknown parameter {key:?}; expected one of {}",
                        Self::KEYS.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Parameters from query pairs (URL query, CLI flags), checked by
    /// [`RecallParams::validate`]. The first bad value or unknown key is the error.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ParseError> {
        let mut p = RecallParams::default();
        for (k, v) in pairs {
            p.set(k, v)?;
        }
        p.validate()?;
        Ok(p)
    }

    /// Parameters from query pairs where each unparseable or unknown pair is ignored, so a
    /// hand-edited link still opens. Rules across fields are not checked here: whoever runs
    /// the recall reports them (the app shows the server's message).
    pub fn from_pairs_lenient<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = RecallParams::default();
        for (k, v) in pairs {
            let before = p.clone();
            if p.set(k, v).is_err() {
                p = before;
            }
        }
        p
    }

    /// The query-pair form [`RecallParams::from_pairs`] reads back (defaults omitted).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let d = RecallParams::default();
        let mut q = Vec::new();
        if self.topn != d.topn {
            q.push(("topn", self.topn.to_string()));
        }
        if let Some(n) = self.nprobe {
            q.push(("nprobe", n.to_string()));
        }
        if self.fusion != d.fusion {
            q.push(("fusion", self.fusion.as_str().to_owned()));
        }
        if self.aggregate != d.aggregate {
            q.push(("aggregate", self.aggregate.as_str().to_owned()));
        }
        if let Some(c) = &self.channels {
            q.push(("channels", c.join(",")));
        }
        if !self.weights.is_empty() {
            q.push(("weights", weights_to_param(&self.weights)));
        }
        if self.recent_clicks != d.recent_clicks {
            q.push(("recent_clicks", self.recent_clicks.to_string()));
        }
        let f = &self.filters;
        for (k, v) in [
            ("category", f.category.map(|v| v.to_string())),
            ("min_price", f.min_price.map(|v| v.to_string())),
            ("max_price", f.max_price.map(|v| v.to_string())),
            ("min_stars", f.min_stars.map(|v| v.to_string())),
        ] {
            if let Some(v) = v {
                q.push((k, v));
            }
        }
        q
    }

    /// Whether `channel` is named in the request's channels (`None`: not decided here).
    pub fn names(&self, channel: &str) -> Option<bool> {
        self.channels
            .as_ref()
            .map(|c| c.iter().any(|x| x == channel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_reject() {
        let w = parse_weights("content:2, cf:0.5").unwrap();
        assert_eq!((w["content"], w["cf"], w.get("popular")), (2.0, 0.5, None));
        assert_eq!(parse_weights("Bogus!:1").unwrap_err().field, "weights");
        assert_eq!(parse_weights("cf:-1").unwrap_err().field, "weights");
        assert_eq!(parse_weights(&weights_to_param(&w)).unwrap(), w);
    }

    #[test]
    fn params_validation_names_the_field() {
        let mut p = RecallParams {
            topn: 0,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().field, "topn");
        p.topn = MAX_TOPN + 1;
        assert_eq!(p.validate().unwrap_err().field, "topn");
        p.topn = 10;
        p.filters.min_price = Some(10.0);
        p.filters.max_price = Some(5.0);
        assert_eq!(p.validate().unwrap_err().field, "max_price");
        p.filters = Filters::default();
        p.weights.insert("content".into(), -1.0);
        assert_eq!(p.validate().unwrap_err().field, "weights");
        p.weights.insert("content".into(), 1e39_f64 as f32);
        assert_eq!(p.validate().unwrap_err().field, "weights");
    }

    #[test]
    fn query_pairs_round_trip_and_name_the_bad_field() {
        let p = RecallParams::from_pairs([
            ("topn", "20"),
            ("fusion", "seed"),
            ("channels", "content,cf"),
            ("weights", "cf:0.5"),
            ("min_price", "3"),
        ])
        .unwrap();
        assert_eq!(p.topn, 20);
        assert_eq!(
            p.channels.as_deref(),
            Some(&["content".into(), "cf".into()][..])
        );
        let pairs = p.to_pairs();
        let back = RecallParams::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(back, p);
        for (k, v, field) in [
            ("topn", "x", "topn"),
            ("topn", "0", "topn"),
            ("weights", "cf:-1", "weights"),
            ("min_price", "inf", "min_price"),
            ("fusion", "nope", "fusion"),
            ("bogus", "1", "query"),
        ] {
            assert_eq!(
                RecallParams::from_pairs([(k, v)]).unwrap_err().field,
                field,
                "{k}={v}"
            );
        }
        let lenient = RecallParams::from_pairs_lenient([("topn", "x"), ("fusion", "seed")]);
        assert_eq!((lenient.topn, lenient.fusion), (DEFAULT_TOPN, Fusion::Seed));
    }

    #[test]
    fn recall_request_json_roundtrip_uses_defaults() {
        let r: crate::RecallRequest =
            serde_json::from_str(r#"{"clicks":["A"],"params":{"topn":7,"fusion":"seed"}}"#)
                .unwrap();
        assert_eq!(r.params.topn, 7);
        assert_eq!(r.params.fusion, Fusion::Seed);
        // No channels named: the server's default channels (its registry's test checks them).
        assert_eq!(r.params.channels, None);
        assert!(
            serde_json::from_str::<crate::RecallRequest>(
                r#"{"clicks":[],"params":{"fusion":"nope"}}"#
            )
            .is_err()
        );
    }
}
