//! The product record: one row of the seed's `amazon_products` table, as the server stores,
//! imports and sends it.

use bincode::{BorrowDecode, Decode, Encode};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Declares [`Product`] and its borrowed view [`ProductRef`] from one field list: each field
/// with its owned and its borrowed type, so the two cannot drift apart.
macro_rules! product_record {
    ($($(#[$attr:meta])* $field:ident: $owned:ty => $borrowed:ty,)*) => {
        /// One row of the seed's `amazon_products` table, with the category's name when known.
        /// Field names on the wire are the seed's column names.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
        #[cfg_attr(feature = "openapi", derive(ToSchema))]
        pub struct Product {
            $($(#[$attr])* pub $field: $owned,)*
        }

        /// A [`Product`] whose strings borrow from where it was read (a stored record): it
        /// decodes from the same bincode and serialises to the same JSON, without allocating.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, BorrowDecode)]
        pub struct ProductRef<'a> {
            $($(#[$attr])* pub $field: $borrowed,)*
        }
    };
}

product_record! {
    asin: String => &'a str,
    title: String => &'a str,
    #[serde(rename = "imgUrl")]
    img_url: String => &'a str,
    #[serde(rename = "productURL")]
    product_url: String => &'a str,
    stars: f64 => f64,
    reviews: i64 => i64,
    price: f64 => f64,
    /// 0.0 means "no list price" (the dataset's convention).
    #[serde(rename = "listPrice")]
    list_price: f64 => f64,
    category_id: i64 => i64,
    #[serde(rename = "isBestSeller")]
    is_best_seller: bool => bool,
    #[serde(rename = "boughtInLastMonth")]
    bought_in_last_month: i64 => i64,
    /// Last, so that a stored product without it is its wire bincode up to a final `None`
    /// (`products.rows` relies on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category_name: Option<String> => Option<&'a str>,
}

impl Product {
    /// The seed's `amazon_products` columns in its order, which are also the serde names of
    /// every field but `category_name`, so the catalog's SQL and CSV column lists come from here.
    pub const COLUMNS: [&'static str; 11] = [
        "asin",
        "title",
        "imgUrl",
        "productURL",
        "stars",
        "reviews",
        "price",
        "listPrice",
        "category_id",
        "isBestSeller",
        "boughtInLastMonth",
    ];
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
        view.category_name = Some("Kitchen");
        p.category_name = Some("Kitchen".into());
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            serde_json::to_string(&p).unwrap()
        );
        assert_eq!(view.title, p.title);
        assert!(crate::wire::decode_product_ref(&bytes[..bytes.len() - 1]).is_err());
    }
}
