//! Users and their click histories (`user_clicks(user_id, asin, click_time)`, the seed's table).
//! The CF model built from them lives in `crate::cf`.

pub mod import;

use crate::error::{Error, Result};
use crate::ids::{Asin, UserId};
use common::{Click, User};
use rusqlite::{Connection, OptionalExtension, params};

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

/// Creates a user under a new random id (`u-` and 12 hex digits); an id that happens to exist
/// already is never reused, so two requests at once always get two users.
pub fn create_new_user(c: &Connection, name: Option<&str>) -> Result<User> {
    loop {
        let id = UserId::parse(&format!("u-{:012x}", rand::random::<u64>() >> 16))?;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 100) {
            return Err(Error::param("name", "name must be at most 100 characters"));
        }
        let added = c.execute(
            "INSERT INTO users(id, name, created_at) VALUES (?1, coalesce(?2, ?1), ?3)
             ON CONFLICT(id) DO NOTHING",
            params![id.as_str(), name, crate::util::now_millis()],
        )?;
        if added == 1 {
            return get_user(c, &id);
        }
    }
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
    let now = crate::util::now_millis();
    c.execute(
        "INSERT INTO users(id, name, created_at) VALUES (?1, ?1, ?2) ON CONFLICT(id) DO NOTHING",
        params![user.as_str(), now],
    )?;
    // One statement reads the user's last click time and writes after it, under the write
    // lock, so that two clicks of one user arriving together still get distinct times.
    let (id, t) = c.query_row(
        "INSERT INTO user_clicks(user_id, asin, click_time)
         SELECT ?1, ?2, max(?3, coalesce((SELECT max(click_time) + 1 FROM user_clicks WHERE user_id = ?1), ?3))
         RETURNING rowid, click_time",
        params![user.as_str(), asin.as_str(), now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Click {
        id,
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
    let tx = c.unchecked_transaction()?;
    let n = tx.execute(
        "DELETE FROM user_clicks WHERE user_id = ?1",
        [user.as_str()],
    )?;
    if n > 0 {
        crate::catalog::bump_counter(&tx, CLICKS_REVISION)?;
    }
    tx.commit()?;
    Ok(n)
}

pub fn delete_click(c: &Connection, user: &UserId, click_id: i64) -> Result<()> {
    let tx = c.unchecked_transaction()?;
    match tx.execute(
        "DELETE FROM user_clicks WHERE user_id = ?1 AND rowid = ?2",
        params![user.as_str(), click_id],
    )? {
        0 => Err(Error::UnknownClick(click_id)),
        _ => {
            crate::catalog::bump_counter(&tx, CLICKS_REVISION)?;
            Ok(tx.commit()?)
        }
    }
}

/// Records that clicks were deleted (in the caller's transaction), so the CF model is rebuilt.
pub fn note_deletions(c: &Connection) -> Result<()> {
    crate::catalog::bump_counter(c, CLICKS_REVISION).map(|_| ())
}

/// The `recall_meta` counter bumped by every deletion of clicks.
const CLICKS_REVISION: &str = "clicks_revision";

/// Where the click log stands: new clicks raise its highest rowid, deletions its revision
/// (both cheap to read, whatever the log's size).
pub fn click_mark(c: &Connection) -> Result<crate::cf::ClickMark> {
    Ok(crate::cf::ClickMark {
        max_rowid: c.query_row("SELECT coalesce(max(rowid), 0) FROM user_clicks", [], |r| {
            r.get(0)
        })?,
        revision: crate::catalog::meta_counter(c, CLICKS_REVISION)?,
    })
}

pub fn count_clicks(c: &Connection) -> Result<(i64, i64)> {
    Ok(c.query_row("SELECT count(*), (SELECT count(*) FROM (SELECT id FROM users UNION SELECT user_id FROM user_clicks)) FROM user_clicks", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?)
}

pub fn user_exists(c: &Connection, id: &UserId) -> Result<bool> {
    Ok(c.query_row("SELECT 1 FROM users WHERE id = ?1 UNION SELECT 1 FROM user_clicks WHERE user_id = ?1 LIMIT 1", [id.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}
