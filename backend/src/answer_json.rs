//! The JSON of a recall item written from the fused list and a stored product's borrowed view,
//! without building a typed `RecallItem` first.
//!
//! Why not serde_json alone: it escapes strings byte by byte, and a 500-item answer's titles
//! and URLs are most of its bytes; here a string that needs no escaping (almost every one) is
//! checked a chunk at a time and copied whole.
//!
//! Invariant: the bytes are serde_json's for the same `common::RecallItem` (field names, order,
//! omissions, number formats); unit tests and the engine tests compare them.

use common::{FieldValue, ProductRef, Text};
use serde::Serialize;
use std::str::Utf8Error;

/// Appends the start of one `RecallItem`: its fields up to and including the `"product":` key;
/// the product and a closing `}` complete it.
pub fn item_head<'c, 'b>(
    out: &mut Vec<u8>,
    rank: usize,
    score: f32,
    channels: impl Iterator<Item = (&'c str, f32)>,
    because: impl Iterator<Item = &'b str>,
) {
    out.extend_from_slice(b"{\"rank\":");
    number(out, rank);
    out.extend_from_slice(b",\"score\":");
    number(out, score);
    out.extend_from_slice(b",\"channels\":{");
    for (i, (name, v)) in channels.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name);
        out.push(b':');
        number(out, v);
    }
    out.extend_from_slice(b"},\"because\":[");
    for (i, a) in because.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, a);
    }
    out.extend_from_slice(b"],\"product\":");
}

/// Appends a product as serde_json writes it, field by field from [`ProductRef::fields`]; an
/// error if a stored string is not UTF-8.
pub fn product(out: &mut Vec<u8>, product: &ProductRef<'_>) -> Result<(), Utf8Error> {
    let fields = product.fields();
    let strings: usize = fields
        .iter()
        .map(|(_, v)| match v {
            FieldValue::Str(s) => s.as_bytes().len(),
            _ => 0,
        })
        .sum();
    out.reserve(strings + 256);
    let mut sep = b'{';
    for (name, v) in fields {
        if v == FieldValue::Absent {
            continue;
        }
        // Field names are the record's own literals, none of which needs escaping (tested).
        out.push(sep);
        quoted(out, name.as_bytes());
        out.push(b':');
        sep = b',';
        match v {
            FieldValue::Str(s) => text(out, s)?,
            FieldValue::F64(x) => number(out, x),
            FieldValue::I64(x) => number(out, x),
            FieldValue::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            FieldValue::Absent => unreachable!("skipped above"),
        }
    }
    out.push(b'}');
    Ok(())
}

/// A JSON string: copied whole when no byte needs escaping, else escaped by serde_json.
fn string(out: &mut Vec<u8>, s: &str) {
    if any_byte(s.as_bytes(), |b| (b < 0x20) | (b == b'"') | (b == b'\\')) {
        number(out, s);
    } else {
        quoted(out, s.as_bytes());
    }
}

/// A stored string: copied whole when every byte is printable ASCII other than a quote or a
/// backslash (such bytes are UTF-8 and need no escaping), else checked as UTF-8 and written by
/// [`string`].
fn text(out: &mut Vec<u8>, s: Text<'_>) -> Result<(), Utf8Error> {
    let bytes = s.as_bytes();
    // As i8, bytes from 0x80 up are negative: one compare finds control bytes and non-ASCII.
    if any_byte(bytes, |b| ((b as i8) < 0x20) | (b == b'"') | (b == b'\\')) {
        string(out, s.as_str()?);
    } else {
        quoted(out, bytes);
    }
    Ok(())
}

