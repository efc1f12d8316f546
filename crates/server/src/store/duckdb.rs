//! The embedded store: one DuckDB file.
//!
//! Events are written in one transaction per batch and keyed by their
//! client-generated id, so a retried batch is stored once. DuckDB's
//! connection is not `Sync`; it sits behind a mutex and is used from
//! blocking tasks, never on the async executor.
//!
//! Everything the store knows lives in the file: besides the data, the
//! schema's version ([`schema`]), the paths' numbers ([`paths`]) and how
//! far the rollup has come ([`rollup`]). The process keeps no state of its
//! own, so two processes on one store (or a reopened one) agree.
//!
//! One file per concern below; [`roles`] maps the store's roles
//! ([`super::IngestStore`] and the others) onto them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;

use super::StoreError;

mod accounts;
mod consents;
mod counters;
mod erase;
mod funnels;
mod inspect;
mod overview;
mod paths;
mod roles;
mod rollup;
mod rows;
mod saved;
mod schema;
mod scope;
mod sites;
mod usage;
mod write;

#[cfg(test)]
mod testing;

#[derive(Debug)]
pub struct DuckDbStore {
    conn: Mutex<Connection>,
    /// The DuckDB file; `None` in memory.
    path: Option<PathBuf>,
}

impl DuckDbStore {
    /// Opens (creating if needed) the DuckDB file at `path`, bringing its
    /// schema to this version's.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?, Some(path.to_owned()))
    }

    /// An in-memory store, for tests of query logic.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        // DuckDB sizes its thread pool by the machine's cores; use the cores
        // this process may run on (its CPU affinity and cgroup quota), or
        // its threads only take turns, and its queries wait on each other.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        conn.execute_batch(&format!("SET threads = {threads};"))?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        schema::fill_in(&conn)?;
        rollup::drop_other_versions(&conn)?;
        Ok(DuckDbStore {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// A second store on the same database, through a connection of its
    /// own: for tests that two stores on one file agree.
    #[cfg(test)]
    pub(crate) fn second_handle(&self) -> Result<Self, StoreError> {
        Ok(DuckDbStore {
            conn: Mutex::new(self.conn().try_clone()?),
            path: self.path.clone(),
        })
    }

    /// Holds the store busy until the guard is dropped, for tests of what
    /// waits on it.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn()
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave DuckDB half-written: the
        // transaction rolls back. Keep serving.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}
