//! A recall up to its fused list: the clicks, the channels that run with their weights, their
//! candidate lists, and fusion. What both answer forms (`answer`) start from.

use super::answer::RowSource;
use super::channels::{self, Input};
use super::engine::Engine;
use super::fuse::{FuseInput, Fused, fuse};
use super::loaded::Loaded;
use super::snapshot::Snapshot;
use crate::clicks;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::util::ms_since;
use common::{RecallParams, Timings, UsedParams};
use std::sync::Arc;
use std::time::Instant;

/// A planned recall.
pub(super) struct Plan {
    pub loaded: Arc<Loaded>,
    pub user: Option<String>,
    /// The clicks that drove it, most recent first.
    pub clicks: Vec<String>,
    pub fused: Vec<Fused>,
    /// The channels that ran: `fused[_].scores[i]` is channel `channels[i]`'s score.
    pub channels: Vec<&'static str>,
    /// Each channel's candidate count, in `channels` order.
    pub candidates: Vec<usize>,
    /// Each channel's list and weight, in `channels` order, kept for [`Engine::explain`].
    pub lists: Vec<(channels::Ranked, f32)>,
    pub source: RowSource,
    pub used: UsedParams,
    pub timings: Timings,
    /// Parts of the channels' times, for the timings log.
    pub parts_ms: Vec<(&'static str, f64)>,
    pub warnings: Vec<String>,
    pub started: Instant,
}

impl Plan {
    /// The indexes of `channels` in name order: the order of a channel-keyed map on the wire.
    pub fn by_name(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.channels.len()).collect();
        order.sort_by_key(|&i| self.channels[i]);
        order
    }
}

impl Engine {
    /// A stored user's plan: their most recent clicks drive it.
    pub(super) fn plan_user(&self, user: &UserId, params: &RecallParams) -> Result<Plan> {
        let t = Instant::now();
        let clicks = {
            let c = self.conn()?;
            if !clicks::user_exists(&c, user)? {
                return Err(Error::UnknownUser(user.to_string()));
            }
            clicks::recent_clicks(&c, user, params.recent_clicks)?
        };
        let clicks_ms = ms_since(t);
        let mut plan = self.plan(&clicks, Some(user), params)?;
        plan.timings.clicks_ms = clicks_ms;
        Ok(plan)
    }

    /// Everything up to the fused list: clicks, the channels, fusion. Callers hold
    /// [`Engine::running`] for the whole request.
    pub(super) fn plan(
        &self,
        clicks_recent_first: &[String],
        user: Option<&UserId>,
        params: &RecallParams,
    ) -> Result<Plan> {
        let started = Instant::now();
        params.validate()?;
        let chosen = channels::resolve(params)?;
        let loaded = self.current();
        let mut clicks: Vec<String> = Vec::new();
        for a in clicks_recent_first {
            if !clicks.contains(a) {
                clicks.push(a.clone());
            }
        }
        clicks.truncate(params.recent_clicks);
        let clicked: Vec<u32> = clicks
            .iter()
            .filter_map(|a| loaded.asins.position(a))
            .collect();
        let topn = params.topn;
        // With filters, fetch more so that enough candidates survive them.
        let overfetch = if params.filters.is_empty() { 1 } else { 4 };
        let k = ((topn + clicks.len()) * overfetch).min(loaded.index.ntotal().max(1));
        let nprobe = match params.nprobe {
            Some(_) => loaded.index.check_nprobe(params.nprobe)?,
            None => loaded.index.nprobe_for_k(k),
        };
        // What the engine chose for the reader, in words (the app shows these above a recall).
        let mut warnings = Vec::new();
        if let (None, Some(used), Some(default)) =
            (params.nprobe, nprobe, loaded.index.default_nprobe())
            && used > default
        {
            warnings.push(format!(
                "nprobe raised from {default} to {used} so that {k} items per click are reachable"
            ));
        }
        if !params.filters.is_empty() {
            warnings.push(format!(
                "filters: {overfetch}× the candidates fetched ({k} per click) so that enough pass them"
            ));
        }
        let snapshot = Snapshot::new(&self.pool);
        let cf = self.cf_model();
        let input = Input {
            loaded: &loaded,
            cf: cf.as_deref(),
            clicks: &clicks,
            clicked: &clicked,
            user,
            params,
            k,
            nprobe,
            catalog: &snapshot,
        };
        let mut timings = Timings::default();
        let mut parts_ms = Vec::new();
        let mut lists = Vec::with_capacity(chosen.len());
        for (channel, _) in &chosen {
            super::deadline::check(channel.name())?;
            let t = Instant::now();
            let out = channel.recall(&input)?;
            timings
                .channels_ms
                .insert(channel.name().to_owned(), ms_since(t));
            warnings.extend(out.warnings);
            parts_ms.extend(out.parts_ms);
            lists.push(out.list);
        }
        super::deadline::check("fusion")?;
        let t = Instant::now();
        let inputs: Vec<FuseInput<'_>> = chosen
            .iter()
            .zip(&lists)
            .map(|((c, weight), list)| FuseInput {
                list,
                weight: *weight,
                seed_order: c.seed_order(),
            })
            .collect();
        // Without filters the answer is the fused list's top `topn`; with them, any of it may be.
        let keep = if params.filters.is_empty() {
            topn
        } else {
            usize::MAX
        };
        let fused = fuse(params.fusion, &inputs, keep);
        timings.fusion_ms = ms_since(t);
        let source = self.row_source(&loaded, snapshot.conn()?)?;
        snapshot.finish()?;
        Ok(Plan {
            used: UsedParams {
                topn,
                nprobe,
                k_per_click: k,
                fusion: params.fusion,
                aggregate: params.aggregate,
                channels: chosen.iter().map(|(c, _)| c.name().to_owned()).collect(),
                weights: chosen
                    .iter()
                    .map(|(c, w)| (c.name().to_owned(), *w))
                    .collect(),
                recent_clicks: params.recent_clicks,
                filters: params.filters.clone(),
            },
            channels: chosen.iter().map(|(c, _)| c.name()).collect(),
            candidates: lists.iter().map(Vec::len).collect(),
            lists: lists
                .into_iter()
                .zip(chosen.iter().map(|(_, w)| *w))
                .collect(),
            user: user.map(|u| u.to_string()),
            loaded,
            clicks,
            fused,
            source,
            timings,
            parts_ms,
            warnings,
            started,
        })
    }
}
