//! Fusion held to its plain definition, and its behaviours by example.

use super::*;
use crate::recall::channels::Cand;
use crate::recall::keys::best_first_order;
use rand::{Rng, SeedableRng};

/// The default weights of content, CF and popularity, and their places in `seed`.
const DEFAULT_WEIGHTS: [f32; 3] = [1.0, 1.0, 0.2];
const SEED_ORDER: [u8; 3] = [1, 0, 2];

/// Content, CF and popularity lists (as many as given) with these weights.
fn inputs<'a>(lists: &[&'a Ranked], weights: [f32; 3]) -> Vec<FuseInput<'a>> {
    lists
        .iter()
        .enumerate()
        .map(|(i, l)| FuseInput {
            list: l,
            weight: weights[i],
            seed_order: SEED_ORDER[i],
        })
        .collect()
}

/// Sorts a list best first (test lists are made in any order).
fn sort_ranked(list: &mut Ranked) {
    let mut order = best_first_order(list, |c| (c.score, c.pos));
    radsort::sort_by_key(&mut order, |o| o.0);
    *list = order.iter().map(|&(_, i)| list[i as usize]).collect();
}

/// Random channel lists with overlapping rows and many tied scores.
fn random_lists(rng: &mut rand_chacha::ChaCha8Rng) -> [Ranked; 3] {
    let mut make = |len_max: usize, scale: f32| -> Ranked {
        let len = rng.random_range(0..len_max);
        let mut pos: Vec<u32> = (0..800).collect();
        for i in 0..len {
            let j = rng.random_range(i..pos.len());
            pos.swap(i, j);
        }
        let mut l: Ranked = pos[..len]
            .iter()
            .map(|&p| Cand {
                pos: p,
                score: (rng.random_range(0..40) as f32) * scale,
                because: 1u128 << rng.random_range(0..10),
            })
            .collect();
        sort_ranked(&mut l);
        l
    };
    [make(600, 0.025), make(200, 0.5), make(100, 3.0)]
}

#[test]
fn fusion_agrees_with_its_plain_definition() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for round in 0..300 {
        let [content, cf, popular] = random_lists(&mut rng);
        let keep = [usize::MAX, 0, 1, 50, 500, 20][round % 6];
        let weights = if round % 3 == 0 {
            DEFAULT_WEIGHTS
        } else {
            [[1.0, 0.0, 0.3][round % 3], 0.7, 0.2]
        };
        let all = inputs(&[&content, &cf, &popular], weights);
        for fusion in [Fusion::Seed, Fusion::Rrf, Fusion::Weighted] {
            for n in 0..=3 {
                let got = fuse(fusion, &all[..n], keep);
                let want = fuse_by_definition(fusion, &all[..n], keep);
                assert_eq!(
                    got, want,
                    "round {round}, {fusion:?}, {n} lists, keep {keep}"
                );
            }
        }
    }
}

