//! Newtypes for identifiers, parsed once at the edge.

use crate::error::{Error, Result};
use std::fmt;

/// A product id: 1–32 ASCII letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asin(String);

/// A user id: 1–64 ASCII letters, digits, `-`, `_`, `.` or `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

fn check(s: &str, field: &'static str, max: usize, extra: &[char]) -> Result<()> {
    if s.is_empty() || s.len() > max {
        return Err(Error::param(
            field,
            format!("must be 1 to {max} characters, got {}", s.len()),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)))
    {
        return Err(Error::param(
            field,
            format!("character {c:?} is not allowed"),
        ));
    }
    Ok(())
}

impl Asin {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        check(s, "asin", 32, &['-', '_'])?;
        Ok(Asin(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl UserId {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        check(s, "user", 64, &['-', '_', '.', '@'])?;
        Ok(UserId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Asin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_bad_ids() {
        assert_eq!(Asin::parse(" B014TMV5YE ").unwrap().as_str(), "B014TMV5YE");
        assert!(Asin::parse("").is_err());
        assert!(Asin::parse("a b").is_err());
        assert!(Asin::parse(&"A".repeat(33)).is_err());
        assert!(UserId::parse("qa.user@1").is_ok());
        assert!(UserId::parse("u/1").is_err());
    }
}
