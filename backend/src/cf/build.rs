//! Builds the CF model from the click log: one pass over `user_clicks`, then per item a dense
//! accumulation over its users' items, on every core.

use super::{CfMeta, CfModel, CfOptions};
use crate::asin_table::AsinTable;
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const MS_PER_DAY: f64 = 86_400_000.0;

/// What a rebuild is given: the build whose rows the model indexes, and the log to read.
pub struct Source<'a> {
    pub conn: &'a Connection,
    pub asins: &'a AsinTable,
    pub build_id: &'a str,
}

/// [`build`], then saved to `path` (`cf.model`) for the next start.
pub fn build_and_save(
    source: &Source<'_>,
    options: &CfOptions,
    threads: usize,
    path: &std::path::Path,
) -> Result<CfModel> {
    let model = build(source, options, threads)?;
    super::store::save(&model, path)?;
    Ok(model)
}

/// Users as rows of items: `items[offsets[u]..offsets[u + 1]]` with their weights.
struct UserItems {
    offsets: Vec<u32>,
    items: Vec<u32>,
    weights: Vec<f32>,
}

/// Reads the log and builds the model on `threads` threads (0: every core).
pub fn build(source: &Source<'_>, options: &CfOptions, threads: usize) -> Result<CfModel> {
    let started = Instant::now();
    let mark = crate::clicks::click_mark(source.conn)?;
    let (users, clicks, outside) = read_users(source, options)?;
    let lists = neighbours(&users, source.asins.len(), options, threads);
    let meta = CfMeta {
        build_id: source.build_id.to_owned(),
        rows: source.asins.len(),
        mark,
        clicks,
        users: (users.offsets.len() - 1) as u64,
        clicks_not_in_build: outside,
        pairs: 0,
        options: *options,
        built_at: crate::util::now_rfc3339(),
        built_at_ms: crate::util::now_millis(),
        build_seconds: started.elapsed().as_secs_f64(),
    };
    Ok(CfModel::from_lists(meta, lists))
}

/// One pass over the log in storage order (sequential reads; an index walk by user would read
/// the table at random), then each user's clicks newest first: their `max_user_items` latest
/// distinct items, weighted by the age of the latest click on each.
fn read_users(source: &Source<'_>, options: &CfOptions) -> Result<(UserItems, u64, u64)> {
    // (user, row, click time), in storage order.
    let mut clicks: Vec<(u32, u32, i64)> = Vec::new();
    let mut user_ids: HashMap<String, u32> = HashMap::new();
    let (mut read, mut outside) = (0u64, 0u64);
    let mut newest = i64::MIN;
    {
        let mut st = source
            .conn
            .prepare("SELECT user_id, asin, click_time FROM user_clicks")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            read += 1;
            let text = |i: usize| -> Result<&str> {
                r.get_ref(i)?.as_str().map_err(|e| Error::Format {
                    path: "user_clicks".into(),
                    message: e.to_string(),
                })
            };
            let asin = text(1)?;
            let Some(pos) = source.asins.position(asin) else {
                outside += 1;
                continue;
            };
            let user = text(0)?;
            let next = user_ids.len() as u32;
            let u = match user_ids.get(user) {
                Some(&u) => u,
                None => {
                    user_ids.insert(user.to_owned(), next);
                    next
                }
            };
            let t: i64 = r.get(2)?;
            newest = newest.max(t);
            clicks.push((u, pos, t));
        }
    }
    drop(user_ids);
    // Stable: clicks of one user at one time keep their storage order (rowid order).
    clicks.sort_by_key(|&(u, _, t)| (u, t));
    let decay = options
        .half_life_days
        .filter(|h| *h > 0.0)
        .map(|h| std::f64::consts::LN_2 / (h * MS_PER_DAY));
    let mut users = UserItems {
        offsets: vec![0],
        items: Vec::new(),
        weights: Vec::new(),
    };
    let mut seen: hashbrown::HashSet<u32> = hashbrown::HashSet::new();
    for user in clicks.chunk_by(|a, b| a.0 == b.0) {
        seen.clear();
        for &(_, pos, t) in user.iter().rev() {
            if seen.len() >= options.max_user_items {
                break;
            }
            if seen.insert(pos) {
                users.items.push(pos);
                let age = newest.saturating_sub(t).max(0) as f64;
                let w = decay.map_or(1.0, |d| (-(d * age)).exp());
                users.weights.push(w as f32);
            }
        }
        users.offsets.push(users.items.len() as u32);
    }
    Ok((users, read, outside))
}

/// One item's neighbours as (row, similarity), best first.
type Neighbours = Vec<(u32, f32)>;

