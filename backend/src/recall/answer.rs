//! A planned recall becomes its answer: the fused list enriched in recall order, as a typed
//! [`RecallResponse`] or written straight into JSON or bincode bytes.

use super::engine::{Encoding, Engine};
use super::fuse::Fused;
use super::loaded::Loaded;
use super::plan::Plan;
use crate::catalog;
use crate::error::{Error, Result};
use crate::util::ms_since;
use common::{ChannelCount, ChannelScores, RecallItem, RecallParams, RecallResponse, Timings};
use std::collections::BTreeMap;
use std::time::Instant;

/// Below this many items an answer is written on one thread: handing half to a helper costs
/// more than it saves.
const MIN_ITEMS_TO_SPLIT: usize = 64;
/// A written item's usual size, to size a buffer.
const ITEM_BYTES_GUESS: usize = 512;

/// Where a request reads product rows from (see [`Engine::row_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowSource {
    /// `products.rows`, by position in the build.
    Build,
    /// The catalog (SQLite), by rowid.
    Catalog,
}

/// The clicks whose bits are set in `mask` (bit i: `clicks[i]`), in click order.
#[derive(Clone, Copy)]
struct Because<'a> {
    clicks: &'a [String],
    mask: u128,
}

impl<'a> Because<'a> {
    fn of(clicks: &'a [String], f: &Fused) -> Self {
        Because {
            clicks,
            mask: f.because,
        }
    }

    fn iter(self) -> impl Iterator<Item = &'a str> {
        self.clicks
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.mask & (1u128 << i) != 0)
            .map(|(_, a)| a.as_str())
    }
}

