//! The store: where events, consent records, sites and the aggregate counts
//! live, behind one interface, [`EventStore`]. [`DuckDbStore`] (an embedded
//! DuckDB file) is the default; a ClickHouse store for more than one machine
//! will implement the same trait.
//!
//! The schema is one wide `events` table (one column per field any event
//! kind has, NULL where a kind has none) so that every dashboard query is a
//! scan of one table; `consents`, `sites`, `banner_impressions` and
//! `bot_requests` beside it. For ClickHouse the same columns map onto a
//! `ReplacingMergeTree` ordered by `(site, toDate(ts), id)` and partitioned
//! by month, so retention drops partitions and a retried batch is collapsed
//! by id when parts merge (queries read `FINAL` or count distinct ids until
//! then). ClickHouse cannot tell at insert time which ids it stored before,
//! so there `write_batches` will count only repeats within the group as
//! duplicates.

pub mod accounts;
mod duckdb;
pub mod saved;

use chrono::NaiveDate;
use sonde_protocol::consent_report::ConsentReport;
use sonde_protocol::funnel::FunnelDefinition;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{UsageQuery, UsageReport};
use sonde_protocol::{ConsentRecord, EraseReceipt, EventData, SiteSettings};

use crate::reports::Scope;
use crate::reports::conversions::VisitRow;
use crate::reports::errors::ErrorRow;
use crate::reports::funnel::Occurrence;
use crate::reports::performance::VitalRow;
use crate::user_agent::Software;

pub use self::accounts::{AccountStore, StoredSession, StoredUser};
pub use self::duckdb::DuckDbStore;
pub use self::saved::SavedStore;

/// A failure of the store. Its details are for the operator's log, not for
/// API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Duckdb(#[from] ::duckdb::Error),
    #[error("store: a stored record cannot be read: {0}")]
    Corrupt(String),
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

/// Everything the server asks of a store. Calls block: use them from a
/// blocking task or the writer thread, never on the async executor.
pub trait EventStore: Send + Sync + std::fmt::Debug {
    /// Writes several batches in one transaction (a group commit), skipping
    /// ids already stored and repeats, and says for each batch how many of
    /// its events were new: an id sent twice counts as new in the first batch
    /// that carried it only. Returns once everything is durable.
    fn write_batches(&self, batches: &[&[StoredEvent]]) -> Result<Vec<WriteOutcome>, StoreError>;

