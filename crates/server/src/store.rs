//! The store: where events, consent records, sites, accounts and the
//! aggregate counts live. Its interface is a few traits, one per role, so
//! that each caller names only what it uses and an engine can be swapped
//! per role (events on ClickHouse, accounts on PostgreSQL):
//!
//! | trait | role | used by |
//! |---|---|---|
//! | [`IngestStore`] | write events, consent records, daily counts | the writer, consent, embed, ingest |
//! | [`LifecycleStore`] | erasure, retention, rollup | erase, the retention and rollup tasks |
//! | [`ReportStore`] | counts and rows for [`crate::reports`] | report handlers |
//! | [`SiteStore`] | sites and their settings | the state at start, the admin API, the CLI |
//! | [`AccountStore`] | people, sign-in sessions, share links, site API keys | auth |
//! | [`SavedStore`] | saved funnels, goals and annotations | saved items, reports, annotations |
//! | [`AlertStore`] | alert rules and firings | alerts |
//! | [`DigestStore`] | digest subscriptions | digests |
//! | [`StoreInspection`] | health, size, raw counts and dumps | operations, demo, tests |
//! | [`TransferStore`] | everything as stored, read out and written in | export, import |
//!
//! [`Stores`] holds one handle per role. [`DuckDbStore`] (an embedded
//! DuckDB file) is the default and plays every role; with `--store
//! clickhouse://…`, [`ClusterStore`] keeps the events on a ClickHouse
//! cluster ([`ClickHouseStore`]) and the rest in an [`ApplicationStore`]:
//! PostgreSQL ([`PostgresStore`], `--app-store postgres://…`) or the
//! DuckDB file.
//!
//! The schema is one wide `events` table (one column per field any event
//! kind has, NULL where a kind has none, the same on every engine:
//! [`event_row`]) so that every dashboard query is a scan of one table;
//! `consents`, `sites`, `banner_impressions` and `bot_requests` beside it.

pub mod accounts;
pub mod alerts;
mod application;
pub mod clickhouse;
mod cluster;
pub mod digests;
mod duckdb;
pub(crate) mod event_row;
pub mod imported;
mod ingest;
mod inspection;
mod lifecycle;
pub mod postgres;
mod reporting;
mod salts;
pub mod saved;
mod sites;
pub mod transfer;

use std::sync::Arc;

use sonde_protocol::EventData;

use crate::user_agent::Software;

pub use self::accounts::{AccountStore, StoredSession, StoredUser};
pub use self::alerts::AlertStore;
pub use self::application::ApplicationStore;
pub use self::clickhouse::ClickHouseStore;
pub use self::cluster::ClusterStore;
pub use self::digests::DigestStore;
pub use self::duckdb::DuckDbStore;
pub use self::imported::ImportedStore;
pub use self::ingest::IngestStore;
pub use self::inspection::StoreInspection;
pub use self::lifecycle::LifecycleStore;
pub use self::postgres::PostgresStore;
pub use self::reporting::{
    FunnelBreakdown, FunnelRows, ReportStore, reference_funnel, reference_funnel_breakdown,
    reference_funnel_visits,
};
pub use self::salts::{Salt, SaltKeeper};
pub use self::saved::SavedStore;
pub use self::sites::SiteStore;
pub use self::transfer::TransferStore;

/// A failure of the store. Its details are for the operator's log, not for
/// API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Duckdb(#[from] ::duckdb::Error),
    #[error("store: a stored record cannot be read: {0}")]
    Corrupt(String),
    #[error("store: {0}")]
    ClickHouse(#[from] self::clickhouse::ClickHouseError),
    #[error("store: {0}")]
    BadAddress(#[from] self::clickhouse::BadAddress),
    #[error("application store: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("application store: cannot connect: {0}")]
    PostgresPool(#[from] ::r2d2::Error),
    #[error("application store: not a postgres:// address: {0}")]
    BadAppAddress(String),
    /// The store cannot take a write now (a shard without its quorum);
    /// the client should send it again later.
    #[error("store: unavailable for writes: {0}")]
    Unavailable(String),
}

/// An event as stored: anonymized and scrubbed. What it says is the
/// protocol's [`EventData`], so the schema has one definition.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    pub site: String,
    /// ms since the Unix epoch, UTC.
    pub ts: i64,
    pub visitor_id: i64,
    pub session_id: Option<String>,
    /// The page it happened on.
    pub path: String,
    /// The visitor's browser, OS and device class (never the user agent).
    pub software: Software,
    pub data: EventData,
}

/// How an embedded store may use memory and disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreTuning {
    /// Memory for queries and caches, in MiB; beyond it, queries spill to
    /// disk.
    pub memory_limit_mb: u32,
    /// Write-ahead log size, in MiB, at which rows are checkpointed into
    /// the file.
    pub checkpoint_wal_mb: u32,
}

impl StoreTuning {
    /// Sized for a small machine: the whole server within about 500 MB at
    /// 10 million events (BENCHMARKS.md).
    pub const DEFAULT: StoreTuning = StoreTuning {
        memory_limit_mb: 256,
        checkpoint_wal_mb: 64,
    };
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    pub inserted: usize,
    pub duplicates: usize,
}

/// What one turn of the usage roll-up did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupOutcome {
    /// Days rolled up in this turn.
    pub rolled: usize,
    /// Days over and not rolled up yet.
    pub pending: usize,
}

/// What a retention pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub events_deleted: usize,
    pub campaigns_cleared: usize,
}

/// One handle per role; cheap to clone. Each may be a different engine.
#[derive(Clone, Debug)]
pub struct Stores {
    pub ingest: Arc<dyn IngestStore>,
    pub lifecycle: Arc<dyn LifecycleStore>,
    pub reports: Arc<dyn ReportStore>,
    pub sites: Arc<dyn SiteStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub saved: Arc<dyn SavedStore>,
    pub alerts: Arc<dyn AlertStore>,
    pub digests: Arc<dyn DigestStore>,
    pub imported: Arc<dyn ImportedStore>,
    pub inspection: Arc<dyn StoreInspection>,
    pub transfer: Arc<dyn TransferStore>,
}

impl Stores {
    /// Every role played by one store.
    pub fn all_in<S>(store: Arc<S>) -> Self
    where
        S: IngestStore
            + LifecycleStore
            + ReportStore
            + SiteStore
            + AccountStore
            + SavedStore
            + AlertStore
            + DigestStore
            + ImportedStore
            + StoreInspection
            + TransferStore
            + 'static,
    {
        Stores {
            ingest: store.clone(),
            lifecycle: store.clone(),
            reports: store.clone(),
            sites: store.clone(),
            accounts: store.clone(),
            saved: store.clone(),
            alerts: store.clone(),
            digests: store.clone(),
            imported: store.clone(),
            inspection: store.clone(),
            transfer: store,
        }
    }
}

/// The traits of the roles over the sites' data (not accounts or saved
/// items, whose `funnel` would clash with the reports'), for tests that
/// call one store's methods directly.
#[cfg(test)]
pub(crate) mod data_roles {
    pub(crate) use super::{IngestStore, LifecycleStore, ReportStore, SiteStore, StoreInspection};
}
