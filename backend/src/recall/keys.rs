//! Integer sort keys whose ascending order is best first: lists are ordered by sorting keys
//! (score bits, then row), which radix-sorts and compares faster than a float comparator.

/// A key whose ascending order is best first: higher score (in `f32::total_cmp` order), then
/// lower position.
pub fn best_first_key(score: f32, pos: u32) -> u64 {
    (u64::from(best_first_score_key(score)) << 32) | u64::from(pos)
}

/// The score part of a [`best_first_key`]: ascending is higher score first (`f32::total_cmp`).
pub fn best_first_score_key(score: f32) -> u32 {
    let bits = score.to_bits();
    // Ascending in total order: negatives flipped whole, positives above them.
    let ascending = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    !ascending
}

/// The (position, score) a [`best_first_key`] was made from.
pub fn key_parts(key: u64) -> (u32, f32) {
    let ascending = !(key >> 32) as u32;
    let bits = if ascending >> 31 == 1 {
        ascending & !(1 << 31)
    } else {
        !ascending
    };
    (key as u32, f32::from_bits(bits))
}

/// The order of `items` best first, as (key, index) pairs to sort (positions unique per list).
#[cfg(test)]
pub fn best_first_order<T>(items: &[T], score_pos: impl Fn(&T) -> (f32, u32)) -> Vec<(u64, u32)> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (score, pos) = score_pos(x);
            (best_first_key(score, pos), i as u32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_first_keys_order_like_the_float_comparator() {
        let scores = [
            0.5,
            -0.5,
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.5,
            2.0,
        ];
        let mut by_key: Vec<(f32, u32)> = scores.iter().zip(0u32..).map(|(&s, p)| (s, p)).collect();
        let mut by_cmp = by_key.clone();
        by_key.sort_by_key(|&(s, p)| best_first_key(s, p));
        by_cmp.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        assert_eq!(by_key, by_cmp);
        for (s, p) in by_key {
            let (pos, score) = key_parts(best_first_key(s, p));
            assert_eq!((pos, score.to_bits()), (p, s.to_bits()));
        }
    }
}
