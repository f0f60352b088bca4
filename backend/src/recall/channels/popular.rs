//! The popularity channel: the catalog's most popular items (sales, reviews, rating,
//! bestseller), which also answers users without clicks.

use super::{Cand, Channel, Input, Output};
use crate::error::Result;

pub struct Popular;

impl Channel for Popular {
    fn name(&self) -> &'static str {
        "popular"
    }

    fn description(&self) -> &'static str {
        "the most popular items (bought last month, reviews, stars, bestseller)"
    }

    fn default_weight(&self) -> f32 {
        0.2
    }

    fn seed_order(&self) -> u8 {
        2
    }

    fn recall(&self, input: &Input<'_>) -> Result<Output> {
        let f = &input.params.filters;
        // With a category filter the category's own ranking holds more of its items.
        let ranking = match f.category {
            Some(c) => input.loaded.popular_in(c),
            None => &input.loaded.popular,
        };
        let list = ranking
            .iter()
            .filter(|e| {
                !input.clicked.contains(&e.pos) && f.accepts_values(e.category, e.price, e.stars)
            })
            .take(input.params.topn)
            .map(|e| Cand {
                pos: e.pos,
                score: e.score,
                because: 0,
            })
            .collect();
        Ok(Output {
            list,
            ..Default::default()
        })
    }
}
