//! Fusion: the channels' ranked lists become one list, best first (`seed`, `rrf`, `weighted`).

use super::channels::{MAX_CHANNELS, Ranked};
use super::keys::{best_first_key, key_parts};
use common::Fusion;

/// Reciprocal-rank-fusion constant (Cormack et al.).
pub const RRF_K: f32 = 60.0;

/// One channel's list as fusion sees it.
#[derive(Debug, Clone, Copy)]
pub struct FuseInput<'a> {
    pub list: &'a Ranked,
    /// Its weight for `rrf` and `weighted`.
    pub weight: f32,
    /// Where it goes in `seed`'s concatenation (lower first).
    pub seed_order: u8,
}

/// The lowest and highest score in a list, which `weighted` scales each list's scores by.
pub fn score_range(list: &Ranked) -> (f32, f32) {
    list.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x.score), hi.max(x.score))
        })
}

/// What a list's row at 0-based `rank` adds to the row's fused score: `weight / (60 + rank)`
/// (1-based rank) for `rrf`, `weight ×` its score scaled to 0–1 within the list (`range`, from
/// [`score_range`]) for `weighted`, nothing for `seed` (which orders by position, not score).
pub fn contribution(
    fusion: Fusion,
    list: &Ranked,
    weight: f32,
    range: (f32, f32),
    rank: usize,
) -> f32 {
    match fusion {
        Fusion::Seed => 0.0,
        Fusion::Rrf => weight / (RRF_K + rank as f32 + 1.0),
        Fusion::Weighted => {
            let (lo, hi) = range;
            weight
                * if hi > lo {
                    (list[rank].score - lo) / (hi - lo)
                } else {
                    1.0
                }
        }
    }
}

/// A fused candidate: `scores[i]` is its score in input list `i`, when that list holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub pos: u32,
    pub score: f32,
    pub scores: [Option<f32>; MAX_CHANNELS],
    pub because: u128,
}

/// Fuses ranked lists (each sorted best first, a row at most once per list) into one list,
/// best first, and keeps its best `keep` (`usize::MAX`: all).
///
/// Each distinct row gets a compact entry holding its rank in every list, and only the kept
/// entries become [`Fused`] items. The longest list (usually content's few thousand rows) is
/// probed against a table of the other lists' rows rather than hashed itself. Its rows found in
/// no other list rank among themselves in list order (their fused score falls with their rank),
/// so once `keep` of them are in, the rest are skipped from the first one that scores strictly
/// lower: none of them could reach the top `keep`.
pub fn fuse(fusion: Fusion, lists: &[FuseInput<'_>], keep: usize) -> Vec<Fused> {
    const ABSENT: u32 = u32::MAX;
    assert!(lists.len() <= MAX_CHANNELS, "at most one list per channel");
    let total: usize = lists.iter().map(|l| l.list.len()).sum();
    let ranges: Vec<(f32, f32)> = lists.iter().map(|l| score_range(l.list)).collect();
    let adds = |li: usize, rank: usize| -> f32 {
        contribution(fusion, lists[li].list, lists[li].weight, ranges[li], rank)
    };
    let longest = (0..lists.len()).max_by_key(|&i| lists[i].list.len());
    let others = total - longest.map_or(0, |i| lists[i].list.len());
    // Where each distinct row sits in each list.
    let mut entries: Vec<(u32, [u32; MAX_CHANNELS])> =
        Vec::with_capacity(total.min(others.saturating_add(keep).saturating_add(64)));
    let mut slot: hashbrown::HashMap<u32, u32> = hashbrown::HashMap::with_capacity(others);
    for (li, input) in lists.iter().enumerate() {
        if Some(li) == longest {
            continue;
        }
        for (rank, c) in input.list.iter().enumerate() {
            let i = *slot.entry(c.pos).or_insert_with(|| {
                entries.push((c.pos, [ABSENT; MAX_CHANNELS]));
                (entries.len() - 1) as u32
            });
            entries[i as usize].1[li] = rank as u32;
        }
    }
    if let Some(li) = longest {
        // Skipping is exact only while a lone row's score cannot rise with its rank.
        let may_skip = keep < usize::MAX && (fusion == Fusion::Seed || lists[li].weight > 0.0);
        let (mut alone, mut floor) = (0usize, f32::NEG_INFINITY);
        for (rank, c) in lists[li].list.iter().enumerate() {
            if let Some(&i) = slot.get(&c.pos) {
                entries[i as usize].1[li] = rank as u32;
                continue;
            }
            if may_skip && alone >= keep && (fusion == Fusion::Seed || adds(li, rank) < floor) {
                continue;
            }
            let mut ranks = [ABSENT; MAX_CHANNELS];
            ranks[li] = rank as u32;
            entries.push((c.pos, ranks));
            alone += 1;
            if alone == keep && fusion != Fusion::Seed {
                floor = adds(li, rank);
            }
        }
    }
    // Sort keys, ascending = best first, each with its entry.
    let mut order: Vec<(u64, u32)> = match fusion {
        Fusion::Seed => {
            // The article's concatenation (CF, then content, then the others): a row sits
            // where its first list in that order has it.
            let mut lists_in_order: Vec<usize> = (0..lists.len()).collect();
            lists_in_order.sort_by_key(|&i| lists[i].seed_order);
            entries
                .iter()
                .enumerate()
                .map(|(e, (_, ranks))| {
                    let (n, li) = lists_in_order
                        .iter()
                        .enumerate()
                        .find(|&(_, &li)| ranks[li] != ABSENT)
                        .expect("every entry is in some list");
                    (((n as u64) << 32) | u64::from(ranks[*li]), e as u32)
                })
                .collect()
        }
        Fusion::Rrf | Fusion::Weighted => entries
            .iter()
            .enumerate()
            .map(|(e, (pos, ranks))| {
                let mut score = 0.0f32;
                for (li, &rank) in ranks.iter().enumerate().take(lists.len()) {
                    if rank != ABSENT {
                        score += adds(li, rank as usize);
                    }
                }
                (best_first_key(score, *pos), e as u32)
            })
            .collect(),
    };
    if keep < order.len() {
        order.select_nth_unstable_by_key(keep, |o| o.0);
        order.truncate(keep);
    }
    order.sort_unstable_by_key(|o| o.0);
    let n = total.max(1) as f32;
    order
        .iter()
        .enumerate()
        .map(|(i, &(key, e))| {
            let (pos, ranks) = &entries[e as usize];
            let mut f = Fused {
                pos: *pos,
                score: match fusion {
                    Fusion::Seed => 1.0 - i as f32 / n,
                    Fusion::Rrf | Fusion::Weighted => key_parts(key).1,
                },
                scores: [None; MAX_CHANNELS],
                because: 0,
            };
            for (li, input) in lists.iter().enumerate() {
                if let Some(c) = input.list.get(ranks[li] as usize) {
                    f.scores[li] = Some(c.score);
                    f.because |= c.because;
                }
            }
            f
        })
        .collect()
}

/// A list of candidates with evidence bit 0, in the order given (for tests).
#[cfg(test)]
pub(crate) fn list(items: &[(u32, f32)]) -> Ranked {
    use super::channels::Cand;
    items
        .iter()
        .map(|&(pos, score)| Cand {
            pos,
            score,
            because: 1,
        })
        .collect()
}

#[cfg(test)]
mod tests;
