//! The JSON of a recall answer's items written by hand from the stored product rows: byte for
//! byte what `serde_json` writes for the same `RecallItem`s, without its per-byte escaping loop
//! for the strings (nearly all of them) that need no escaping.
//!
//! Why: serde_json scans every string a byte at a time; for the 500 items of an answer (titles,
//! URLs, asins, and twenty keys each) that scan took 0.4 ms of CPU a request at 100k items
//! (perf, c=32), more than the rest of the JSON. Here keys are written as constants, a stored
//! string of plain ASCII is copied whole from the mapped file (one vector scan finds it plain:
//! no separate UTF-8 check, which took 2% of the server's CPU under a JSON load), and numbers,
//! the rare string that needs escaping or holds non-ASCII text, and everything outside the items
//! go through serde_json itself, so the text cannot drift from serde's. Invariant: the field
//! names, their order and their omissions are those of `common::RecallItem`, `ChannelScores` and
//! `Product`; the engine tests compare the bytes with serde_json's for whole answers.

use crate::rows::StoredRow;
use serde::Serialize;

/// Appends the start of one `RecallItem`: its fields up to and including the `"product":` key,
/// which [`product`] then completes (and `}` closes the item).
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

/// Appends a stored row as a `Product` with the category name `category_name`. Its strings
/// are the file's bytes: one that is printable ASCII without a quote or backslash (nearly all)
/// is copied as it is, any other is checked as UTF-8 first (the error) and escaped by
/// serde_json.
pub fn product(
    out: &mut Vec<u8>,
    p: &StoredRow<'_>,
    category_name: Option<&str>,
) -> Result<(), std::str::Utf8Error> {
    out.extend_from_slice(b"{\"asin\":");
    stored_string(out, p.asin)?;
    out.extend_from_slice(b",\"title\":");
    stored_string(out, p.title)?;
    out.extend_from_slice(b",\"imgUrl\":");
    stored_string(out, p.img_url)?;
    out.extend_from_slice(b",\"productURL\":");
    stored_string(out, p.product_url)?;
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
    if let Some(name) = category_name {
        out.extend_from_slice(b",\"category_name\":");
        string(out, name);
    }
    out.extend_from_slice(b",\"isBestSeller\":");
    out.extend_from_slice(if p.is_best_seller { b"true" } else { b"false" });
    out.extend_from_slice(b",\"boughtInLastMonth\":");
    number(out, p.bought_in_last_month);
    out.push(b'}');
    Ok(())
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
    if any_byte(s.as_bytes(), |b| (b < 0x20) | (b == b'"') | (b == b'\\')) {
        value(out, &s).expect("a string serialises");
    } else {
        quoted(out, s.as_bytes());
    }
}

/// A string from stored bytes: copied whole between quotes when every byte is printable ASCII
/// other than a quote or a backslash (such bytes are UTF-8 and need no escaping), else checked
/// as UTF-8 and written by [`string`].
fn stored_string(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    // As i8, bytes from 0x80 up are negative: one compare finds control bytes and non-ASCII.
    if any_byte(bytes, |b| ((b as i8) < 0x20) | (b == b'"') | (b == b'\\')) {
        string(out, std::str::from_utf8(bytes)?);
    } else {
        quoted(out, bytes);
    }
    Ok(())
}

fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// Whether `hit` holds for a byte of `bytes`, checked 16 bytes at a time without branches
/// (which the compiler turns into vector compares), the last bytes as one more (overlapping or
/// padded) chunk of 16 rather than one at a time.
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
            let want = serde_json::to_string(s).unwrap();
            let mut ours = Vec::new();
            string(&mut ours, s);
            assert_eq!(String::from_utf8(ours).unwrap(), want, "{s:?}");
            let mut stored = Vec::new();
            stored_string(&mut stored, s.as_bytes()).expect("UTF-8");
            assert_eq!(String::from_utf8(stored).unwrap(), want, "stored {s:?}");
        }
        // Every length around the 16-byte chunks, with the one byte to find at each place.
        for len in 1..=40 {
            for at in 0..len {
                for (odd, escaped) in [('"', true), ('\u{7f}', false), ('é', false)] {
                    let s: String = (0..len).map(|i| if i == at { odd } else { 'x' }).collect();
                    let want = serde_json::to_string(&s).unwrap();
                    assert_eq!(want.len() > s.len() + 2, escaped, "{s:?}");
                    let mut stored = Vec::new();
                    stored_string(&mut stored, s.as_bytes()).expect("UTF-8");
                    assert_eq!(String::from_utf8(stored).unwrap(), want, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn stored_strings_that_are_not_utf8_are_refused() {
        for bytes in [
            &b"\xff"[..],
            b"plain ascii text up to here, then \xc3",
            b"\xe2\x82",
        ] {
            let mut out = Vec::new();
            assert!(stored_string(&mut out, bytes).is_err(), "{bytes:?}");
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
            let stored = StoredRow {
                rowid: 3,
                asin: p.asin.as_bytes(),
                title: p.title.as_bytes(),
                img_url: p.img_url.as_bytes(),
                product_url: p.product_url.as_bytes(),
                stars: p.stars,
                reviews: p.reviews,
                price: p.price,
                list_price: p.list_price,
                category_id: p.category_id,
                is_best_seller: p.is_best_seller,
                bought_in_last_month: p.bought_in_last_month,
            };
            super::product(&mut ours, &stored, name).expect("UTF-8");
            ours.push(b'}');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&item).unwrap()
            );
        }
    }
}
