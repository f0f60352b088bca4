//! Popularity scores: one number per product from its sales, reviews, rating and bestseller
//! flag, stored so that the popularity channel reads only the top of an index.

use crate::error::Result;
use rusqlite::{Connection, params};

/// Popularity in 0..=1 from boughtInLastMonth, reviews, stars and isBestSeller; recomputed
/// after every import that changed rows, so requests only read the top of an index.
pub fn compute_popularity(c: &Connection) -> Result<()> {
    let (max_bought, max_reviews): (f64, f64) = c.query_row(
        "SELECT max(coalesce(boughtInLastMonth, 0)), max(coalesce(reviews, 0)) FROM amazon_products",
        [],
        |r| Ok((r.get::<_, Option<f64>>(0)?.unwrap_or(0.0), r.get::<_, Option<f64>>(1)?.unwrap_or(0.0))),
    )?;
    let lb = (1.0 + max_bought.max(0.0)).ln().max(1e-9);
    let lr = (1.0 + max_reviews.max(0.0)).ln().max(1e-9);
    let tx = c.unchecked_transaction()?;
    tx.execute("DELETE FROM product_popularity", [])?;
    {
        let mut read = tx.prepare(
            "SELECT asin, coalesce(boughtInLastMonth,0), coalesce(reviews,0), coalesce(stars,0), coalesce(isBestSeller,0),
                    coalesce(price,0), coalesce(category_id,0)
             FROM amazon_products WHERE asin IS NOT NULL",
        )?;
        let mut write = tx.prepare(
            "INSERT INTO product_popularity(asin, score, price, stars, category_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let asin: String = r.get(0)?;
            let score = popularity(
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, i64>(4)? != 0,
                lb,
                lr,
            );
            let (stars, price, category): (f64, f64, i64) = (r.get(3)?, r.get(5)?, r.get(6)?);
            write.execute(params![asin, score, price, stars, category])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The popularity formula: sales and review volume dominate, rating is shrunk towards 3.5 by a
/// Bayesian prior of 20 reviews, and bestsellers get a bonus.
pub fn popularity(
    bought: f64,
    reviews: f64,
    stars: f64,
    bestseller: bool,
    log_max_bought: f64,
    log_max_reviews: f64,
) -> f64 {
    let sales = (1.0 + bought.max(0.0)).ln() / log_max_bought;
    let volume = (1.0 + reviews.max(0.0)).ln() / log_max_reviews;
    let prior = 20.0;
    let rating = if stars > 0.0 {
        (stars * reviews.max(0.0) + 3.5 * prior) / (reviews.max(0.0) + prior)
    } else {
        3.0
    } / 5.0;
    0.45 * sales + 0.25 * volume + 0.2 * rating + if bestseller { 0.1 } else { 0.0 }
}
