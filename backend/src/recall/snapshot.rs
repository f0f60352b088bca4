//! A recall's read snapshot of the catalog: one pooled connection and one read transaction,
//! opened only when a channel or the answer first reads the catalog.

use crate::catalog::{Conn, Pool};
use crate::error::Result;
use std::cell::OnceCell;

/// One snapshot for all of a request's catalog reads: one WAL read lock instead of one per
/// statement, and no pooled connection held while the index is searched.
pub struct Snapshot<'p> {
    pool: &'p Pool,
    conn: OnceCell<Conn>,
}

impl<'p> Snapshot<'p> {
    pub fn new(pool: &'p Pool) -> Self {
        Snapshot {
            pool,
            conn: OnceCell::new(),
        }
    }

    /// The snapshot's connection, inside its read transaction.
    pub fn conn(&self) -> Result<&rusqlite::Connection> {
        if let Some(c) = self.conn.get() {
            return Ok(c);
        }
        let c = self.pool.get()?;
        c.execute_batch("BEGIN DEFERRED")?;
        Ok(self.conn.get_or_init(|| c))
    }

    /// Ends the read transaction, if one was opened.
    pub fn finish(mut self) -> Result<()> {
        if let Some(c) = self.conn.take() {
            c.execute_batch("COMMIT")?;
        }
        Ok(())
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // A request that failed mid-way leaves no transaction open on a pooled connection.
        if let Some(c) = self.conn.take() {
            let _ = c.execute_batch("ROLLBACK");
        }
    }
}
