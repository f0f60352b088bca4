//! The content channel: title-embedding neighbours of the clicks, from one batched search of
//! the index, each row's similarities aggregated over the clicks that reached it.

use super::{Channel, Input, Output};
use crate::error::Result;
use crate::recall::aggregate::aggregate_hits;
use crate::util::ms_since;
use std::time::Instant;

pub struct Content;

impl Channel for Content {
    fn name(&self) -> &'static str {
        "content"
    }

    fn description(&self) -> &'static str {
        "title-embedding neighbours of the recent clicks, from the FAISS index"
    }

    fn seed_order(&self) -> u8 {
        1
    }

    fn recall(&self, input: &Input<'_>) -> Result<Output> {
        let mut out = Output::default();
        if input.clicks.is_empty() {
            return Ok(out);
        }
        let loaded = input.loaded;
        let mut queries = Vec::with_capacity(input.clicks.len() * loaded.vectors.cols());
        let mut sources = Vec::with_capacity(input.clicks.len());
        for (i, a) in input.clicks.iter().enumerate() {
            if let Some(p) = loaded.asins.position(a) {
                loaded.vectors.extend_row(p as usize, &mut queries)?;
                sources.push(i);
            } else {
                out.warnings.push(format!(
                    "clicked item {a} has no vector (added after the last build); the content channel skips it"
                ));
            }
        }
        let found = loaded
            .index
            .search_any_order(&queries, input.k, input.nprobe)?;
        let t = Instant::now();
        out.list = aggregate_hits(&found, &sources, input.clicked, input.params.aggregate);
        out.parts_ms.push(("aggregate", ms_since(t)));
        Ok(out)
    }
}