/// Appends `value` as serde_json writes it (also how a non-finite float becomes `null`).
pub fn value(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// A number or string as serde_json writes it; neither can fail to serialise.
fn number(out: &mut Vec<u8>, n: impl Serialize) {
    value(out, &n).expect("a number or string serialises");
}

fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// Whether `hit` holds for a byte of `bytes`, checked 16 bytes at a time without branches
/// (which the compiler turns into vector compares), the last bytes as one more (overlapping or
/// padded) chunk rather than one at a time.
#[inline]
fn any_byte(bytes: &[u8], hit: impl Fn(u8) -> bool + Copy) -> bool {
    const W: usize = 16;
    let chunk = |c: &[u8; W]| c.iter().fold(false, |any, &b| any | hit(b));
    let mut chunks = bytes.chunks_exact(W);
    if chunks
        .by_ref()
        .any(|c| chunk(c.try_into().expect("16 bytes")))
    {
        return true;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return false;
    }
    let last: [u8; W] = if bytes.len() >= W {
        bytes[bytes.len() - W..].try_into().expect("16 bytes")
    } else {
        // Padded with a byte that never hits (a space: printable ASCII).
        let mut padded = [b' '; W];
        padded[..rest.len()].copy_from_slice(rest);
        padded
    };
    chunk(&last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_written_as_serde_json_writes_it() {
        let product = common::Product {
            asin: "B0TEST0001".into(),
            title: "Mug \"12 oz\" \\ blue".into(),
            img_url: "https://example.com/i.jpg".into(),
            product_url: "https://example.com/p".into(),
            stars: 4.5,
            reviews: 1203,
            price: 9.99,
            list_price: 0.0,
            category_id: 7,
            category_name: None,
            is_best_seller: true,
            bought_in_last_month: 50,
        };
        let clicks = ["B0CLICK001".to_string(), "B0CLICK\"002".to_string()];
        for (channels, name, because) in [
            (common::ChannelScores::default(), None, 0usize),
            (
                [("content".to_owned(), 0.8125), ("popular".to_owned(), 1e-7)].into(),
                Some("Kitchen"),
                1,
            ),
            (
                [("cf".to_owned(), 3.0)].into(),
                Some("A \"quoted\" name"),
                2,
            ),
        ] {
            let mut p = product.clone();
            p.category_name = name.map(str::to_owned);
            let item = common::RecallItem {
                rank: 42,
                score: 0.016393442,
                channels: channels.clone(),
                because: clicks[..because].to_vec(),
                product: p.clone(),
            };
            let mut ours = Vec::new();
            item_head(
                &mut ours,
                item.rank,
                item.score,
                channels.iter().map(|(c, s)| (c.as_str(), *s)),
                clicks[..because].iter().map(String::as_str),
            );
            let mut bytes = Vec::new();
            common::wire::encode_product(&p, &mut bytes).unwrap();
            let mut view = common::wire::decode_product_ref(&bytes).unwrap();
            view.category_name = p.category_name.as_deref().map(Text::from);
            super::product(&mut ours, &view).unwrap();
            ours.push(b'}');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&item).unwrap()
            );
        }
    }

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        let long = "x".repeat(40);
        let strings = [
            String::new(),
            "plain".into(),
            format!("{long}\"{long}"),
            format!("{long}\\"),
            "tab\there".into(),
            "bell\u{7}".into(),
            "del\u{7f} is not escaped".into(),
            "Zoë – ünïcödé 😀".into(),
        ];
        for s in &strings {
            let want = serde_json::to_string(s).unwrap();
            let mut ours = Vec::new();
            string(&mut ours, s);
            assert_eq!(String::from_utf8(ours).unwrap(), want);
            let mut ours = Vec::new();
            text(&mut ours, Text::from(s.as_str())).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), want);
        }
        for (name, _) in ProductRef::default().fields() {
            let mut ours = Vec::new();
            string(&mut ours, name);
            assert_eq!(ours, [b"\"", name.as_bytes(), b"\""].concat(), "{name}");
        }
        for (price, title) in [f64::NAN, f64::INFINITY, -0.0, 1e300, 0.1 + 0.2]
            .into_iter()
            .zip(&strings[3..])
        {
            let p = ProductRef {
                asin: "B1".into(),
                title: title.as_str().into(),
                img_url: "".into(),
                product_url: "u".into(),
                stars: -1.5,
                reviews: i64::MIN,
                price,
                list_price: 0.0,
                category_id: i64::MAX,
                is_best_seller: false,
                bought_in_last_month: 0,
                category_name: Some(title.as_str().into()),
            };
            let mut ours = Vec::new();
            product(&mut ours, &p).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&p).unwrap()
            );
        }
    }
}
