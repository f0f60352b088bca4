//! Simulated click sessions over the catalog, so that the CF channel has signal in demos and the
//! held-out evaluation has ground truth: a user browses within a category, follows title
//! neighbours into related categories, and now and then jumps elsewhere.

use crate::error::{Error, Result};
use crate::index::Query;
use crate::recall::Engine;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rusqlite::params;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub users: usize,
    pub min_clicks: usize,
    pub max_clicks: usize,
    pub seed: u64,
    /// Prefix of generated user ids (`sim-0001`, ...).
    pub prefix: String,
    /// Delete the earlier sessions of users with this prefix first.
    pub replace: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            users: 300,
            min_clicks: 4,
            max_clicks: 12,
            seed: 1,
            prefix: "sim-".into(),
            replace: true,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SimReport {
    pub users: usize,
    pub clicks: usize,
    pub same_category_share: f64,
}

/// One simulated session: the clicked asins in order.
pub fn sessions(engine: &Engine, opts: &SimOptions) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::with_capacity(opts.users);
    each_session(engine, opts, |_, s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f(user number, session)` for each simulated session, one at a time, so that a large
/// simulation never holds them all.
fn each_session(
    engine: &Engine,
    opts: &SimOptions,
    mut f: impl FnMut(usize, Vec<String>) -> Result<()>,
) -> Result<()> {
    if opts.min_clicks == 0 || opts.min_clicks > opts.max_clicks {
        return Err(Error::param("clicks", "need 1 <= min_clicks <= max_clicks"));
    }
    let loaded = engine.current();
    let conn = engine.conn()?;
    let mut by_cat: HashMap<i64, Vec<String>> = HashMap::new();
    let mut cat_of: HashMap<String, i64> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT asin, coalesce(category_id, 0) FROM amazon_products ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (a, c) = row?;
            if loaded.asins.position(&a).is_some() {
                by_cat.entry(c).or_default().push(a.clone());
                cat_of.insert(a, c);
            }
        }
    }
    drop(conn);
    let mut cats: Vec<i64> = by_cat.keys().copied().collect();
    cats.sort_unstable();
    if cats.is_empty() {
        return Err(Error::EmptyCatalog);
    }
    // Each item's title neighbours, searched once: a large simulation visits items many times.
    let mut neighbours: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    for user in 0..opts.users {
        let len = rng.random_range(opts.min_clicks..=opts.max_clicks);
        let cat = *cats.choose(&mut rng).expect("non-empty");
        let mut current = by_cat[&cat]
            .choose(&mut rng)
            .expect("non-empty category")
            .clone();
        let mut session = vec![current.clone()];
        // A session can run out of new items to click (a tiny catalog): give up after a while.
        let mut tries = 0;
        while session.len() < len && tries < len * 20 {
            tries += 1;
            let roll: f64 = rng.random();
            let next = if roll < 0.5 {
                // Same category.
                by_cat[&cat_of[&current]].choose(&mut rng).cloned()
            } else if roll < 0.92 {
                // A title neighbour: may lead into a related category.
                let p = loaded
                    .asins
                    .position(&current)
                    .expect("sessions hold indexed asins") as usize;
                let hits = match neighbours.entry(p) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let found = loaded.index.search(&Query::new(
                            &loaded.vectors.row(p)?,
                            16,
                            loaded.index.nprobe_for_k(16),
                        ))?;
                        e.insert(found.row(0).map(|(l, _)| l).filter(|&l| l != p).collect())
                    }
                };
                hits.choose(&mut rng)
                    .map(|&l| loaded.asins.get(l).to_owned())
            } else {
                let c = cats.choose(&mut rng).expect("non-empty");
                by_cat[c].choose(&mut rng).cloned()
            };
            if let Some(n) = next
                && !session.contains(&n)
            {
                current = n.clone();
                session.push(n);
            }
        }
        f(user, session)?;
    }
    Ok(())
}

/// Writes simulated sessions into `user_clicks`, committing every [`USERS_PER_COMMIT`] users.
/// Sessions are spread over the last 30 days, each a minute per click.
pub fn simulate(engine: &Engine, opts: &SimOptions) -> Result<SimReport> {
    let conn = engine.conn()?;
    let cat: HashMap<String, i64> = {
        let mut st = conn.prepare("SELECT asin, coalesce(category_id, 0) FROM amazon_products")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    if opts.replace {
        let tx = conn.unchecked_transaction()?;
        let like = format!("{}%", opts.prefix.replace('%', ""));
        if tx.execute("DELETE FROM user_clicks WHERE user_id LIKE ?1", [&like])? > 0 {
            crate::clicks::note_deletions(&tx)?;
        }
        tx.execute("DELETE FROM users WHERE id LIKE ?1", [&like])?;
        tx.commit()?;
    }
    const DAY_MS: i64 = 86_400_000;
    let start = crate::util::now_millis() - 30 * DAY_MS;
    let spacing = (30 * DAY_MS / opts.users.max(1) as i64).max(1);
    let (mut clicks, mut same, mut pairs) = (0, 0usize, 0usize);
    let mut tx = Some(conn.unchecked_transaction()?);
    each_session(engine, opts, |u, session| {
        let t = tx.as_ref().expect("open transaction");
        let id = format!("{}{:04}", opts.prefix, u + 1);
        let base = start + u as i64 * spacing;
        t.prepare_cached("INSERT INTO users(id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING")?
            .execute(params![id, format!("Simulated user {}", u + 1), base])?;
        let mut insert = t.prepare_cached(
            "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?;
        for (i, asin) in session.iter().enumerate() {
            insert.execute(params![id, asin, base + i as i64 * 60_000])?;
            clicks += 1;
            if i > 0 {
                pairs += 1;
                same += usize::from(cat.get(asin) == cat.get(&session[i - 1]));
            }
        }
        drop(insert);
        if (u + 1) % USERS_PER_COMMIT == 0 {
            tx.take().expect("open transaction").commit()?;
            tx = Some(conn.unchecked_transaction()?);
        }
        Ok(())
    })?;
    if let Some(t) = tx {
        t.commit()?;
    }
    Ok(SimReport {
        users: opts.users,
        clicks,
        same_category_share: same as f64 / pairs.max(1) as f64,
    })
}

/// Users per transaction of a simulation: a large one commits as it goes.
const USERS_PER_COMMIT: usize = 10_000;
