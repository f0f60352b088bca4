//! The binary form of a recall answer, `application/vnd.recall-lab.v2+bincode`: bincode
//! (standard config) of [`RecallResponse`]. The browser app asks for it; other clients get JSON.
//!
//! An answer is smaller than its JSON and cheaper to write and read, because bincode has no
//! field names, no escaping and no number formatting. The format version is part of the media
//! type: a change to the encoded types gets a new type, and a server answers JSON to a client
//! that asks only for a type it does not know.

use crate::RecallResponse;
use std::fmt;

/// The media type of a bincode recall answer (format version 2).
pub const RECALL_BINCODE: &str = "application/vnd.recall-lab.v2+bincode";

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// A body that is not a complete version-2 bincode recall answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad binary recall answer: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Appends the answer's bincode form to `out`.
pub fn encode_recall(answer: &RecallResponse, out: &mut Vec<u8>) -> Result<(), WireError> {
    encode_value(answer, out)
}

/// Appends a product in this format's bincode (the form `products.rows` stores).
pub fn encode_product(product: &crate::Product, out: &mut Vec<u8>) -> Result<(), WireError> {
    encode_value(product, out)
}

/// Reads a whole product written by [`encode_product`]; trailing bytes are an error.
pub fn decode_product(bytes: &[u8]) -> Result<crate::Product, WireError> {
    decode_whole(bytes, "product")
}

/// Reads a whole product written by [`encode_product`] as a view borrowing its strings from
/// `bytes`; trailing bytes are an error.
pub fn decode_product_ref(bytes: &[u8]) -> Result<crate::ProductRef<'_>, WireError> {
    decode_whole(bytes, "product")
}

/// Reads one whole value (strings may borrow from `bytes`); trailing bytes are an error.
fn decode_whole<'a, T: bincode::BorrowDecode<'a, ()>>(
    bytes: &'a [u8],
    what: &str,
) -> Result<T, WireError> {
    let (value, used) =
        bincode::borrow_decode_from_slice(bytes, config()).map_err(|e| WireError(e.to_string()))?;
    if used != bytes.len() {
        return Err(WireError(format!(
            "{} bytes left after the {what}",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// Appends any value in this format's bincode.
pub fn encode_value<T: bincode::Encode + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    bincode::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| WireError(e.to_string()))
}

/// Appends bincode values to a buffer in this format's configuration, for a writer that
/// assembles an answer field by field (the server copies stored product records into it).
/// Writing a [`RecallResponse`]'s fields in order, as [`encode_recall`] would, is the caller's
/// contract; `decode_recall` of the result checks it.
pub struct Writer<'a>(&'a mut Vec<u8>);

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Writer(out)
    }

    /// Appends `value` (a tuple appends its fields in order, like a struct).
    pub fn put<T: bincode::Encode + ?Sized>(&mut self, value: &T) -> Result<(), WireError> {
        encode_value(value, self.0)
    }

    /// The buffer, to append bytes that are already in this format.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.0
    }
}

/// Reads a whole body written by [`encode_recall`]; trailing bytes are an error.
pub fn decode_recall(bytes: &[u8]) -> Result<RecallResponse, WireError> {
    decode_whole(bytes, "answer")
}

/// Whether an `Accept` header value asks for [`RECALL_BINCODE`] (with a non-zero quality).
pub fn accepts_bincode(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        media.eq_ignore_ascii_case(RECALL_BINCODE)
            && parts.all(|p| {
                let p = p.trim();
                match p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                    Some(q) => q.trim().parse::<f32>().is_ok_and(|q| q > 0.0),
                    None => true,
                }
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn answer() -> RecallResponse {
        let product = Product {
            asin: "B000000001".into(),
            title: "Zoë's \"quoted\" mug, 12 oz".into(),
            img_url: "https://example.com/i.jpg".into(),
            product_url: "https://www.amazon.com/dp/B000000001".into(),
            stars: 4.5,
            reviews: 1234,
            price: 12.99,
            list_price: 0.0,
            category_id: 7,
            category_name: Some("Kitchen".into()),
            is_best_seller: true,
            bought_in_last_month: -1,
        };
        RecallResponse {
            user: None,
            clicks: vec!["B000000002".into()],
            params: UsedParams {
                topn: 2,
                nprobe: Some(16),
                k_per_click: 3,
                fusion: Fusion::Weighted,
                aggregate: Aggregate::Sum,
                channels: vec!["content".into(), "popular".into()],
                weights: [("content".into(), 1.0), ("popular".into(), 0.2)].into(),
                recent_clicks: 10,
                filters: Filters {
                    min_price: Some(5.0),
                    ..Default::default()
                },
            },
            items: vec![RecallItem {
                rank: 1,
                score: 0.25,
                channels: [("content".into(), 0.9), ("popular".into(), -0.0)].into(),
                because: vec!["B000000002".into()],
                product,
            }],
            timings: Timings {
                total_ms: 1.5,
                ..Default::default()
            },
            counts: [(
                "content".into(),
                ChannelCount {
                    candidates: 3,
                    returned: 1,
                },
            )]
            .into(),
            warnings: vec!["1 of 2 items".into()],
        }
    }

    #[test]
    fn an_answer_comes_back_equal_and_a_cut_or_padded_body_is_refused() {
        let a = answer();
        let mut bytes = Vec::new();
        encode_recall(&a, &mut bytes).unwrap();
        assert_eq!(decode_recall(&bytes).unwrap(), a);
        assert!(decode_recall(&bytes[..bytes.len() - 1]).is_err());
        bytes.push(0);
        assert!(decode_recall(&bytes).is_err());
    }

    #[test]
    fn accept_headers_choose_bincode_only_when_they_name_it() {
        assert!(accepts_bincode(RECALL_BINCODE));
        assert!(accepts_bincode(&format!(
            "application/json;q=0.5, {RECALL_BINCODE}"
        )));
        assert!(accepts_bincode(&format!("{RECALL_BINCODE} ; q=0.8")));
        assert!(!accepts_bincode(&format!("{RECALL_BINCODE};q=0")));
        assert!(!accepts_bincode("*/*"));
        assert!(!accepts_bincode("application/json"));
        assert!(!accepts_bincode("application/vnd.recall-lab.v1+bincode"));
    }
}
