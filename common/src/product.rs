//! The product record: one row of the seed's `amazon_products` table, as the server stores,
//! imports and sends it.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One row of the seed's `amazon_products` table, with the category's name when known.
/// Field names on the wire are the seed's column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Product {
    pub asin: String,
    pub title: String,
    #[serde(rename = "imgUrl")]
    pub img_url: String,
    #[serde(rename = "productURL")]
    pub product_url: String,
    pub stars: f64,
    pub reviews: i64,
    pub price: f64,
    /// 0.0 means "no list price" (the dataset's convention).
    #[serde(rename = "listPrice")]
    pub list_price: f64,
    pub category_id: i64,
    #[serde(rename = "isBestSeller")]
    pub is_best_seller: bool,
    #[serde(rename = "boughtInLastMonth")]
    pub bought_in_last_month: i64,
    /// Last, so that a stored product without it is its wire bincode up to a final `None`
    /// (`products.rows` relies on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_name: Option<String>,
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
}
