//! The product record: one row of the seed's `amazon_products` table, as the server stores,
//! imports and sends it.

use bincode::{BorrowDecode, Decode, Encode};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Declares [`Product`] and its borrowed view [`ProductRef`] from one field list: each field
/// with its name on the wire, its owned and its borrowed type, so that the two types, the serde
/// names, [`Product::COLUMNS`] and [`ProductRef::fields`] cannot drift apart.
macro_rules! product_record {
    ($($(#[$attr:meta])* $field:ident $name:literal: $owned:ty => $borrowed:ty,)*) => {
        /// One row of the seed's `amazon_products` table, with the category's name when known.
        /// Field names on the wire are the seed's column names.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
        #[cfg_attr(feature = "openapi", derive(ToSchema))]
        pub struct Product {
            $($(#[$attr])* #[serde(rename = $name)] pub $field: $owned,)*
        }

        /// A [`Product`] whose strings borrow from where it was read (a stored record): it
        /// decodes from the same bincode and serialises to the same JSON, without allocating
        /// and without checking its strings' UTF-8 until they are used ([`Text`]).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, BorrowDecode)]
        pub struct ProductRef<'a> {
            $($(#[$attr])* #[serde(rename = $name)] pub $field: $borrowed,)*
        }

        /// Every field's wire name, in declaration order.
        const NAMES: [&str; [$($name),*].len()] = [$($name),*];

        impl<'a> ProductRef<'a> {
            /// Every field as (wire name, value), in declaration order: what a writer needs to
            /// produce the product's JSON without serde's per-byte string escaping.
            pub fn fields(&self) -> [(&'static str, FieldValue<'a>); NAMES.len()] {
                [$(($name, FieldValue::from(self.$field))),*]
            }
        }
    };
}

product_record! {
    asin "asin": String => Text<'a>,
    title "title": String => Text<'a>,
    img_url "imgUrl": String => Text<'a>,
    product_url "productURL": String => Text<'a>,
    stars "stars": f64 => f64,
    reviews "reviews": i64 => i64,
    price "price": f64 => f64,
    /// 0.0 means "no list price" (the dataset's convention).
    list_price "listPrice": f64 => f64,
    category_id "category_id": i64 => i64,
    is_best_seller "isBestSeller": bool => bool,
    bought_in_last_month "boughtInLastMonth": i64 => i64,
    /// Last, so that a stored product without it is its wire bincode up to a final `None`
    /// (`products.rows` relies on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category_name "category_name": Option<String> => Option<Text<'a>>,
}

/// A string field of a [`ProductRef`]: the bytes of a stored record's string, whose UTF-8 is
/// checked when they are read as text ([`Text::as_str`], serde) rather than when the record
/// is decoded, so a writer that copies printable ASCII (almost every catalog string) skips it.
/// Its bincode is a `&str`'s.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    /// The bytes, not yet checked as UTF-8.
    pub fn as_bytes(self) -> &'a [u8] {
        self.0
    }

    /// The string; an error if the stored bytes are not UTF-8.
    pub fn as_str(self) -> Result<&'a str, std::str::Utf8Error> {
        std::str::from_utf8(self.0)
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text(s.as_bytes())
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&String::from_utf8_lossy(self.0), f)
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.as_str().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(s)
    }
}

impl<'de, Context> BorrowDecode<'de, Context> for Text<'de> {
    fn borrow_decode<D: bincode::de::BorrowDecoder<'de, Context = Context>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        <&'de [u8]>::borrow_decode(decoder).map(Text)
    }
}

/// One field of a [`ProductRef`], as [`ProductRef::fields`] yields it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Str(Text<'a>),
    F64(f64),
    I64(i64),
    Bool(bool),
    /// A `None`, which the JSON omits (the only optional field, `category_name`, is skipped
    /// when absent).
    Absent,
}

impl<'a> From<Text<'a>> for FieldValue<'a> {
    fn from(s: Text<'a>) -> Self {
        FieldValue::Str(s)
    }
}

impl<'a> From<Option<Text<'a>>> for FieldValue<'a> {
    fn from(s: Option<Text<'a>>) -> Self {
        s.map_or(FieldValue::Absent, FieldValue::Str)
    }
}

impl From<f64> for FieldValue<'_> {
    fn from(x: f64) -> Self {
        FieldValue::F64(x)
    }
}

impl From<i64> for FieldValue<'_> {
    fn from(x: i64) -> Self {
        FieldValue::I64(x)
    }
}

impl From<bool> for FieldValue<'_> {
    fn from(x: bool) -> Self {
        FieldValue::Bool(x)
    }
}

impl Product {
    /// The seed's `amazon_products` columns in its order: every field's wire name but the last,
    /// `category_name`, so the catalog's SQL and CSV column lists come from here.
    pub const COLUMNS: [&'static str; NAMES.len() - 1] = {
        let mut columns = [""; NAMES.len() - 1];
        let mut i = 0;
        while i < columns.len() {
            columns[i] = NAMES[i];
            i += 1;
        }
        columns
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product without a category name serialises to exactly `COLUMNS`, in that order.
    #[test]
    fn columns_are_the_serde_names_in_order() {
        let p = Product {
            asin: "B1".into(),
            title: "Mug".into(),
            img_url: String::new(),
            product_url: String::new(),
            stars: 4.5,
            reviews: 3,
            price: 9.99,
            list_price: 0.0,
            category_id: 7,
            category_name: None,
            is_best_seller: false,
            bought_in_last_month: 50,
        };
        let json = serde_json::to_string(&p).unwrap();
        let keys: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(keys.len(), Product::COLUMNS.len());
        let at: Vec<usize> = Product::COLUMNS
            .iter()
            .map(|c| json.find(&format!("\"{c}\":")).expect(c))
            .collect();
        assert!(at.is_sorted(), "{json}");
    }

    /// The view reads a stored product's bincode and writes the same JSON as the product.
    #[test]
    fn the_borrowed_view_is_the_same_record() {
        let mut p = Product {
            asin: "B1".into(),
            title: "Zoë \"mug\"".into(),
            img_url: String::new(),
            product_url: "u".into(),
            stars: 4.5,
            reviews: -3,
            price: 1e9,
            list_price: 0.0,
            category_id: 300,
            is_best_seller: true,
            bought_in_last_month: 70_000,
            category_name: None,
        };
        let mut bytes = Vec::new();
        crate::wire::encode_product(&p, &mut bytes).unwrap();
        let mut view = crate::wire::decode_product_ref(&bytes).unwrap();
        view.category_name = Some("Kitchen".into());
        p.category_name = Some("Kitchen".into());
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            serde_json::to_string(&p).unwrap()
        );
        assert_eq!(view.title.as_str(), Ok(p.title.as_str()));
        assert!(crate::wire::decode_product_ref(&bytes[..bytes.len() - 1]).is_err());
        // A stored string that is not UTF-8 decodes, and fails where it is read as text.
        let at = bytes.windows(2).position(|w| w == "ë".as_bytes()).unwrap();
        bytes[at] = 0xff;
        let view = crate::wire::decode_product_ref(&bytes).unwrap();
        assert!(view.title.as_str().is_err());
        assert!(serde_json::to_string(&view).is_err());
    }
}