/// Fusion written the plain way (every row hashed and scored): the oracle `fuse` must agree
/// with.
fn fuse_by_definition(fusion: Fusion, lists: &[FuseInput<'_>], keep: usize) -> Vec<Fused> {
    let total: usize = lists.iter().map(|l| l.list.len()).sum();
    let mut out: Vec<Fused> = Vec::with_capacity(total);
    let mut slot: hashbrown::HashMap<u32, usize> = hashbrown::HashMap::with_capacity(total);
    // `seed` concatenates the lists in their seed order, as in the article.
    let mut sorted: Vec<(usize, &FuseInput<'_>)> = lists.iter().enumerate().collect();
    if fusion == Fusion::Seed {
        sorted.sort_by_key(|(_, l)| l.seed_order);
    }
    for (li, input) in sorted {
        let w = input.weight;
        let (lo, hi) = input
            .list
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x.score), hi.max(x.score))
            });
        for (rank, c) in input.list.iter().enumerate() {
            let i = *slot.entry(c.pos).or_insert_with(|| {
                out.push(Fused {
                    pos: c.pos,
                    score: 0.0,
                    scores: [None; MAX_CHANNELS],
                    because: 0,
                });
                out.len() - 1
            });
            let e = &mut out[i];
            e.scores[li] = Some(c.score);
            e.because |= c.because;
            e.score += match fusion {
                Fusion::Seed => 0.0,
                Fusion::Rrf => w / (RRF_K + rank as f32 + 1.0),
                Fusion::Weighted => {
                    w * if hi > lo {
                        (c.score - lo) / (hi - lo)
                    } else {
                        1.0
                    }
                }
            };
        }
    }
    match fusion {
        Fusion::Seed => {
            let n = total.max(1) as f32;
            for (i, f) in out.iter_mut().enumerate() {
                f.score = 1.0 - i as f32 / n;
            }
        }
        Fusion::Rrf | Fusion::Weighted => {
            let mut order = best_first_order(&out, |f| (f.score, f.pos));
            if keep < order.len() {
                order.select_nth_unstable_by_key(keep, |o| o.0);
                order.truncate(keep);
            }
            order.sort_unstable_by_key(|o| o.0);
            out = order
                .iter()
                .map(|&(_, i)| out[i as usize].clone())
                .collect();
        }
    }
    out.truncate(keep);
    out
}

fn order(out: &[Fused]) -> Vec<u32> {
    out.iter().map(|f| f.pos).collect()
}

#[test]
fn seed_fusion_puts_cf_first_then_content() {
    let content = list(&[(1, 0.9), (2, 0.8)]);
    let cf = list(&[(3, 3.0), (1, 1.0)]);
    let out = fuse(
        Fusion::Seed,
        &inputs(&[&content, &cf], DEFAULT_WEIGHTS),
        usize::MAX,
    );
    assert_eq!(order(&out), [3, 1, 2]);
    assert_eq!(out[1].scores[0], Some(0.9), "content");
    assert_eq!(out[1].scores[1], Some(1.0), "cf");
}

#[test]
fn keeping_the_top_gives_the_start_of_the_whole_fused_list() {
    let content: Ranked = (0..300u32)
        .map(|i| Cand {
            pos: i,
            score: 1.0 - (i / 2) as f32 / 300.0,
            because: 1,
        })
        .collect();
    let cf: Ranked = (0..200u32)
        .map(|i| Cand {
            pos: i * 3 % 500,
            score: 10.0 - (i / 3) as f32 / 20.0,
            because: 2,
        })
        .collect();
    let lists = inputs(&[&content, &cf], DEFAULT_WEIGHTS);
    for fusion in [Fusion::Seed, Fusion::Rrf, Fusion::Weighted] {
        let all = fuse(fusion, &lists, usize::MAX);
        assert!(all.len() > 300, "{fusion:?}: both lists are in it");
        let top = fuse(fusion, &lists, 50);
        assert_eq!(top, all[..50], "{fusion:?}");
    }
}

#[test]
fn rrf_rewards_agreement_between_channels() {
    let content = list(&[(10, 0.9), (7, 0.8)]);
    let cf = list(&[(11, 5.0), (7, 4.0)]);
    let out = fuse(
        Fusion::Rrf,
        &inputs(&[&content, &cf], DEFAULT_WEIGHTS),
        usize::MAX,
    );
    assert_eq!(out[0].pos, 7);
    assert_eq!(out.len(), 3);
}

#[test]
fn weighted_fusion_follows_weights() {
    let content = list(&[(1, 0.9), (2, 0.1)]);
    let cf = list(&[(3, 9.0), (4, 1.0)]);
    let top = |w| fuse(Fusion::Weighted, &inputs(&[&content, &cf], w), usize::MAX)[0].pos;
    assert_eq!(top([1.0, 0.1, 0.0]), 1);
    assert_eq!(top([0.1, 1.0, 0.0]), 3);
}
