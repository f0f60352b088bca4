//! The content channel's hits (clicks × k neighbours from one batched search) grouped per row:
//! each row once, its scores across clicks aggregated, best first.

use super::channels::{Cand, Ranked};
use super::keys::best_first_score_key;
use common::Aggregate;

/// The content channel's candidates from one batched search: every row the clicks' neighbours
/// reached (minus the clicked rows), its scores across clicks aggregated (max or sum, added in
/// click order) and the clicks that reached it, best first.
///
/// The hits are grouped by row with a stable radix sort of their rows (two or three passes
/// over `clicks × k` small records, with count tables that stay in the CPU's cache at any
/// catalog size), so a row's hits stay in click order and one pass folds each row's run. The
/// distinct rows, now in row order, are sorted best first by their score's key alone (stable
/// again, so equal scores keep row order). The work follows the hits, never the catalog size.
pub fn aggregate_hits(
    found: &crate::index::Neighbours,
    sources: &[usize],
    skip: &[u32],
    how: Aggregate,
) -> Ranked {
    /// One neighbour of one click.
    #[derive(Clone, Copy)]
    struct Hit {
        pos: u32,
        score: f32,
        click: u32,
    }
    let k = found.k;
    let mut hits: Vec<Hit> = Vec::with_capacity(sources.len() * k);
    for (q, &click) in sources.iter().enumerate() {
        let (labels, scores) = (
            &found.labels[q * k..(q + 1) * k],
            &found.scores[q * k..(q + 1) * k],
        );
        // A plain loop: this runs for every hit of every recall (clicks × k), and the
        // iterator chain it replaces was slower than the loop.
        for (&label, &score) in labels.iter().zip(scores) {
            let pos = label as u32;
            // Empty slots (-1) and the clicked rows are skipped; the few clicks are compared
            // without branches.
            if label < 0 || skip.iter().fold(false, |hit, &s| hit | (s == pos)) {
                continue;
            }
            hits.push(Hit {
                pos,
                score,
                click: click as u32,
            });
        }
    }
    // Stable: a row's hits keep click order, which is the order sums add in.
    radsort::sort_by_key(&mut hits, |h| h.pos);
    let mut merged: Ranked = Vec::with_capacity(hits.len());
    for h in hits {
        match merged.last_mut() {
            Some(c) if c.pos == h.pos => {
                match how {
                    Aggregate::Max => {
                        if h.score.total_cmp(&c.score).is_gt() {
                            c.score = h.score;
                        }
                    }
                    Aggregate::Sum => c.score += h.score,
                }
                c.because |= 1u128 << h.click;
            }
            _ => merged.push(Cand {
                pos: h.pos,
                score: h.score,
                because: 1u128 << h.click,
            }),
        }
    }
    // Rows ascend here, so sorting stably by the score's key alone breaks ties by row.
    let mut order: Vec<(u32, u32)> = merged
        .iter()
        .enumerate()
        .map(|(i, c)| (best_first_score_key(c.score), i as u32))
        .collect();
    radsort::sort_by_key(&mut order, |o| o.0);
    order.iter().map(|&(_, i)| merged[i as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn aggregated_hits_merge_each_row_across_clicks_best_first() {
        // Three clicks' neighbours; row 7 is clicked itself and never comes back.
        let k = 4;
        let labels = vec![5, 9, 7, -1, 9, 3, 5, 2, 3, 5, 9, 8];
        let scores = vec![0.9, 0.5, 0.4, 0.0, 0.8, 0.7, 0.2, 0.1, 0.6, 0.3, 0.25, 0.05];
        let found = crate::index::Neighbours::new(k, scores, labels);
        let rows = |r: &Ranked| -> Vec<(u32, f32, u128)> {
            r.iter().map(|c| (c.pos, c.score, c.because)).collect()
        };
        let max = aggregate_hits(&found, &[0, 1, 2], &[7], Aggregate::Max);
        assert_eq!(
            rows(&max),
            [
                (5, 0.9, 0b111),
                (9, 0.8, 0b111),
                (3, 0.7, 0b110),
                (2, 0.1, 0b010),
                (8, 0.05, 0b100)
            ]
        );
        // Sums add in click order; the third query stands for click 4 (clicks 2 and 3 had no
        // vector).
        let sum = aggregate_hits(&found, &[0, 1, 4], &[7], Aggregate::Sum);
        assert_eq!(
            rows(&sum),
            [
                (9, 0.5 + 0.8 + 0.25, 0b10011),
                (5, 0.9 + 0.2 + 0.3, 0b10011),
                (3, 0.7 + 0.6, 0b10010),
                (2, 0.1, 0b10),
                (8, 0.05, 0b10000)
            ]
        );
    }

    #[test]
    fn aggregation_agrees_with_its_plain_definition() {
        // Searches with rows repeated across clicks, tied scores, empty slots and clicked rows.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let rows = 300u32;
        for round in 0..200 {
            let (nq, k) = (rng.random_range(1..12), rng.random_range(1..60));
            let mut labels = Vec::new();
            let mut scores = Vec::new();
            for _ in 0..nq {
                let mut run: Vec<(f32, i64)> = (0..k)
                    .map(|_| {
                        (
                            rng.random_range(0..30) as f32 / 8.0,
                            rng.random_range(0..rows) as i64,
                        )
                    })
                    .collect();
                // A row at most once per click, best first, as FAISS answers.
                run.sort_by_key(|h| h.1);
                run.dedup_by_key(|h| h.1);
                run.sort_by(|a, b| b.0.total_cmp(&a.0));
                run.resize(k, (0.0, -1));
                scores.extend(run.iter().map(|h| h.0));
                labels.extend(run.iter().map(|h| h.1));
            }
            let found = crate::index::Neighbours::new(k, scores, labels);
            let sources: Vec<usize> = (0..nq).map(|q| q * 2 + round % 3).collect();
            let skip: Vec<u32> = (0..rng.random_range(0..4))
                .map(|_| rng.random_range(0..rows))
                .collect();
            for how in [Aggregate::Max, Aggregate::Sum] {
                // The definition: every hit of every click, per row, then best first.
                let mut by_row: std::collections::BTreeMap<u32, Cand> = Default::default();
                for (q, &click) in sources.iter().enumerate() {
                    for i in q * k..(q + 1) * k {
                        let (label, score) = (found.labels[i], found.scores[i]);
                        if label < 0 || skip.contains(&(label as u32)) {
                            continue;
                        }
                        let c = by_row.entry(label as u32).or_insert(Cand {
                            pos: label as u32,
                            score: match how {
                                Aggregate::Max => f32::NEG_INFINITY,
                                Aggregate::Sum => 0.0,
                            },
                            because: 0,
                        });
                        c.score = match how {
                            Aggregate::Max => c.score.max(score),
                            Aggregate::Sum => c.score + score,
                        };
                        c.because |= 1u128 << click;
                    }
                }
                let mut want: Ranked = by_row.into_values().collect();
                want.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.pos.cmp(&b.pos)));
                let got = aggregate_hits(&found, &sources, &skip, how);
                assert_eq!(got, want, "round {round}, {how:?}");
            }
        }
    }

    #[test]
    fn aggregated_hits_with_equal_scores_come_in_row_order() {
        // FAISS may return equal scores in any row order; the answer must not depend on it.
        let labels = vec![8, 3, 6, 4, 8, 1];
        let scores = vec![0.5, 0.5, 0.5, 0.7, 0.5, 0.5];
        let found = crate::index::Neighbours::new(3, scores, labels);
        for how in [Aggregate::Max, Aggregate::Sum] {
            let got: Vec<(u32, u128)> = aggregate_hits(&found, &[0, 1], &[], how)
                .iter()
                .map(|c| (c.pos, c.because))
                .collect();
            let want = match how {
                Aggregate::Max => [(4, 0b10), (1, 0b10), (3, 0b01), (6, 0b01), (8, 0b11)],
                Aggregate::Sum => [(8, 0b11), (4, 0b10), (1, 0b10), (3, 0b01), (6, 0b01)],
            };
            assert_eq!(got, want, "{how:?}");
        }
    }
}