    /// One batch; see [`EventStore::write_batches`].
    fn write(&self, events: &[StoredEvent]) -> Result<WriteOutcome, StoreError> {
        let outcomes = self.write_batches(&[events])?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    /// Deletes what can still be linked to one visitor of `site`: events of
    /// `visitor_id` at or after `since_ms` (the start of the salt's day),
    /// events of the given sessions, and the consent records of `consent_id`.
    fn erase(
        &self,
        site: &str,
        visitor_id: i64,
        since_ms: i64,
        sessions: &[String],
        consent_id: Option<&str>,
    ) -> Result<EraseReceipt, StoreError>;

    /// Deletes what `site`'s retention no longer allows, as of `now_ms`:
    /// events of each category older than its period, and the campaign
    /// parameters of page views older than the marketing period.
    fn apply_retention(
        &self,
        site: &SiteSettings,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StoreError>;

    /// Page views and unique visitors per bucket of the site's calendar in
    /// `timezone` (every bucket of the range, empty ones as zero), and the
    /// top pages.
    /// Pages seen by fewer than `k` visitors are counted, not listed.
    fn usage(
        &self,
        q: &UsageQuery,
        timezone: chrono_tz::Tz,
        k: u64,
    ) -> Result<UsageReport, StoreError>;

    /// Rolls up to `max_days` of `site`'s days that are over as of
    /// `now_ms` into per-day usage figures, which usage reports then add
    /// up instead of counting page views; a store without a rollup does
    /// nothing.
    fn roll_up(
        &self,
        _site: &SiteSettings,
        _now_ms: i64,
        _max_days: usize,
    ) -> Result<RollupOutcome, StoreError> {
        Ok(RollupOutcome::default())
    }

    /// Key figures of the period and the one before, and the breakdowns,
    /// leaving out rows of fewer than `k` visitors (see
    /// [`sonde_protocol::overview`] for the definitions), of the sessions
    /// the filters select, days on the calendar of `timezone` (a session is
    /// cut at its midnight).
    fn overview(
        &self,
        q: &OverviewQuery,
        timezone: chrono_tz::Tz,
        k: u64,
    ) -> Result<OverviewReport, StoreError>;

    /// Stores a consent record with the device class of the browser that
    /// sent it; `false` when it was stored before.
    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError>;

    /// The consent records of `site` decided in `[from, to)`, in order
    /// (decision time, then consent id), numbered from 1, without hashes.
    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<sonde_protocol::consent_report::ConsentLogEntry>, StoreError>;

    /// Counts one banner shown for `site` on `day` (a download of its
    /// banner settings, see [`crate::http::embed`]).
    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;

    /// Counts one request from a bot for `site` on `day`.
    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;

    /// The sites' settings, by key.
    fn sites(&self) -> Result<Vec<SiteSettings>, StoreError>;

    /// Adds a site or replaces its settings.
    fn put_site(&self, site: &SiteSettings) -> Result<(), StoreError>;

    /// Forgets a site's settings (its data stays until its retention ends
    /// or it is deleted); `false` when there was no such site.
    fn remove_site(&self, key: &str) -> Result<bool, StoreError>;

    /// Number of events stored for `site`.
    fn event_count(&self, site: &str) -> Result<u64, StoreError>;

    /// Events stored for `site`, counted by kind.
    fn count_by_kind(
        &self,
        site: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError>;

    /// Consent records stored for `site`.
    fn consent_count(&self, site: &str) -> Result<u64, StoreError>;

    /// Banner impressions counted for `site`, all days.
    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError>;

    /// Bot requests counted for `site`, all days.
    fn bot_requests(&self, site: &str) -> Result<u64, StoreError>;

    /// Every value of every stored row of `table` rendered as text, for
    /// privacy checks that must prove something is stored nowhere.
    fn dump_as_text(&self, table: &str) -> Result<String, StoreError>;

    /// Each unit's (session's or visitor's) key and events that some step
    /// of `funnel` may match, in the scope's period, in the order they were stored.
    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError>;

    /// A funnel's figures in the scope's period: by default the reference
    /// arithmetic ([`crate::reports::funnel`]) over [`EventStore::funnel_occurrences`];
    /// a store may compute the same in its own engine.
    fn funnel(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<sonde_protocol::funnel::StepResult>, StoreError> {
        reference_funnel(self, scope, funnel)
    }

    /// Each unit's value of `dimension`, from its first event in the scope's period
    /// (`(none)` where it has none).
    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: sonde_protocol::funnel::FunnelUnit,
        dimension: sonde_protocol::funnel::FunnelDimension,
    ) -> Result<std::collections::HashMap<String, String>, StoreError>;

    /// The errors in the scope, oldest first.
    fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError>;

    /// Each visit (session) of `site` that began with a page view in
    /// the scope's period, with where it came from.
    fn visits(&self, scope: &Scope) -> Result<Vec<VisitRow>, StoreError>;

    /// The visits that reached `target` (a page or an event) in `[from,
    /// to)`, once per matching event, with the event's value.
    fn goal_hits(
        &self,
        scope: &Scope,
        target: &sonde_protocol::funnel::Step,
    ) -> Result<Vec<(String, Option<f64>)>, StoreError>;

    /// Sessions with any event in the scope.
    fn session_count(&self, scope: &Scope) -> Result<u64, StoreError>;

    /// Web vitals in the scope: one row per page load and
    /// metric, oldest first.
    fn vitals(&self, scope: &Scope) -> Result<Vec<VitalRow>, StoreError>;

    /// The consent report of `site` for decisions in `[from, to)`, with the
    /// banner impressions of the site's days `first_day..=last_day` (see
    /// [`sonde_protocol::consent_report`] for the definitions).
    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError>;

    /// Whether the store answers a query.
    fn ping(&self) -> Result<(), StoreError>;

    /// Bytes the store takes on disk.
    fn size_on_disk(&self) -> u64;
}

/// A funnel's figures by the reference arithmetic ([`crate::reports::funnel`]) over
/// the store's [`EventStore::funnel_occurrences`]: what
/// [`EventStore::funnel`] does unless a store computes the same in its own
/// engine, and what such a store falls back on for what its engine does
/// not compute.
pub fn reference_funnel<S: EventStore + ?Sized>(
    store: &S,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<sonde_protocol::funnel::StepResult>, StoreError> {
    let units = store.funnel_occurrences(scope, funnel)?;
    let progresses: Vec<Vec<i64>> = units
        .iter()
        .map(|(_, events)| {
            crate::reports::funnel::progress(&funnel.steps, events, funnel.window_ms)
        })
        .collect();
    Ok(crate::reports::funnel::summarize(
        funnel.steps.len(),
        &progresses,
    ))
}
