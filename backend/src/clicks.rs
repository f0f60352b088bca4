//! Users and their click histories (`user_clicks(user_id, asin, click_time)`, the seed's table),
//! and the item-to-item collaborative-filtering channel computed from co-clicks.

use crate::error::{Error, Result};
use crate::ids::{Asin, UserId};
use common::{Click, User};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// Creates the user if needed; a given name renames it.
pub fn upsert_user(c: &Connection, id: &UserId, name: Option<&str>) -> Result<User> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name
        && n.chars().count() > 100
    {
        return Err(Error::param("name", "name must be at most 100 characters"));
    }
    c.execute(
        "INSERT INTO users(id, name, created_at) VALUES (?1, coalesce(?2, ?1), ?3)
         ON CONFLICT(id) DO UPDATE SET name = coalesce(?2, users.name)",
        params![id.as_str(), name, crate::util::now_millis()],
    )?;
    get_user(c, id)
}

/// A user is known when it was created or has clicks (clicks may come from outside, e.g. the
/// seed's own scripts).
pub fn get_user(c: &Connection, id: &UserId) -> Result<User> {
    c.query_row(
        "SELECT ?1, coalesce((SELECT name FROM users WHERE id = ?1), ?1), (SELECT count(*) FROM user_clicks WHERE user_id = ?1),
                EXISTS(SELECT 1 FROM users WHERE id = ?1) OR EXISTS(SELECT 1 FROM user_clicks WHERE user_id = ?1)",
        [id.as_str()],
        |r| Ok((User { id: r.get(0)?, name: r.get(1)?, clicks: r.get(2)? }, r.get::<_, bool>(3)?)),
    )
    .map_err(Error::from)
    .and_then(|(u, exists)| if exists { Ok(u) } else { Err(Error::UnknownUser(id.to_string())) })
}

