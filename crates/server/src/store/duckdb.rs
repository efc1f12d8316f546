//! The embedded store: one DuckDB file.
//!
//! Events are written in one transaction per batch and keyed by their
//! client-generated id, so a retried batch is stored once. DuckDB's
//! connection is not `Sync`; it sits behind a mutex and is used from
//! blocking tasks, never on the async executor.
//!
//! Everything the store knows lives in the file: besides the data, the
//! schema's version ([`schema`]), the paths' numbers ([`paths`]) and how
//! far the rollup has come ([`rollup`]), so a reopened store is the same
//! store. The one thing the process keeps besides is a copy of path
//! numbers it has read, for the writer's sake ([`paths::KnownPaths`]);
//! DuckDB lets only one process write a file, which keeps that copy true.
//!
//! One file per concern below; [`roles`] maps the store's roles
//! ([`super::IngestStore`] and the others) onto them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use duckdb::Connection;

use super::{StoreError, StoreTuning};

mod accounts;
mod alerts;
mod buckets;
mod consents;
mod conversions;
mod counters;
mod digests;
mod erase;
mod funnels;
mod imported;
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
mod transfer;
mod usage;
mod visits;
mod vitals;
mod write;

#[cfg(test)]
mod testing;

/// Now, in ms since the Unix epoch: when a write's ids were stored.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug)]
pub struct DuckDbStore {
    conn: Mutex<Connection>,
    /// The DuckDB file; `None` in memory.
    path: Option<PathBuf>,
    /// Shared with [`DuckDbStore::second_handle`]s: one process, one copy.
    known_paths: Arc<paths::KnownPaths>,
}

impl DuckDbStore {
    /// Opens (creating if needed) the DuckDB file at `path`, bringing its
    /// schema to this version's.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_tuned(path, &StoreTuning::DEFAULT)
    }

    /// [`DuckDbStore::open`], with its memory and checkpoints as `tuning` says.
    pub fn open_tuned(path: &Path, tuning: &StoreTuning) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?, Some(path.to_owned()), tuning)
    }

    /// An in-memory store, for tests of query logic.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None, &StoreTuning::DEFAULT)
    }

    fn init(
        mut conn: Connection,
        path: Option<PathBuf>,
        tuning: &StoreTuning,
    ) -> Result<Self, StoreError> {
        // DuckDB sizes its thread pool by the machine's cores; use the cores
        // this process may run on (its CPU affinity and cgroup quota), or
        // its threads only take turns, and its queries wait on each other.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let StoreTuning {
            memory_limit_mb,
            checkpoint_wal_mb,
        } = tuning;
        conn.execute_batch(&format!(
            "SET threads = {threads};
             SET memory_limit = '{memory_limit_mb}MiB';
             SET checkpoint_threshold = '{checkpoint_wal_mb}MiB';"
        ))?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        schema::fill_in(&conn)?;
        rollup::drop_other_versions(&conn)?;
        Ok(DuckDbStore {
            conn: Mutex::new(conn),
            path,
            known_paths: Arc::default(),
        })
    }

    /// The bots turned away from `q`'s site on each of its days the
    /// period touches (on the calendar of `timezone`), as the overview
    /// lists them: for a store that keeps events elsewhere.
    pub fn bots_per_day(
        &self,
        q: &sonde_protocol::overview::OverviewQuery,
        timezone: chrono_tz::Tz,
    ) -> Result<Vec<sonde_protocol::overview::BotDay>, StoreError> {
        overview::bots_per_day(&self.conn(), q, timezone)
    }

    /// A second store on the same database, through a connection of its
    /// own: for tests that two stores on one file agree.
    #[cfg(test)]
    pub(crate) fn second_handle(&self) -> Result<Self, StoreError> {
        Ok(DuckDbStore {
            conn: Mutex::new(self.conn().try_clone()?),
            path: self.path.clone(),
            known_paths: Arc::clone(&self.known_paths),
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