/// Per item, its `k` most similar items (best first), computed on every core: each thread
/// takes items in chunks and accumulates co-occurrence into dense per-item arrays.
fn neighbours(
    users: &UserItems,
    rows: usize,
    options: &CfOptions,
    threads: usize,
) -> Vec<Neighbours> {
    // Items as rows of (user, weight), and each item's squared norm.
    let mut counts = vec![0u32; rows + 1];
    for &i in &users.items {
        counts[i as usize + 1] += 1;
    }
    for i in 0..rows {
        counts[i + 1] += counts[i];
    }
    let offsets = counts.clone();
    let mut fill = counts;
    let mut item_users = vec![(0u32, 0f32); users.items.len()];
    let mut norms = vec![0f64; rows];
    for u in 0..users.offsets.len() - 1 {
        let (a, b) = (users.offsets[u] as usize, users.offsets[u + 1] as usize);
        for (&i, &w) in users.items[a..b].iter().zip(&users.weights[a..b]) {
            item_users[fill[i as usize] as usize] = (u as u32, w);
            fill[i as usize] += 1;
            norms[i as usize] += f64::from(w) * f64::from(w);
        }
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 256;
    let mut out: Vec<Neighbours> = vec![Vec::new(); rows];
    let parts: Vec<Vec<(usize, Neighbours)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut acc = vec![0f64; rows];
                    let mut support = vec![0u32; rows];
                    let mut touched: Vec<u32> = Vec::new();
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= rows {
                            break;
                        }
                        for i in start..(start + CHUNK).min(rows) {
                            let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
                            if a == b {
                                continue;
                            }
                            for &(u, wi) in &item_users[a..b] {
                                let (ua, ub) =
                                    (users.offsets[u as usize], users.offsets[u as usize + 1]);
                                let (ua, ub) = (ua as usize, ub as usize);
                                for (&j, &wj) in
                                    users.items[ua..ub].iter().zip(&users.weights[ua..ub])
                                {
                                    if j as usize == i {
                                        continue;
                                    }
                                    let slot = j as usize;
                                    if support[slot] == 0 {
                                        touched.push(j);
                                    }
                                    support[slot] += 1;
                                    acc[slot] += f64::from(wi) * f64::from(wj);
                                }
                            }
                            let mut list: Vec<(u32, f32)> = Vec::new();
                            for &j in &touched {
                                let slot = j as usize;
                                let sim = (acc[slot] / (norms[i] * norms[slot]).sqrt()) as f32;
                                if support[slot] >= options.min_support
                                    && sim.is_finite()
                                    && sim > 0.0
                                {
                                    list.push((j, sim));
                                }
                                acc[slot] = 0.0;
                                support[slot] = 0;
                            }
                            touched.clear();
                            let best = |a: &(u32, f32), b: &(u32, f32)| {
                                b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                            };
                            if list.len() > options.k && options.k > 0 {
                                list.select_nth_unstable_by(options.k - 1, best);
                            }
                            list.truncate(options.k);
                            list.sort_unstable_by(best);
                            if !list.is_empty() {
                                done.push((i, list));
                            }
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a CF worker panicked"))
            .collect()
    });
    for (i, list) in parts.into_iter().flatten() {
        out[i] = list;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(lists: &[&[u32]]) -> UserItems {
        let mut u = UserItems {
            offsets: vec![0],
            items: Vec::new(),
            weights: Vec::new(),
        };
        for l in lists {
            u.items.extend_from_slice(l);
            u.weights.extend(l.iter().map(|_| 1.0));
            u.offsets.push(u.items.len() as u32);
        }
        u
    }

    #[test]
    fn similarity_is_the_cosine_of_user_sets() {
        // Item 0: users a, b, c. Item 1: a, b. Item 2: c. Item 3: nobody.
        let u = users(&[&[0, 1], &[0, 1], &[0, 2]]);
        let lists = neighbours(&u, 4, &CfOptions::default(), 2);
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-6;
        assert_eq!(lists[0].iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2]);
        assert!(close(lists[0][0].1, 2.0 / (3.0f64 * 2.0).sqrt()));
        assert!(close(lists[0][1].1, 1.0 / 3.0f64.sqrt()));
        assert_eq!(lists[1].len(), 1);
        assert!(close(lists[2][0].1, 1.0 / 3.0f64.sqrt()));
        assert!(lists[3].is_empty());
    }

    #[test]
    fn min_support_and_k_bound_the_lists() {
        let u = users(&[&[0, 1, 2], &[0, 1], &[0, 3]]);
        let options = CfOptions {
            min_support: 2,
            ..CfOptions::default()
        };
        let lists = neighbours(&u, 4, &options, 1);
        assert_eq!(
            lists[0],
            vec![(1, lists[0][0].1)],
            "only 1 co-occurs twice with 0"
        );
        let options = CfOptions {
            k: 1,
            ..CfOptions::default()
        };
        let lists = neighbours(&u, 4, &options, 1);
        assert!(lists.iter().all(|l| l.len() <= 1));
        assert_eq!(lists[0][0].0, 1, "the best neighbour is kept");
    }
}
