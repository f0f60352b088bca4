//! Simulated click sessions over the catalog, so that the CF channel has signal in demos and the
//! held-out evaluation has ground truth: a user browses within a category, follows title
//! neighbours into related categories, and now and then jumps elsewhere.

use crate::error::{Error, Result};
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
    let mut cats: Vec<i64> = by_cat.keys().copied().collect();
    cats.sort_unstable();
    if cats.is_empty() {
        return Err(Error::EmptyCatalog);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let mut out = Vec::with_capacity(opts.users);
    for _ in 0..opts.users {
        let len = rng.random_range(opts.min_clicks..=opts.max_clicks);
        let cat = *cats.choose(&mut rng).expect("non-empty");
        let mut current = by_cat[&cat]
            .choose(&mut rng)
            .expect("non-empty category")
            .clone();
        let mut session = vec![current.clone()];
        while session.len() < len {
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
                let found = loaded.index.search(
                    &loaded.vectors.row(p)?,
                    16,
                    loaded.index.nprobe_for_k(16),
                )?;
                let hits: Vec<usize> = found.row(0).map(|(l, _)| l).filter(|&l| l != p).collect();
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
        out.push(session);
    }
    Ok(out)
}

/// Writes simulated sessions into `user_clicks`.
pub fn simulate(engine: &Engine, opts: &SimOptions) -> Result<SimReport> {
    let sessions = sessions(engine, opts)?;
    let conn = engine.conn()?;
    let cat: HashMap<String, i64> = {
        let mut st = conn.prepare("SELECT asin, coalesce(category_id, 0) FROM amazon_products")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let tx = conn.unchecked_transaction()?;
    if opts.replace {
        let like = format!("{}%", opts.prefix.replace('%', ""));
        tx.execute("DELETE FROM user_clicks WHERE user_id LIKE ?1", [&like])?;
        tx.execute("DELETE FROM users WHERE id LIKE ?1", [&like])?;
    }
    let base = crate::util::now_millis() - 86_400_000;
    let (mut clicks, mut same, mut pairs) = (0, 0usize, 0usize);
    for (u, session) in sessions.iter().enumerate() {
        let id = format!("{}{:04}", opts.prefix, u + 1);
        tx.execute("INSERT INTO users(id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING", params![id, format!("Simulated user {}", u + 1), base])?;
        for (i, asin) in session.iter().enumerate() {
            tx.execute(
                "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3)",
                params![id, asin, base + (u * 1000 + i) as i64 * 1000],
            )?;
            clicks += 1;
            if i > 0 {
                pairs += 1;
                same += usize::from(cat.get(asin) == cat.get(&session[i - 1]));
            }
        }
    }
    tx.commit()?;
    Ok(SimReport {
        users: sessions.len(),
        clicks,
        same_category_share: same as f64 / pairs.max(1) as f64,
    })
}