/// A fused item's channel scores as (name, score), in name order (`by_name`: [`Plan::by_name`]).
fn scores<'a>(
    f: &'a Fused,
    channels: &'a [&'static str],
    by_name: &'a [usize],
) -> impl Iterator<Item = (&'static str, f32)> + 'a {
    by_name
        .iter()
        .filter_map(|&i| f.scores[i].map(|s| (channels[i], s)))
}

/// The per-channel counts of an answer whose items are `returned`, and the warnings a short or
/// click-less answer gets.
fn summarise<'a>(
    plan_channels: &[&'static str],
    candidates: &[usize],
    returned: impl Iterator<Item = &'a Fused>,
    topn: usize,
    no_clicks: bool,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, ChannelCount> {
    let mut counts: Vec<ChannelCount> = candidates
        .iter()
        .map(|&c| ChannelCount {
            candidates: c,
            returned: 0,
        })
        .collect();
    let mut n = 0;
    for f in returned {
        n += 1;
        for (i, c) in counts.iter_mut().enumerate() {
            c.returned += usize::from(f.scores[i].is_some());
        }
    }
    if n < topn {
        let found: Vec<String> = plan_channels
            .iter()
            .zip(candidates)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        warnings.push(format!(
            "{n} of {topn} items: candidates found by {}",
            found.join(", ")
        ));
    }
    if no_clicks {
        warnings.push("no clicks: only channels that need none (popular) can answer".into());
    }
    plan_channels
        .iter()
        .map(|c| (*c).to_owned())
        .zip(counts)
        .collect()
}

/// Sets a recall's total time, and emits its timings as one debug event
/// (`RUST_LOG=recall_lab::recall=debug`): where a server's time goes under a load generator's
/// back-to-back requests, which do not read the answer's own timings.
fn finish_timings(t: &mut Timings, started: Instant, parts_ms: &[(&'static str, f64)]) {
    t.total_ms = ms_since(started) + t.clicks_ms;
    let channels: Vec<String> = t
        .channels_ms
        .iter()
        .map(|(c, ms)| format!("{c}_ms={ms}"))
        .chain(parts_ms.iter().map(|(p, ms)| format!("{p}_ms={ms}")))
        .collect();
    tracing::debug!(
        channels = %channels.join(" "),
        fusion_ms = t.fusion_ms,
        enrich_ms = t.enrich_ms,
        total_ms = t.total_ms,
        "recall timings"
    );
}

/// Appends a typed answer in `encoding`.
pub fn encode_answer(answer: &RecallResponse, encoding: Encoding, out: &mut Vec<u8>) -> Result<()> {
    let failed = |message: String| Error::Format {
        path: "response".into(),
        message,
    };
    match encoding {
        Encoding::Json => serde_json::to_writer(out, answer).map_err(|e| failed(e.to_string())),
        Encoding::Bincode => {
            common::wire::encode_recall(answer, out).map_err(|e| failed(e.to_string()))
        }
    }
}

impl Engine {
    /// The typed answer: the fused list enriched in order (filters apply here).
    pub(super) fn materialise(&self, plan: Plan, params: &RecallParams) -> Result<RecallResponse> {
        super::deadline::check("enrichment")?;
        let by_name = plan.by_name();
        let Plan {
            loaded,
            user,
            clicks,
            fused,
            channels,
            candidates,
            source,
            used,
            mut timings,
            parts_ms,
            mut warnings,
            started,
            ..
        } = plan;
        let topn = used.topn;
        let t = Instant::now();
        let item = |f: &Fused, mut product: common::Product| {
            product.category_name = loaded.category_names.get(&product.category_id).cloned();
            let because = Because {
                clicks: &clicks,
                mask: f.because,
            }
            .iter()
            .map(str::to_owned)
            .collect();
            RecallItem {
                rank: 0,
                score: f.score,
                channels: scores(f, &channels, &by_name)
                    .map(|(c, s)| (c.to_owned(), s))
                    .collect::<ChannelScores>(),
                because,
                product,
            }
        };
        let mut kept: Vec<&Fused> = Vec::with_capacity(topn.min(fused.len()));
        let mut items: Vec<RecallItem> = if params.filters.is_empty() && source == RowSource::Build
        {
            // The fused list is the answer (fuse kept topn), and every row is in the build.
            let positions: Vec<u32> = fused.iter().map(|f| f.pos).collect();
            kept.extend(&fused);
            fused
                .iter()
                .zip(loaded.rows.products(&positions)?)
                .map(|(f, product)| item(f, product))
                .collect()
        } else {
            // Filters apply here: chunks of the fused list until topn pass.
            let mut items = Vec::with_capacity(topn.min(fused.len()));
            let chunk = topn.max(64);
            for batch in fused.chunks(chunk) {
                if items.len() >= topn {
                    break;
                }
                let products =
                    self.products_at(&loaded, source, batch.iter().map(|f| f.pos as usize))?;
                for (f, product) in batch.iter().zip(products) {
                    if items.len() >= topn {
                        break;
                    }
                    if let Some(product) = product.filter(|p| params.filters.accepts(p)) {
                        items.push(item(f, product));
                        kept.push(f);
                    }
                }
            }
            items
        };
        for (i, it) in items.iter_mut().enumerate() {
            it.rank = i + 1;
        }
        timings.enrich_ms = ms_since(t);
        let counts = summarise(
            &channels,
            &candidates,
            kept.into_iter(),
            topn,
            clicks.is_empty(),
            &mut warnings,
        );
        finish_timings(&mut timings, started, &parts_ms);
        Ok(RecallResponse {
            user,
            clicks,
            params: used,
            items,
            timings,
            counts,
            warnings,
        })
    }

    /// The encoded answer; see [`Engine::recall_into`].
    pub(super) fn encode(
        &self,
        plan: Plan,
        params: &RecallParams,
        encoding: Encoding,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let failed = |message: String| Error::Format {
            path: "response".into(),
            message,
        };
        super::deadline::check("enrichment")?;
        if !(params.filters.is_empty() && plan.source == RowSource::Build) {
            let answer = self.materialise(plan, params)?;
            return encode_answer(&answer, encoding, out);
        }
        let by_name = plan.by_name();
        let Plan {
            loaded,
            user,
            clicks,
            fused,
            channels,
            candidates,
            used,
            mut timings,
            parts_ms,
            mut warnings,
            started,
            ..
        } = plan;
        // Without filters, fuse kept exactly the answer: every fused item is returned.
        let counts = summarise(
            &channels,
            &candidates,
            fused.iter(),
            used.topn,
            clicks.is_empty(),
            &mut warnings,
        );
        let t = Instant::now();
        let positions: Vec<u32> = fused.iter().map(|f| f.pos).collect();
        loaded.rows.prefetch(&positions);
        let name = |id: i64| loaded.category_names.get(&id).map(String::as_str);
        match encoding {
            Encoding::Bincode => {
                let failed = |e: common::wire::WireError| failed(e.to_string());
                let mut w = common::wire::Writer::new(out);
                w.put(&(&user, &clicks, &used)).map_err(failed)?;
                w.put(&(fused.len() as u64)).map_err(failed)?;
                self.write_items(&fused, w.buffer(), |items, first_rank, out| {
                    let mut w = common::wire::Writer::new(out);
                    for (i, f) in items.iter().enumerate() {
                        // RecallItem's fields in order: rank, score, channels (a map: its
                        // length, then name and score pairs), because, then the product.
                        w.put(&((first_rank + i) as u64, f.score)).map_err(failed)?;
                        let n = by_name.iter().filter(|&&c| f.scores[c].is_some()).count();
                        w.put(&(n as u64)).map_err(failed)?;
                        for (c, s) in scores(f, &channels, &by_name) {
                            w.put(&(c, s)).map_err(failed)?;
                        }
                        w.put(&(Because::of(&clicks, f).iter().count() as u64))
                            .map_err(failed)?;
                        for a in Because::of(&clicks, f).iter() {
                            w.put(a).map_err(failed)?;
                        }
                        loaded
                            .rows
                            .encode_product(f.pos as usize, name, w.buffer())?;
                    }
                    Ok(())
                })?;
                timings.enrich_ms = ms_since(t);
                finish_timings(&mut timings, started, &parts_ms);
                w.put(&(&timings, &counts, &warnings)).map_err(failed)?;
            }
            Encoding::Json => {
                use crate::answer_json::{item_head, value};
                let failed = |e: serde_json::Error| failed(e.to_string());
                // RecallResponse's fields in order, with its omissions; the items by hand.
                out.push(b'{');
                if user.is_some() {
                    out.extend_from_slice(b"\"user\":");
                    value(out, &user).map_err(failed)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"\"clicks\":");
                value(out, &clicks).map_err(failed)?;
                out.extend_from_slice(b",\"params\":");
                value(out, &used).map_err(failed)?;
                out.extend_from_slice(b",\"items\":[");
                self.write_items(&fused, out, |items, first_rank, out| {
                    for (i, f) in items.iter().enumerate() {
                        let rank = first_rank + i;
                        if rank > 1 {
                            out.push(b',');
                        }
                        let channel_scores = scores(f, &channels, &by_name);
                        item_head(
                            out,
                            rank,
                            f.score,
                            channel_scores,
                            Because::of(&clicks, f).iter(),
                        );
                        loaded.rows.write_product_json(f.pos as usize, name, out)?;
                        out.push(b'}');
                    }
                    Ok(())
                })?;
                timings.enrich_ms = ms_since(t);
                finish_timings(&mut timings, started, &parts_ms);
                out.extend_from_slice(b"],\"timings\":");
                value(out, &timings).map_err(failed)?;
                out.extend_from_slice(b",\"counts\":");
                value(out, &counts).map_err(failed)?;
                if !warnings.is_empty() {
                    out.extend_from_slice(b",\"warnings\":");
                    value(out, &warnings).map_err(failed)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// Writes the answer's items with `write(items, rank of the first, out)`. A recall running
    /// alone writes them in two halves at once, the second on a helper thread into its own
    /// buffer, appended after the first: at c=1 the other core is idle once the search is done.
    /// Under load each recall writes its own items on its own thread.
    fn write_items(
        &self,
        fused: &[Fused],
        out: &mut Vec<u8>,
        write: impl Fn(&[Fused], usize, &mut Vec<u8>) -> Result<()> + Sync,
    ) -> Result<()> {
        if fused.len() < MIN_ITEMS_TO_SPLIT || !self.alone() {
            return write(fused, 1, out);
        }
        let mid = fused.len() / 2;
        let (head, tail) = fused.split_at(mid);
        let write = &write;
        let (here, there) = crate::cores::join(
            || write(head, 1, out),
            || {
                let mut buf = Vec::with_capacity(tail.len() * ITEM_BYTES_GUESS);
                write(tail, mid + 1, &mut buf).map(|()| buf)
            },
        );
        here?;
        let tail = there?;
        out.extend_from_slice(&tail);
        Ok(())
    }

    /// Where this request reads product rows from: `products.rows` while the catalog is at the
    /// build's revision; SQLite once an import has changed it (a row may have been updated),
    /// until the next reindex writes the rows again.
    pub(super) fn row_source(
        &self,
        loaded: &Loaded,
        conn: &rusqlite::Connection,
    ) -> Result<RowSource> {
        Ok(
            if catalog::catalog_revision(conn)? == loaded.rows.revision() {
                RowSource::Build
            } else {
                RowSource::Catalog
            },
        )
    }

    /// The products of build rows `positions`, in that order (`None`: no longer in the catalog).
    pub(super) fn products_at(
        &self,
        loaded: &Loaded,
        source: RowSource,
        positions: impl Iterator<Item = usize>,
    ) -> Result<Vec<Option<common::Product>>> {
        match source {
            RowSource::Build => positions
                .map(|p| loaded.rows.product(p).map(Some))
                .collect(),
            RowSource::Catalog => {
                let rowids = positions
                    .map(|p| loaded.rows.rowid(p))
                    .collect::<Result<Vec<i64>>>()?;
                catalog::products_by_rowid(&self.reader(), &rowids)
            }
        }
    }
}
