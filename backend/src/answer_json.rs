//! The JSON of a recall answer's items written by hand from borrowed product rows: byte for
//! byte what `serde_json` writes for the same `RecallItem`s, without its per-byte escaping loop
//! for the strings (nearly all of them) that need no escaping.
//!
//! Why: serde_json scans every string a byte at a time; for the 500 items of an answer (titles,
//! URLs, asins, and twenty keys each) that scan took 0.4 ms of CPU a request at 100k items
//! (perf, c=32), more than the rest of the JSON. Here keys are written as constants, a string
//! that needs no escaping is copied whole, and numbers, the rare string that needs escaping, and
//! everything outside the items go through serde_json itself, so the text cannot drift from
//! serde's. Invariant: the field names, their order and their omissions are those of
//! `common::RecallItem`, `ChannelScores` and `Product`; the engine tests compare the bytes with
//! serde_json's for whole answers.

use common::{ChannelScores, ProductRef};
use serde::Serialize;

/// Appends one `RecallItem` as JSON.
pub fn write_item<'a>(
    out: &mut Vec<u8>,
    rank: usize,
    score: f32,
    channels: &ChannelScores,
    because: impl Iterator<Item = &'a str>,
    p: &ProductRef<'_>,
) {
    out.extend_from_slice(b"{\"rank\":");
    number(out, rank);
    out.extend_from_slice(b",\"score\":");
    number(out, score);
    out.extend_from_slice(b",\"channels\":{");
    let mut first = true;
    for (key, value) in [
        (&b"\"content\":"[..], channels.content),
        (b"\"cf\":", channels.cf),
        (b"\"popular\":", channels.popular),
    ] {
        if let Some(v) = value {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(key);
            number(out, v);
        }
    }
    out.extend_from_slice(b"},\"because\":[");
    for (i, a) in because.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, a);
    }
    out.extend_from_slice(b"],\"product\":{\"asin\":");
    string(out, p.asin);
    out.extend_from_slice(b",\"title\":");
    string(out, p.title);
    out.extend_from_slice(b",\"imgUrl\":");
    string(out, p.img_url);
    out.extend_from_slice(b",\"productURL\":");
    string(out, p.product_url);
    out.extend_from_slice(b",\"stars\":");
    number(out, p.stars);
    out.extend_from_slice(b",\"reviews\":");
    number(out, p.reviews);
    out.extend_from_slice(b",\"price\":");
    number(out, p.price);
    out.extend_from_slice(b",\"listPrice\":");
    number(out, p.list_price);
    out.extend_from_slice(b",\"category_id\":");
    number(out, p.category_id);
    if let Some(name) = p.category_name {
        out.extend_from_slice(b",\"category_name\":");
        string(out, name);
    }
    out.extend_from_slice(b",\"isBestSeller\":");
    out.extend_from_slice(if p.is_best_seller { b"true" } else { b"false" });
    out.extend_from_slice(b",\"boughtInLastMonth\":");
    number(out, p.bought_in_last_month);
    out.extend_from_slice(b"}}");
}

/// Appends `value` as serde_json writes it (also how a non-finite float becomes `null`).
pub fn value(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// A number as serde_json writes it; numbers cannot fail to serialise.
fn number(out: &mut Vec<u8>, n: impl Serialize) {
    value(out, &n).expect("a number serialises");
}

/// A JSON string: copied whole between quotes when no byte needs escaping, else serde_json's
/// escaping.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        value(out, &s).expect("a string serialises");
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether JSON must escape a byte of `bytes`: a quote, a backslash or a control character
/// (what serde_json escapes; other text, non-ASCII included, goes out as it is). Checked 16
/// bytes at a time without branches, which the compiler turns into vector compares.
fn needs_escape(bytes: &[u8]) -> bool {
    let any = |chunk: &[u8]| {
        chunk.iter().fold(false, |hit, &b| {
            hit | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    };
    let mut chunks = bytes.chunks_exact(16);
    chunks.by_ref().any(any) || any(chunks.remainder())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let long = "a plain title that is longer than sixteen bytes, twice over";
        for s in [
            "",
            "B07XYZ1234",
            long,
            "quote \" in the middle of a long title, past the first chunk",
            "a long title that ends in a backslash past sixteen bytes \\",
            "tab\there",
            "line\nbreak after many many bytes of plain ascii text",
            "\u{1f}",
            "Café crème — 100% “cotton” 日本語",
        ] {
            let mut ours = Vec::new();
            string(&mut ours, s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

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
        let clicks = ["B0CLICK001".to_string(), "B0CLICK002".to_string()];
        for (channels, name, because) in [
            (ChannelScores::default(), None, 0usize),
            (
                ChannelScores {
                    content: Some(0.8125),
                    cf: None,
                    popular: Some(1e-7),
                },
                Some("Kitchen"),
                1,
            ),
            (
                ChannelScores {
                    content: None,
                    cf: Some(3.0),
                    popular: None,
                },
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
            write_item(
                &mut ours,
                item.rank,
                item.score,
                &channels,
                clicks[..because].iter().map(String::as_str),
                &ProductRef::from(&p),
            );
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&item).unwrap()
            );
        }
    }
}
