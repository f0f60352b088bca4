//! The category channel: the best sellers and most popular items of the clicked items'
//! categories, for exploration inside the user's interests. An item's score is its popularity
//! times the share of the clicks that fell in its category.

use super::{Cand, Channel, Input, Output};
use crate::error::Result;
use crate::recall::keys::best_first_key;

pub struct Category;

impl Channel for Category {
    fn name(&self) -> &'static str {
        "category"
    }

    fn description(&self) -> &'static str {
        "best sellers and most popular items of the clicked items' categories"
    }

    fn default_weight(&self) -> f32 {
        0.5
    }

    fn on_by_default(&self) -> bool {
        false
    }

    fn seed_order(&self) -> u8 {
        3
    }

    fn recall(&self, input: &Input<'_>) -> Result<Output> {
        let loaded = input.loaded;
        // Each clicked category with the clicks that fell in it (bit i: click i).
        let mut categories: Vec<(i64, u128)> = Vec::new();
        let mut counted = 0u32;
        for (i, asin) in input.clicks.iter().enumerate() {
            let Some(pos) = loaded.asins.position(asin) else {
                continue;
            };
            let id = loaded.rows.product(pos as usize)?.category_id;
            match categories.iter_mut().find(|(c, _)| *c == id) {
                Some((_, mask)) => *mask |= 1u128 << i,
                None => categories.push((id, 1u128 << i)),
            }
            counted += 1;
        }
        let f = &input.params.filters;
        let mut list = Vec::new();
        for &(id, mask) in &categories {
            let share = mask.count_ones() as f32 / counted as f32;
            list.extend(
                loaded
                    .popular_in(id)
                    .iter()
                    .filter(|e| {
                        !input.clicked.contains(&e.pos)
                            && f.accepts_values(e.category, e.price, e.stars)
                    })
                    .take(input.params.topn)
                    .map(|e| Cand {
                        pos: e.pos,
                        score: e.score * share,
                        because: mask,
                    }),
            );
        }
        // An item has one category, so the lists share no row.
        list.sort_unstable_by_key(|c: &Cand| best_first_key(c.score, c.pos));
        list.truncate(input.params.topn);
        Ok(Output {
            list,
            ..Default::default()
        })
    }
}
