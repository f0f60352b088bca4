//! The content channel: title-embedding neighbours of the clicks, from one batched search of
//! the index, each row's similarities aggregated over the clicks that reached it.

use super::{Channel, Input, Output};
use crate::error::Result;
use crate::index::{Order, Query};
use crate::recall::aggregate::aggregate_hits;
use crate::util::ms_since;
use std::time::Instant;

pub struct Content;

impl Channel for Content {
    fn name(&self) -> &'static str {
        "content"
    }

    fn description(&self) -> &'static str {
        "title-embedding neighbours of the recent clicks, from the vector index (FAISS or Milvus)"
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
        let filters = &input.params.filters;
        let mut found = loaded.index.search(&Query {
            vectors: &queries,
            k: input.k,
            nprobe: input.nprobe,
            filters: (!filters.is_empty()).then_some(filters),
            order: Order::Any,
        })?;
        if let Some(ms) = found.engine_ms {
            out.parts_ms.push(("engine_search", ms));
        }
        if !filters.is_empty() && !loaded.index.filters_in_search() {
            // Filtered here, before ranking, as an engine that filters in its search would
            // have: the channel's ranks count only items the answer can show.
            for label in found.labels.iter_mut().filter(|l| **l >= 0) {
                if !loaded.rows.accepts(*label as usize, filters)? {
                    *label = -1;
                }
            }
        }
        let t = Instant::now();
        out.list = aggregate_hits(&found, &sources, input.clicked, input.params.aggregate);
        out.parts_ms.push(("aggregate", ms_since(t)));
        Ok(out)
    }
}