pub fn list_users(c: &Connection) -> Result<Vec<User>> {
    let mut st = c.prepare(
        "SELECT id, name, (SELECT count(*) FROM user_clicks k WHERE k.user_id = u.id) FROM users u
         UNION
         SELECT DISTINCT user_id, user_id, (SELECT count(*) FROM user_clicks k WHERE k.user_id = c.user_id)
         FROM user_clicks c WHERE user_id NOT IN (SELECT id FROM users)
         ORDER BY 1",
    )?;
    let rows = st.query_map([], |r| {
        Ok(User {
            id: r.get(0)?,
            name: r.get(1)?,
            clicks: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a click now (strictly after the user's previous click) and returns it.
/// The statement commits before returning, so a 2xx answer means the click is on disk.
pub fn add_click(c: &Connection, user: &UserId, asin: &Asin) -> Result<Click> {
    crate::catalog::get_product(c, asin)?;
    c.execute(
        "INSERT INTO users(id, name, created_at) VALUES (?1, ?1, ?2) ON CONFLICT(id) DO NOTHING",
        params![user.as_str(), crate::util::now_millis()],
    )?;
    let last: Option<i64> = c.query_row(
        "SELECT max(click_time) FROM user_clicks WHERE user_id = ?1",
        [user.as_str()],
        |r| r.get(0),
    )?;
    let t = crate::util::now_millis().max(last.map_or(i64::MIN, |l| l + 1));
    c.execute(
        "INSERT INTO user_clicks(user_id, asin, click_time) VALUES (?1, ?2, ?3)",
        params![user.as_str(), asin.as_str(), t],
    )?;
    Ok(Click {
        id: c.last_insert_rowid(),
        asin: asin.to_string(),
        click_time: t,
        product: None,
    })
}

/// The user's clicks, oldest first.
pub fn list_clicks(c: &Connection, user: &UserId) -> Result<Vec<Click>> {
    let mut st = c.prepare_cached("SELECT rowid, asin, click_time FROM user_clicks WHERE user_id = ?1 ORDER BY click_time, rowid")?;
    let rows = st.query_map([user.as_str()], |r| {
        Ok(Click {
            id: r.get(0)?,
            asin: r.get(1)?,
            click_time: r.get(2)?,
            product: None,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The asins of the user's `limit` most recent clicks, most recent first (the seed's query).
pub fn recent_clicks(c: &Connection, user: &UserId, limit: usize) -> Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT asin FROM user_clicks WHERE user_id = ?1 ORDER BY click_time DESC, rowid DESC LIMIT ?2")?;
    let rows = st.query_map(params![user.as_str(), limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn clear_clicks(c: &Connection, user: &UserId) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM user_clicks WHERE user_id = ?1",
        [user.as_str()],
    )?)
}

pub fn delete_click(c: &Connection, user: &UserId, click_id: i64) -> Result<()> {
    match c.execute(
        "DELETE FROM user_clicks WHERE user_id = ?1 AND rowid = ?2",
        params![user.as_str(), click_id],
    )? {
        0 => Err(Error::UnknownClick(click_id)),
        _ => Ok(()),
    }
}

pub fn count_clicks(c: &Connection) -> Result<(i64, i64)> {
    Ok(c.query_row("SELECT count(*), (SELECT count(*) FROM (SELECT id FROM users UNION SELECT user_id FROM user_clicks)) FROM user_clicks", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?)
}

/// A CF candidate: its score and the clicked items it co-occurred with.
#[derive(Debug, Clone, PartialEq)]
pub struct CfCandidate {
    pub asin: String,
    pub score: f32,
    pub because: Vec<String>,
}

/// Item-to-item CF: for each clicked item i, the items j that other users clicked too, scored
/// by cosine similarity of their user sets, |U(i) ∩ U(j)| / √(|U(i)|·|U(j)|), summed over the
/// clicks. Work grows with the click data touched by these items, never with the catalog.
pub fn cf_candidates(
    c: &Connection,
    clicked: &[String],
    exclude_user: Option<&UserId>,
    limit: usize,
) -> Result<Vec<CfCandidate>> {
    if clicked.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let me = exclude_user.map(UserId::as_str).unwrap_or("");
    let mut users_of = c.prepare_cached(
        "SELECT count(DISTINCT user_id) FROM user_clicks WHERE asin = ?1 AND user_id != ?2",
    )?;
    let mut co = c.prepare_cached(
        "SELECT b.asin, count(DISTINCT b.user_id) FROM user_clicks a JOIN user_clicks b ON b.user_id = a.user_id
         WHERE a.asin = ?1 AND a.user_id != ?2 AND b.asin != ?1 GROUP BY b.asin",
    )?;
    let mut pop_cache: HashMap<String, f64> = HashMap::new();
    let mut scores: HashMap<String, (f64, Vec<String>)> = HashMap::new();
    let seen: std::collections::HashSet<&str> = clicked.iter().map(String::as_str).collect();
    for (i, item) in clicked.iter().enumerate() {
        if clicked[..i].contains(item) {
            continue;
        }
        let ni: f64 = users_of.query_row(params![item, me], |r| r.get::<_, i64>(0))? as f64;
        if ni == 0.0 {
            continue;
        }
        let pairs: Vec<(String, i64)> = co
            .query_map(params![item, me], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (j, both) in pairs {
            if seen.contains(j.as_str()) {
                continue;
            }
            let nj = match pop_cache.get(&j) {
                Some(v) => *v,
                None => {
                    let v = users_of.query_row(params![j, me], |r| r.get::<_, i64>(0))? as f64;
                    pop_cache.insert(j.clone(), v);
                    v
                }
            };
            let s = both as f64 / (ni * nj.max(1.0)).sqrt();
            let e = scores.entry(j).or_insert((0.0, Vec::new()));
            e.0 += s;
            e.1.push(item.clone());
        }
    }
    let mut out: Vec<CfCandidate> = scores
        .into_iter()
        .map(|(asin, (s, because))| CfCandidate {
            asin,
            score: s as f32,
            because,
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.asin.cmp(&b.asin))
    });
    out.truncate(limit);
    Ok(out)
}

pub fn user_exists(c: &Connection, id: &UserId) -> Result<bool> {
    Ok(c.query_row("SELECT 1 FROM users WHERE id = ?1 UNION SELECT 1 FROM user_clicks WHERE user_id = ?1 LIMIT 1", [id.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}
