//! The JSON of a recall item's head (rank, score, channel scores, because) written from the
//! fused list without building a typed `RecallItem` first; the product after it is serde's.
//!
//! Invariant: the field names, their order and their omissions are those of
//! `common::RecallItem`; a unit test and the engine tests compare the bytes with serde_json's.

use serde::Serialize;

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
        number(out, name);
        out.push(b':');
        number(out, v);
    }
    out.extend_from_slice(b"},\"because\":[");
    for (i, a) in because.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        number(out, a);
    }
    out.extend_from_slice(b"],\"product\":");
}

/// Appends `value` as serde_json writes it (also how a non-finite float becomes `null`).
pub fn value(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// A number or string as serde_json writes it; neither can fail to serialise.
fn number(out: &mut Vec<u8>, n: impl Serialize) {
    value(out, &n).expect("a number or string serialises");
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
            value(&mut ours, &p).expect("product");
            ours.push(b'}');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&item).unwrap()
            );
        }
    }
}
