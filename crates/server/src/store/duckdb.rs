//! The embedded store: one DuckDB file.
//!
//! Events are written in one transaction per batch and keyed by their
//! client-generated id, so a retried batch is stored once. DuckDB's
//! connection is not `Sync`; it sits behind a mutex and is used from
//! blocking tasks, never on the async executor.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;
use chrono_tz::Tz;
use duckdb::{Appender, Connection, params};
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport, GrantRates};
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step, StepResult};
use sonde_protocol::overview::{
    Breakdown, BreakdownRow, KeyFigures, OverviewQuery, OverviewReport,
};
use sonde_protocol::usage::{PageStat, UsagePoint, UsageQuery, UsageReport, UsageTotals};
use sonde_protocol::{
    ConsentRecord, EraseReceipt, EventData, Filters, Granularity, SiteSettings, Vital,
};

mod accounts;
mod paths;
mod rollup;
mod saved;

use super::{EventStore, RetentionOutcome, RollupOutcome, StoreError, StoredEvent, WriteOutcome};
use crate::reports::Scope;
use crate::reports::conversions::VisitRow;
use crate::reports::errors::ErrorRow;
use crate::reports::funnel::{Happened, Occurrence};
use crate::reports::performance::VitalRow;

/// One column per field any event kind has; a kind leaves the others NULL.
/// `ALTER … IF NOT EXISTS` brings a file written by an older Sonde along.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id            VARCHAR PRIMARY KEY,
    site          VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    ts            TIMESTAMP NOT NULL,
    visitor_id    BIGINT NOT NULL,
    session_id    VARCHAR,
    path          VARCHAR NOT NULL,
    referrer_host VARCHAR,
    title         VARCHAR
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS category VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_medium VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_campaign VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_term VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_content VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS name VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS href VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS value DOUBLE;
ALTER TABLE events ADD COLUMN IF NOT EXISTS props VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_message VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_source VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_line INTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_column INTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_stack VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_rejection BOOLEAN;
ALTER TABLE events ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS device VARCHAR;
-- A number for the event's session (its session id, or its own id when it
-- has none; see session_key), so funnels group events by session without
-- reading and hashing the ids. Rows stored before it existed get theirs at
-- open (BACKFILL).
ALTER TABLE events ADD COLUMN IF NOT EXISTS session_key UBIGINT;

-- One row per decision; a retried send of the same record is stored once.
CREATE TABLE IF NOT EXISTS consents (
    site           VARCHAR NOT NULL,
    consent_id     VARCHAR NOT NULL,
    decided_at     TIMESTAMP NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    policy_version INTEGER NOT NULL,
    source         VARCHAR NOT NULL,
    gpc            BOOLEAN NOT NULL,
    usage          BOOLEAN NOT NULL,
    errors         BOOLEAN NOT NULL,
    performance    BOOLEAN NOT NULL,
    marketing      BOOLEAN NOT NULL,
    PRIMARY KEY (consent_id, decided_at)
);
-- The device class of the browser that sent the decision (never more).
ALTER TABLE consents ADD COLUMN IF NOT EXISTS device VARCHAR;

-- Sites and their settings (sonde_protocol::SiteSettings as JSON, so a
-- new setting needs no migration).
CREATE TABLE IF NOT EXISTS sites (
    key      VARCHAR PRIMARY KEY,
    settings VARCHAR NOT NULL
);

-- Requests from bots per site and day: counted, never stored as visits.
CREATE TABLE IF NOT EXISTS bot_requests (
    day   DATE NOT NULL,
    site  VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, site)
);

-- Banner downloads per site and day: the consent report's denominator,
-- counted in aggregate with nothing about the visitor.
CREATE TABLE IF NOT EXISTS banner_impressions (
    day   DATE NOT NULL,
    site  VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, site)
);
";

/// The session keys of rows stored before `events.session_key` existed, as
/// [`session_key`] computes them.
const BACKFILL: &str = "UPDATE events SET session_key = md5_number_lower(coalesce(session_id, id)) WHERE session_key IS NULL";

/// The event columns, in the order of [`append`].
const COLUMNS: &str = "id, site, kind, category, ts, visitor_id, session_id, path, referrer_host, title, \
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, name, href, value, props, \
    error_message, error_source, error_line, error_column, error_stack, error_rejection, \
    browser, os, device, session_key, path_id";

/// Where a write lands first: the appender fills it quickly, then one
/// statement moves its rows into `events`, skipping ids already there. The
/// table is made anew for every write: deleted rows stay in a DuckDB table
/// as tombstones that every later scan walks over, and a temporary table is
/// never checkpointed, so emptying it made each write slower than the last.
const STAGING: &str = "
CREATE OR REPLACE TEMP TABLE staging (
    id VARCHAR, site VARCHAR, kind VARCHAR, category VARCHAR, ts TIMESTAMP, visitor_id BIGINT,
    session_id VARCHAR, path VARCHAR, referrer_host VARCHAR, title VARCHAR,
    utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, utm_term VARCHAR, utm_content VARCHAR,
    name VARCHAR, href VARCHAR, value DOUBLE, props VARCHAR,
    error_message VARCHAR, error_source VARCHAR, error_line INTEGER, error_column INTEGER,
    error_stack VARCHAR, error_rejection BOOLEAN, browser VARCHAR, os VARCHAR, device VARCHAR,
    session_key UBIGINT, path_id INTEGER
);
";

/// Most top pages a usage report lists.
const TOP_PAGES: usize = 10;

#[derive(Debug)]
pub struct DuckDbStore {
    conn: Mutex<Connection>,
    /// Per site, the end of its latest rolled-up day (see [`rollup`]); a
    /// page view written before it takes its day out of the rollup. Locked
    /// after `conn`.
    rolled_until: Mutex<HashMap<String, i64>>,
    /// The DuckDB file; `None` in memory.
    path: Option<PathBuf>,
    /// Each site's paths by number (see [`paths`]). Locked after `conn`.
    paths: Mutex<paths::PathIds>,
}

impl DuckDbStore {
    /// Opens (creating if needed) the DuckDB file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?, Some(path.to_owned()))
    }

    /// An in-memory store, for tests of query logic.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        // DuckDB sizes its thread pool by the machine's cores; use the cores
        // this process may run on (its CPU affinity and cgroup quota), or
        // its threads only take turns, and its queries wait on each other.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        conn.execute_batch(&format!("SET threads = {threads};"))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(BACKFILL)?;
        conn.execute_batch(paths::SCHEMA)?;
        let paths = paths::PathIds::open(&conn)?;
        conn.execute_batch(accounts::SCHEMA)?;
        conn.execute_batch(saved::SCHEMA)?;
        conn.execute_batch(rollup::SCHEMA)?;
        rollup::drop_other_versions(&conn)?;
        let rolled_until = rollup::rolled_until(&conn)?;
        Ok(DuckDbStore {
            conn: Mutex::new(conn),
            rolled_until: Mutex::new(rolled_until),
            path,
            paths: Mutex::new(paths),
        })
    }

    /// Holds the store busy until the guard is dropped, for tests of what
    /// waits on it.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn()
    }

    /// The sum over all days of a per-day count table (`banner_impressions`,
    /// `bot_requests`) for `site`.
    fn daily_total(&self, table: &str, site: &str) -> Result<u64, StoreError> {
        let count: Option<i64> = self.conn().query_row(
            &format!("SELECT sum(count)::BIGINT FROM {table} WHERE site = ?"),
            [site],
            |r| r.get(0),
        )?;
        Ok(count.unwrap_or(0) as u64)
    }

    /// Takes the days that late page views among `rows` fall on out of
    /// the rollup, before the rows are written.
    fn unroll_late_views<'e>(
        &self,
        conn: &Connection,
        rows: impl Iterator<Item = &'e StoredEvent>,
    ) -> Result<(), StoreError> {
        let rolled_until = self.rolled_until.lock().unwrap_or_else(|e| e.into_inner());
        if rolled_until.is_empty() {
            return Ok(());
        }
        let mut late: HashMap<&str, (i64, i64)> = HashMap::new();
        for e in rows {
            let is_late = rolled_until
                .get(e.site.as_str())
                .is_some_and(|until| e.ts < *until);
            if is_late && matches!(e.data, EventData::PageView { .. }) {
                let span = late.entry(e.site.as_str()).or_insert((e.ts, e.ts));
                *span = (span.0.min(e.ts), span.1.max(e.ts));
            }
        }
        for (site, (from, to)) in late {
            rollup::unroll(conn, site, from, to)?;
        }
        Ok(())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave DuckDB half-written: the
        // transaction rolls back. Keep serving.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The paths' numbers; lock only while holding [`DuckDbStore::conn`].
    fn paths(&self) -> std::sync::MutexGuard<'_, paths::PathIds> {
        self.paths.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EventStore for DuckDbStore {
    /// Number of consent records stored for `site`.
    fn consent_count(&self, site: &str) -> Result<u64, StoreError> {
        let count: i64 = self.conn().query_row(
            "SELECT count(*) FROM consents WHERE site = ?",
            [site],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    /// Bot requests counted for `site`, all days.
    fn bot_requests(&self, site: &str) -> Result<u64, StoreError> {
        self.daily_total("bot_requests", site)
    }

    /// Banner downloads counted for `site`, all days.
    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError> {
        self.daily_total("banner_impressions", site)
    }

    /// Every value of every stored row of `table` rendered as text, for
    /// privacy tests that must prove something is stored nowhere.
    fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {table}"))?;
        let mut rows = stmt.query([])?;
        let mut out = String::new();
        while let Some(row) = rows.next()? {
            for i in 0..row.as_ref().column_count() {
                let value: Option<String> = row.get(i)?;
                out.push_str(value.as_deref().unwrap_or(""));
                out.push('\t');
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Whether the store answers a query.
    fn ping(&self) -> Result<(), StoreError> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// Bytes the store takes on disk: the database file and its write-ahead log.
    fn size_on_disk(&self) -> u64 {
        let Some(path) = &self.path else { return 0 };
        let mut wal = path.clone().into_os_string();
        wal.push(".wal");
        [path.as_os_str(), wal.as_os_str()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Writes several batches in one transaction (a group commit), skipping
    /// ids already stored and repeats, and says for each batch how many of
    /// its events were new: an id sent twice counts as new in the first batch
    /// that carried it only. Returns once everything is committed.
    ///
    /// The common case, where no id is stored yet, goes straight into
    /// `events` with DuckDB's appender, all or nothing. When that is refused
    /// (a retried batch), the group goes through a staging table and one
    /// `INSERT … ON CONFLICT DO NOTHING`, which says which ids were new.
    fn write_batches(&self, batches: &[&[StoredEvent]]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut seen = HashSet::new();
        let firsts: Vec<Vec<&StoredEvent>> = batches
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .filter(|e| seen.insert(e.id.as_str()))
                    .collect()
            })
            .collect();
        let rows = firsts.iter().flatten().copied();
        let conn = self.conn();
        // Before the write: should it fail half-way, a day is only counted
        // from the events once more.
        self.unroll_late_views(&conn, rows.clone())?;
        let path_ids = self.paths().number(
            &conn,
            rows.clone().map(|e| (e.site.as_str(), e.path.as_str())),
        )?;
        let new_ids = match append_rows(&conn, "events", rows.clone(), &path_ids) {
            Ok(()) => None,
            Err(e) => {
                tracing::debug!(error = %e, "a group repeats stored ids; writing it through staging");
                conn.execute_batch(STAGING)?;
                append_rows(&conn, "staging", rows, &path_ids)?;
                Some(move_staged_rows(&conn)?)
            }
        };
        Ok(batches
            .iter()
            .zip(&firsts)
            .map(|(batch, firsts)| {
                let new = match &new_ids {
                    None => firsts.len(),
                    Some(ids) => firsts.iter().filter(|e| ids.contains(&e.id)).count(),
                };
                WriteOutcome {
                    inserted: new,
                    duplicates: batch.len() - new,
                }
            })
            .collect())
    }

    /// The sites' settings, by key.
    fn sites(&self) -> Result<Vec<SiteSettings>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT settings FROM sites ORDER BY key")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    /// Adds a site or replaces its settings.
    fn put_site(&self, site: &SiteSettings) -> Result<(), StoreError> {
        let json = serde_json::to_string(site).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO sites VALUES (?, ?) ON CONFLICT DO UPDATE SET settings = excluded.settings",
            params![site.key, json],
        )?;
        // Days counted in another timezone are other days.
        conn.execute(
            "DELETE FROM rollup_days WHERE site = ? AND timezone <> ?",
            params![site.key, site.timezone],
        )?;
        Ok(())
    }

    /// Forgets a site's settings (its data stays until its retention ends
    /// or it is deleted); `false` when there was no such site.
    fn remove_site(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sites WHERE key = ?", [key])?
            == 1)
    }

    /// Deletes what `site`'s retention no longer allows, as of `now_ms`:
    /// events of each category older than its period, and the campaign
    /// parameters of page views older than the marketing period.
    fn apply_retention(
        &self,
        site: &SiteSettings,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        const DAY_MS: i64 = 86_400_000;
        let cutoff = |days: u32| now_ms - i64::from(days) * DAY_MS;
        let r = site.retention;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut events_deleted = 0;
        for (category, days) in [
            ("usage", r.usage),
            ("errors", r.errors),
            ("performance", r.performance),
        ] {
            events_deleted += tx.execute(
                "DELETE FROM events WHERE site = ? AND category = ? AND ts < epoch_ms(?::BIGINT)",
                params![site.key, category, cutoff(days)],
            )?;
        }
        let campaigns_cleared = tx.execute(
            "UPDATE events SET utm_source = NULL, utm_medium = NULL, utm_campaign = NULL,
                               utm_term = NULL, utm_content = NULL
             WHERE site = ? AND ts < epoch_ms(?::BIGINT)
               AND (utm_source IS NOT NULL OR utm_medium IS NOT NULL OR utm_campaign IS NOT NULL
                    OR utm_term IS NOT NULL OR utm_content IS NOT NULL)",
            params![site.key, cutoff(r.marketing)],
        )?;
        let mut paths_gone = Vec::new();
        if events_deleted > 0 {
            let latest = cutoff(r.usage.max(r.errors).max(r.performance));
            tx.execute(
                "DELETE FROM rollup_days WHERE site = ? AND day_start < ?",
                params![site.key, latest],
            )?;
            paths_gone = paths::PathIds::delete_unused(&tx, &site.key)?;
        }
        tx.commit()?;
        self.paths().forget(&site.key, &paths_gone);
        Ok(RetentionOutcome {
            events_deleted,
            campaigns_cleared,
        })
    }

    /// Stores a consent record; `false` when it was stored before.
    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError> {
        let g = record.grants;
        let inserted = self.conn().execute(
            "INSERT INTO consents VALUES (?, ?, epoch_ms(?::BIGINT), now(), ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
            params![
                record.site,
                record.consent_id,
                record.decided_at,
                record.policy_version,
                record.source.as_str(),
                record.gpc,
                g.usage,
                g.errors,
                g.performance,
                g.marketing,
                device,
            ],
        )?;
        Ok(inserted == 1)
    }

    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT consent_id, epoch_ms(decided_at), policy_version, source, gpc,
                    usage, errors, performance, marketing, coalesce(device, 'unknown')
             FROM consents
             WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)
             ORDER BY decided_at, consent_id",
        )?;
        let rows = stmt.query_map(params![site, from, to], |r| {
            Ok(ConsentLogEntry {
                seq: 0,
                site: site.to_owned(),
                consent_id: r.get(0)?,
                decided_at: r.get(1)?,
                policy_version: r.get::<_, i32>(2)?.max(0) as u32,
                source: r.get(3)?,
                gpc: r.get(4)?,
                usage: r.get(5)?,
                errors: r.get(6)?,
                performance: r.get(7)?,
                marketing: r.get(8)?,
                device: r.get(9)?,
                prev_hash: String::new(),
                hash: String::new(),
            })
        })?;
        let mut entries: Vec<ConsentLogEntry> = rows.collect::<Result<_, _>>()?;
        for (i, e) in entries.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
        }
        Ok(entries)
    }

    /// Counts one download of the banner for `site` on `day`.
    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO banner_impressions VALUES (?::DATE, ?, 1)
             ON CONFLICT DO UPDATE SET count = banner_impressions.count + 1",
            params![day.to_string(), site],
        )?;
        Ok(())
    }

    /// Counts one request from a bot for `site` on `day`.
    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO bot_requests VALUES (?::DATE, ?, 1)
             ON CONFLICT DO UPDATE SET count = bot_requests.count + 1",
            params![day.to_string(), site],
        )?;
        Ok(())
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
    ) -> Result<EraseReceipt, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let placeholders = vec!["?"; sessions.len()].join(", ");
        let by_session = if sessions.is_empty() {
            String::new()
        } else {
            format!(" OR session_id IN ({placeholders})")
        };
        let mut values: Vec<&dyn duckdb::ToSql> = vec![&site, &visitor_id, &since_ms];
        values.extend(sessions.iter().map(|s| s as &dyn duckdb::ToSql));
        let events_deleted = tx.execute(
            &format!(
                "DELETE FROM events WHERE site = ?
                 AND ((visitor_id = ? AND ts >= epoch_ms(?::BIGINT)){by_session})"
            ),
            values.as_slice(),
        )?;
        let mut paths_gone = Vec::new();
        if events_deleted > 0 {
            tx.execute("DELETE FROM rollup_days WHERE site = ?", [site])?;
            // A path only this visitor viewed goes with their events.
            paths_gone = paths::PathIds::delete_unused(&tx, site)?;
        }
        let consent_records_deleted = match consent_id {
            Some(id) => tx.execute(
                "DELETE FROM consents WHERE site = ? AND consent_id = ?",
                params![site, id],
            )?,
            None => 0,
        };
        tx.commit()?;
        self.paths().forget(site, &paths_gone);
        Ok(EraseReceipt {
            events_deleted: events_deleted as u64,
            consent_records_deleted: consent_records_deleted as u64,
        })
    }

    /// Number of events stored for `site`.
    fn event_count(&self, site: &str) -> Result<u64, StoreError> {
        let conn = self.conn();
        let count: i64 =
            conn.query_row("SELECT count(*) FROM events WHERE site = ?", [site], |r| {
                r.get(0)
            })?;
        Ok(count as u64)
    }

    /// Events stored for `site`, counted by kind.
    fn count_by_kind(
        &self,
        site: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT kind, count(*) FROM events WHERE site = ? GROUP BY kind")?;
        let counts = stmt
            .query_map([site], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<_, _>>()?;
        Ok(counts)
    }

    /// Page views and unique visitors per bucket, and the top pages.
    fn overview(
        &self,
        q: &OverviewQuery,
        timezone: Tz,
        k: u64,
    ) -> Result<OverviewReport, StoreError> {
        let conn = self.conn();
        let length = q.to - q.from;
        let previous = key_figures(&conn, q, q.from - length, q.from, timezone)?;
        let current = key_figures(&conn, q, q.from, q.to, timezone)?;
        // `counted_sessions` and `chosen_days` now hold the current period's.
        let breakdown = |sql: &str| breakdown(&conn, sql, k);
        // Visitors are counted per day and added up, so a group's figures
        // are the counted sessions' and the rolled-up days' sums.
        let by_session = |column: &str| {
            format!(
                "SELECT label, sum(visitors)::BIGINT, sum(n)::BIGINT FROM (
                     SELECT {column} AS label, count(DISTINCT (day_start, visitor)) AS visitors,
                            count(*) AS n
                     FROM counted_sessions WHERE {column} IS NOT NULL GROUP BY {column}
                     UNION ALL
                     SELECT g.label, g.visitors, g.sessions
                     FROM rollup_day_groups g JOIN chosen_days d
                       ON g.site = d.site AND g.day_start = d.day_start
                     WHERE g.dimension = '{column}'
                 ) GROUP BY label"
            )
        };
        let pages = if q.filters.is_empty() {
            // Every session: the usage report's pages, from the rollup.
            let scope = Scope::unfiltered(&q.site, q.from, q.to);
            let figures = usage_figures(&conn, &scope, timezone)?;
            let mut rows: Vec<BreakdownRow> = figures
                .pages
                .into_iter()
                .map(|(label, counts)| BreakdownRow {
                    label,
                    visitors: counts.visitors,
                    count: counts.views,
                })
                .collect();
            rows.sort_by(|a, b| {
                b.visitors
                    .cmp(&a.visitors)
                    .then_with(|| b.count.cmp(&a.count))
                    .then_with(|| a.label.cmp(&b.label))
            });
            keep_groups(rows, k)
        } else {
            breakdown(
                "SELECT v.path, count(DISTINCT (v.day_start, v.visitor_id)), count(*)
                 FROM views v JOIN counted_sessions c
                   ON v.session = c.session AND v.day_start = c.day_start
                 GROUP BY v.path",
            )?
        };
        Ok(OverviewReport {
            current,
            previous,
            k,
            pages,
            entry_pages: breakdown(&by_session("entry"))?,
            exit_pages: breakdown(&by_session("exit"))?,
            sources: breakdown(&by_session("source"))?,
            referrers: breakdown(&by_session("referrer"))?,
            campaigns: breakdown(&by_session("campaign"))?,
            browsers: breakdown(&by_session("browser"))?,
            os: breakdown(&by_session("os"))?,
            devices: breakdown(&by_session("device"))?,
        })
    }

    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: FunnelUnit,
        dimension: FunnelDimension,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let unit = match unit {
            FunnelUnit::Session => "coalesce(session_id, id)",
            FunnelUnit::Visitor => "visitor_id::VARCHAR",
        };
        // Source and campaign belong to a visit's first page view.
        let (column, only) = match dimension {
            FunnelDimension::Browser => ("browser", ""),
            FunnelDimension::Os => ("os", ""),
            FunnelDimension::Device => ("device", ""),
            FunnelDimension::Source => (
                "coalesce(utm_source, referrer_host, 'direct')",
                "AND kind = 'page_view'",
            ),
            FunnelDimension::Campaign => ("utm_campaign", "AND kind = 'page_view'"),
        };
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {unit}, coalesce(first({column} ORDER BY ts, rowid), '(none)') FROM events
             WHERE {events} {only}
             GROUP BY 1"
        ))?;
        let rows = stmt.query_map(scope_params(scope), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT coalesce(session_id, id), epoch_ms(ts), error_message, error_stack, error_source,
                    coalesce(browser, 'unknown'), path
             FROM events
             WHERE {events} AND kind = 'error'
             ORDER BY ts, rowid"
        ))?;
        let rows = stmt.query_map(scope_params(scope), |r| {
            Ok(ErrorRow {
                session: r.get(0)?,
                ts: r.get(1)?,
                message: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                stack: r.get(3)?,
                source: r.get(4)?,
                browser: r.get(5)?,
                path: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn visits(&self, scope: &Scope) -> Result<Vec<VisitRow>, StoreError> {
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT session_id, first(visitor_id ORDER BY ts, rowid), epoch_ms(min(ts)),
                    first(path ORDER BY ts, rowid),
                    coalesce(first(referrer_host ORDER BY ts, rowid), 'direct'),
                    coalesce(first(utm_source ORDER BY ts, rowid),
                             first(referrer_host ORDER BY ts, rowid), 'direct'),
                    first(utm_medium ORDER BY ts, rowid),
                    first(utm_campaign ORDER BY ts, rowid)
             FROM events
             WHERE {events} AND kind = 'page_view' AND session_id IS NOT NULL
             GROUP BY session_id"
        ))?;
        let rows = stmt.query_map(scope_params(scope), |r| {
            Ok(VisitRow {
                session: r.get(0)?,
                visitor: r.get(1)?,
                start: r.get(2)?,
                landing: r.get(3)?,
                referrer: r.get(4)?,
                source: r.get(5)?,
                medium: r.get(6)?,
                campaign: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn goal_hits(
        &self,
        scope: &Scope,
        target: &Step,
    ) -> Result<Vec<(String, Option<f64>)>, StoreError> {
        let (filter, wanted) = match target {
            Step::Page { path } => {
                let (test, value) = path_test(path);
                (format!("kind = 'page_view' AND {test}"), value)
            }
            Step::Event { name, .. } => (
                "kind IN ('custom', 'click', 'form_submit') AND name = ?".to_owned(),
                name.clone(),
            ),
        };
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT coalesce(session_id, id), value, props FROM events
             WHERE {events} AND {filter}"
        ))?;
        let rows = stmt.query_map(params![scope.site, scope.from, scope.to, wanted], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<f64>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (session, value, props) = row?;
            let matches = match target {
                Step::Page { .. } => true,
                Step::Event { name, .. } => {
                    let props = props.as_deref().map(props_as_text).unwrap_or_default();
                    target.matches_event(name, |key| {
                        props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
                    })
                }
            };
            if matches {
                hits.push((session, value));
            }
        }
        Ok(hits)
    }

    fn session_count(&self, scope: &Scope) -> Result<u64, StoreError> {
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let n: i64 = conn.query_row(
            &format!("SELECT count(DISTINCT session_id) FROM events WHERE {events}"),
            scope_params(scope),
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn vitals(&self, scope: &Scope) -> Result<Vec<VitalRow>, StoreError> {
        let conn = self.conn();
        let events = scoped(&conn, scope)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT coalesce(session_id, id), epoch_ms(ts), path, name, value
             FROM events
             WHERE {events} AND kind = 'vital' AND value IS NOT NULL
             ORDER BY ts, rowid"
        ))?;
        let rows = stmt.query_map(scope_params(scope), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, f64>(4)?,
            ))
        })?;
        let mut vitals = Vec::new();
        for row in rows {
            let (session, ts, path, name, value) = row?;
            let metric = Vital::ALL
                .into_iter()
                .find(|m| m.as_str() == name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown vital {name:?}")))?;
            vitals.push(VitalRow {
                session,
                ts,
                path,
                metric,
                value,
            });
        }
        Ok(vitals)
    }

    /// In SQL when every step can be matched there (pages, and events
    /// without a property); otherwise the reference arithmetic.
    fn funnel(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<StepResult>, StoreError> {
        if needs_props(funnel) {
            let units = self.funnel_occurrences(scope, funnel)?;
            let progresses: Vec<Vec<i64>> = units
                .iter()
                .map(|(_, events)| {
                    crate::reports::funnel::progress(&funnel.steps, events, funnel.window_ms)
                })
                .collect();
            return Ok(crate::reports::funnel::summarize(
                funnel.steps.len(),
                &progresses,
            ));
        }
        let conn = self.conn();
        funnel_in_sql(&conn, scope, funnel, &self.paths())
    }

    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
        let unit = match funnel.unit {
            FunnelUnit::Session => "coalesce(session_id, id)",
            FunnelUnit::Visitor => "visitor_id::VARCHAR",
        };
        if !needs_props(funnel) {
            return funnel_steps_in_sql(&self.conn(), scope, unit, &funnel.steps);
        }
        funnel_matched_in_rust(&self.conn(), scope, unit, funnel)
    }

    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        (first_day, last_day): (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError> {
        let conn = self.conn();
        let banners_shown: i64 = conn.query_row(
            "SELECT coalesce(sum(count), 0)::BIGINT FROM banner_impressions
             WHERE site = ? AND day BETWEEN ?::DATE AND ?::DATE",
            params![site, first_day.to_string(), last_day.to_string()],
            |r| r.get(0),
        )?;
        let mut report = conn.query_row(
            "WITH d AS (
                 SELECT * FROM consents
                 WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)
             ), banner AS (SELECT * FROM d WHERE source = 'banner')
             SELECT
                 (SELECT count(*) FROM banner),
                 (SELECT count(*) FROM banner
                    WHERE usage AND errors AND performance AND (marketing OR gpc)),
                 (SELECT count(*) FROM banner
                    WHERE NOT (usage OR errors OR performance OR marketing)),
                 (SELECT count(*) FROM d WHERE source = 'settings'),
                 (SELECT coalesce(avg(usage::INTEGER), 0) FROM banner),
                 (SELECT coalesce(avg(errors::INTEGER), 0) FROM banner),
                 (SELECT coalesce(avg(performance::INTEGER), 0) FROM banner),
                 (SELECT coalesce(avg(marketing::INTEGER), 0) FROM banner),
                 (SELECT coalesce(avg(gpc::INTEGER), 0) FROM banner)",
            params![site, from, to],
            |r| {
                let count = |i: usize| r.get::<_, i64>(i).map(|n| n as u64);
                let (decisions, accept_all, reject_all) = (count(0)?, count(1)?, count(2)?);
                Ok(ConsentReport {
                    banners_shown: 0,
                    decisions,
                    accept_all,
                    reject_all,
                    custom: decisions - accept_all - reject_all,
                    settings_changes: count(3)?,
                    grant_rates: GrantRates {
                        usage: r.get(4)?,
                        errors: r.get(5)?,
                        performance: r.get(6)?,
                        marketing: r.get(7)?,
                    },
                    gpc_share: r.get(8)?,
                    answer_rate: None,
                    ..ConsentReport::default()
                })
            },
        )?;
        report.banners_shown = banners_shown as u64;
        report.answer_rate =
            (banners_shown > 0).then(|| report.decisions as f64 / banners_shown as f64);
        Ok(report)
    }

    fn usage(&self, q: &UsageQuery, timezone: Tz, k: u64) -> Result<UsageReport, StoreError> {
        let conn = self.conn();
        let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
        let figures = usage_figures(&conn, &scope, timezone)?;
        let buckets = crate::reports::buckets::buckets(q.from, q.to, q.granularity, timezone);
        let series = if q.granularity == Granularity::Hour {
            // An hour is part of a day: counted from the events.
            let range = format!("{} AND kind = 'page_view'", scoped(&conn, &scope)?);
            usage_series(&conn, q, &buckets, &range)?
        } else {
            buckets
                .iter()
                .zip(figures.per_bucket(&buckets))
                .map(|(b, counts)| UsagePoint {
                    start: b.start,
                    local: b.local.clone(),
                    pageviews: counts.views,
                    visitors: counts.visitors,
                })
                .collect()
        };
        let mut pages: Vec<PageStat> = figures
            .pages
            .iter()
            .map(|(path, counts)| PageStat {
                path: path.clone(),
                pageviews: counts.views,
                visitors: counts.visitors,
            })
            .collect();
        pages.sort_by(|a, b| {
            b.pageviews
                .cmp(&a.pageviews)
                .then_with(|| a.path.cmp(&b.path))
        });
        let (top_pages, small): (Vec<PageStat>, Vec<PageStat>) =
            pages.into_iter().partition(|p| p.visitors >= k);
        let total = figures.total();
        let previous = if q.compare {
            let total = usage_figures(&conn, &scope.previous(), timezone)?.total();
            Some(UsageTotals {
                pageviews: total.views,
                visitors: total.visitors,
            })
        } else {
            None
        };
        Ok(UsageReport {
            series,
            top_pages: top_pages.into_iter().take(TOP_PAGES).collect(),
            top_pages_hidden: small.len() as u64,
            total_pageviews: total.views,
            total_visitors: total.visitors,
            previous,
        })
    }

    fn roll_up(
        &self,
        site: &SiteSettings,
        now_ms: i64,
        max_days: usize,
    ) -> Result<RollupOutcome, StoreError> {
        let timezone: Tz = site
            .timezone
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown timezone {:?}", site.timezone)))?;
        let pending = rollup::pending_days(&self.conn(), &site.key, timezone, now_ms)?;
        let mut rolled = 0;
        // A day per turn of the lock, so that writes and queries go on.
        for day in pending.iter().take(max_days) {
            let mut conn = self.conn();
            rollup::roll_day(&mut conn, &site.key, timezone, day)?;
            let mut until = self.rolled_until.lock().unwrap_or_else(|e| e.into_inner());
            let latest = until.entry(site.key.clone()).or_insert(day.stop);
            *latest = (*latest).max(day.stop);
            rolled += 1;
        }
        Ok(RollupOutcome {
            rolled,
            pending: pending.len() - rolled,
        })
    }
}

/// A scope's page views and visitors per day and per page: unfiltered,
/// from the rollup where it has the day.
fn usage_figures(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
) -> Result<rollup::DayFigures, StoreError> {
    let condition = scoped(conn, scope)?;
    rollup::day_figures(conn, scope, timezone, &condition, scope.filters.is_empty())
}

/// The condition that selects a scope's events, with the placeholders of
/// [`scope_params`]: the site and period, and, when filters are given,
/// the sessions they select, which it first gathers in the temporary
/// table `scope_sessions`.
fn scoped(conn: &Connection, scope: &Scope) -> Result<String, StoreError> {
    let period = "site = ? AND ts >= epoch_ms(?::BIGINT) AND ts < epoch_ms(?::BIGINT)";
    // The period is written in for the sessions with errors: its
    // placeholders come once.
    let with_errors = if scope.with_errors {
        format!(
            " AND session_key IN (
                 SELECT session_key FROM events
                 WHERE site = '{site}' AND kind = 'error'
                   AND ts >= epoch_ms({from}::BIGINT) AND ts < epoch_ms({to}::BIGINT))",
            site = scope.site.replace('\'', "''"),
            from = scope.from,
            to = scope.to,
        )
    } else {
        String::new()
    };
    if scope.filters.is_empty() {
        return Ok(format!("{period}{with_errors}"));
    }
    let (matching, values) = matching_sessions(scope.filters);
    let mut params: Vec<&dyn duckdb::ToSql> = vec![&scope.site, &scope.from, &scope.to];
    params.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE scope_sessions AS
             WITH views AS (
                 SELECT {VIEW_COLUMNS}, 0 AS day_start FROM events
                 WHERE {period} AND kind = 'page_view'
             ),
             sessions AS ({sessions})
             SELECT session FROM sessions WHERE {matching}",
            sessions = sessions_sql(scope.filters.page.is_some()),
        ),
        params.as_slice(),
    )?;
    Ok(format!(
        "{period} AND session_key IN (SELECT session FROM scope_sessions){with_errors}"
    ))
}

/// The values of [`scoped`]'s placeholders.
fn scope_params<'a>(scope: &'a Scope) -> [&'a dyn duckdb::ToSql; 3] {
    [&scope.site, &scope.from, &scope.to]
}

/// The overview's breakdowns of sessions: columns of [`sessions_sql`].
const OVERVIEW_DIMENSIONS: [&str; 8] = [
    "entry", "exit", "source", "referrer", "campaign", "browser", "os", "device",
];

/// What [`sessions_sql`] reads of each page view.
const VIEW_COLUMNS: &str = "session_key AS session, visitor_id, ts, rowid AS seq, \
    path, referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device";

/// One row per session and day of the page views in `views` (with
/// [`VIEW_COLUMNS`] and `day_start`), with the attributes filters and
/// breakdowns read (see [`sonde_protocol::filters`]). The overview cuts a
/// session at the site's midnight (its visitor id changes there); reports
/// that filter whole sessions give every view the same `day_start`. A
/// session's list of pages is costly to build (a list per session); only
/// the page filter reads it.
fn sessions_sql(with_pages: bool) -> String {
    let pages = if with_pages {
        "list(DISTINCT path)"
    } else {
        "NULL::VARCHAR[]"
    };
    // The first page view is the earliest, the first stored among equals;
    // `arg_min_null` takes its value even when it is NULL (`arg_min` would
    // skip to the first page view that has one).
    format!(
        "SELECT session, day_start, any_value(visitor_id) AS visitor, count(*) AS views,
                epoch_ms(max(ts)) - epoch_ms(min(ts)) AS duration_ms,
                arg_min(path, (ts, seq)) AS entry, arg_max(path, (ts, seq)) AS exit,
                coalesce(arg_min_null(utm_source, (ts, seq)), arg_min_null(referrer_host, (ts, seq)), 'direct')
                    AS source,
                coalesce(arg_min_null(referrer_host, (ts, seq)), 'direct') AS referrer,
                arg_min_null(utm_medium, (ts, seq)) AS medium,
                arg_min_null(utm_campaign, (ts, seq)) AS campaign,
                any_value(browser) AS browser, any_value(os) AS os, any_value(device) AS device,
                {pages} AS pages
         FROM views GROUP BY session, day_start"
    )
}

/// The condition a row of [`sessions_sql`] meets when it matches every
/// filter given, and the values of its placeholders in order.
fn matching_sessions(filters: &Filters) -> (String, Vec<String>) {
    let mut tests = vec!["TRUE".to_owned()];
    let mut values = Vec::new();
    for (key, value) in filters.given() {
        let column = match key {
            "entry_page" => "entry",
            other => other,
        };
        tests.push(if key == "page" {
            "list_contains(pages, ?::VARCHAR)".to_owned()
        } else {
            format!("{column} = ?::VARCHAR")
        });
        values.push(value.to_owned());
    }
    (tests.join(" AND "), values)
}

/// Moves the staged rows into `events` in one statement (one commit), and
/// returns the ids that were not stored before.
fn move_staged_rows(conn: &Connection) -> Result<HashSet<String>, StoreError> {
    let mut insert = conn.prepare(&format!(
        "INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM staging
         ON CONFLICT DO NOTHING
         RETURNING id"
    ))?;
    let ids = insert
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Appends events to `table` (`events`, or `staging` which has the same
/// columns), each with its path's number, and commits them, all or none.
fn append_rows<'e>(
    conn: &Connection,
    table: &str,
    rows: impl Iterator<Item = &'e StoredEvent>,
    path_ids: &[i32],
) -> Result<(), StoreError> {
    let mut appender = conn.appender(table)?;
    // By name: a file made by an older Sonde has its columns in another order.
    for column in COLUMNS.split(", ") {
        appender.add_column(column)?;
    }
    for (e, path_id) in rows.zip(path_ids) {
        append(&mut appender, e, *path_id)?;
    }
    appender.flush()?;
    Ok(())
}

/// Appends one event as a row, its kind's fields in their columns.
fn append(appender: &mut Appender<'_>, e: &StoredEvent, path_id: i32) -> Result<(), StoreError> {
    let (mut referrer, mut title, mut name, mut href) = (None, None, None, None);
    let (mut value, mut props, mut error) = (None, None, None);
    let mut campaign = Default::default();
    match &e.data {
        EventData::PageView {
            referrer: r,
            title: t,
            campaign: c,
        } => {
            (referrer, title, campaign) = (r.as_deref(), t.as_deref(), c.clone());
        }
        EventData::Click { name: n } | EventData::FormSubmit { form: n } => name = Some(n.as_str()),
        EventData::Outbound { href: h } | EventData::Download { href: h } => {
            href = Some(h.as_str())
        }
        EventData::Custom {
            name: n,
            props: p,
            value: v,
        } => {
            name = Some(n.as_str());
            value = *v;
            props = (!p.is_empty()).then(|| serde_json::to_string(p).unwrap_or_default());
        }
        EventData::Error(report) => error = Some(report),
        EventData::Vital { metric, value: v } => {
            name = Some(metric.as_str());
            value = Some(*v);
        }
    }
    let sonde_protocol::Campaign {
        source,
        medium,
        campaign,
        term,
        content,
    } = campaign;
    appender.append_row(params![
        e.id,
        e.site,
        e.data.kind(),
        e.data.category().as_str(),
        duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Millisecond, e.ts),
        e.visitor_id,
        e.session_id,
        e.path,
        referrer,
        title,
        source,
        medium,
        campaign,
        term,
        content,
        name,
        href,
        value,
        props,
        error.map(|r| r.message.as_str()),
        error.and_then(|r| r.source.as_deref()),
        error.and_then(|r| r.line),
        error.and_then(|r| r.column),
        error.and_then(|r| r.stack.as_deref()),
        error.map(|r| r.rejection),
        e.software.browser,
        e.software.os,
        e.software.device.as_str(),
        session_key(e.session_id.as_deref().unwrap_or(&e.id)),
        path_id,
    ])?;
    Ok(())
}

/// The number all events of a session share, from its session id (or an
/// event's own id when it has none): the low half of its MD5, as DuckDB's
/// `md5_number_lower` computes it, so that [`BACKFILL`] gives rows stored
/// before the column the same numbers. MD5 for being the same everywhere
/// and in every version, not for secrecy; two sessions share a key with odds
/// of about one in 10^7 among a million.
fn session_key(session: &str) -> u64 {
    use md5::Digest;
    let digest = md5::Md5::digest(session.as_bytes());
    let mut low = [0; 8];
    low.copy_from_slice(&digest[8..]);
    u64::from_le_bytes(low)
}

/// Whether a step of `funnel` looks at an event's properties, which SQL
/// here does not read.
fn needs_props(funnel: &FunnelDefinition) -> bool {
    funnel.steps.iter().any(|s| {
        matches!(
            s,
            Step::Event {
                property: Some(_),
                ..
            }
        )
    })
}

/// The SQL that marks each event with the steps it matches (bit `i` for
/// step `i`), the SQL that any step matches, and the values of the
/// placeholders of each.
fn step_mask(steps: &[Step]) -> StepMask {
    let mut mask = Vec::new();
    let mut any = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let (test, value) = match step {
            Step::Page { path } => {
                let (test, value) = path_test(path);
                (format!("kind = 'page_view' AND {test}"), value)
            }
            Step::Event { name, .. } => (
                "kind IN ('custom', 'click', 'form_submit') AND name = ?".to_owned(),
                name.clone(),
            ),
        };
        mask.push(format!("(CASE WHEN {test} THEN {} ELSE 0 END)", 1u32 << i));
        any.push(format!("({test})"));
        values.push(value);
    }
    StepMask {
        mask: mask.join(" + "),
        any: any.join(" OR "),
        values,
    }
}

struct StepMask {
    /// An event's steps as bits.
    mask: String,
    /// Whether an event is any step.
    any: String,
    /// The value of the one placeholder in each step's test, in step order
    /// (for `mask` and `any` alike).
    values: Vec<String>,
}

/// The test of an event's path against a step's pattern (`*` for any run of
/// characters), and the value of its placeholder: the cheapest test that
/// means the same. `LIKE` with a placeholder for a pattern is interpreted
/// for every row; a whole path or a prefix compares directly, which made a
/// four-step funnel's scan about twice as fast.
fn path_test(pattern: &str) -> (&'static str, String) {
    let prefix = pattern.trim_end_matches('*');
    if !prefix.contains('*') {
        if prefix.len() == pattern.len() {
            return ("path = ?", pattern.to_owned());
        }
        return ("starts_with(path, ?)", prefix.to_owned());
    }
    ("path LIKE ? ESCAPE '\\'", like_pattern(pattern))
}

/// A funnel's figures when every step can be matched in SQL: DuckDB reads
/// each event some step matches with those steps (bit `i` for step `i`) and
/// the key of its unit; only numbers cross, as Arrow columns, and
/// [`crate::reports::funnel::tally_marked`] groups them by unit and follows each by
/// the semantics of [`crate::reports::funnel::progress`]. A test holds it to the
/// reference arithmetic.
///
/// Page steps are matched once per distinct path of the site, not once per
/// page view: each path is tested here, and the page views are found by
/// joining on the path's number (see [`paths`]). That took the scan of a
/// four-step funnel at 10 million events from about 200 ms to 70 ms.
/// (Earlier versions chained the steps with one ASOF join each in SQL, 1.3
/// s, and sorted the marked events by unit in DuckDB, 0.5 s; see
/// BENCHMARKS.md.)
fn funnel_in_sql(
    conn: &Connection,
    scope: &Scope,
    funnel: &FunnelDefinition,
    paths: &paths::PathIds,
) -> Result<Vec<StepResult>, StoreError> {
    use duckdb::arrow::array::{Array, Int64Array, UInt64Array};
    use duckdb::arrow::record_batch::RecordBatch;

    let unit = match funnel.unit {
        FunnelUnit::Session => "session_key",
        FunnelUnit::Visitor => "hash(visitor_id)",
    };
    let events = scoped(conn, scope)?;
    let mut parts = Vec::new();
    let mut params: Vec<&dyn duckdb::ToSql> = Vec::new();
    let pages = funnel
        .steps
        .iter()
        .any(|step| matches!(step, Step::Page { .. }));
    if pages {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE step_paths (path_id INTEGER, steps BIGINT)",
        )?;
        let mut appender = conn.appender("step_paths")?;
        for (path, id) in paths.of_site(scope.site) {
            let steps: i64 = funnel
                .steps
                .iter()
                .enumerate()
                .filter(|(_, step)| matches!(step, Step::Page { .. }) && step.matches_page(path))
                .map(|(i, _)| 1 << i)
                .sum();
            if steps > 0 {
                appender.append_row(params![id, steps])?;
            }
        }
        appender.flush()?;
        drop(appender);
        parts.push(format!(
            "SELECT {unit} AS k, epoch_ms(ts) AS t, events.rowid * 256 + step_paths.steps AS rm
             FROM events JOIN step_paths USING (path_id)
             WHERE {events} AND kind = 'page_view'"
        ));
        params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
    }
    let names: Vec<(usize, &String)> = funnel
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match step {
            Step::Event { name, .. } => Some((i, name)),
            Step::Page { .. } => None,
        })
        .collect();
    if !names.is_empty() {
        let mask: Vec<String> = names
            .iter()
            .map(|(i, _)| format!("(CASE WHEN name = ? THEN {} ELSE 0 END)", 1u32 << i))
            .collect();
        let any = vec!["name = ?"; names.len()].join(" OR ");
        parts.push(format!(
            "SELECT {unit} AS k, epoch_ms(ts) AS t, rowid * 256 + ({mask}) AS rm
             FROM events
             WHERE {events} AND kind IN ('custom', 'click', 'form_submit') AND ({any})",
            mask = mask.join(" + "),
        ));
        params.extend(names.iter().map(|(_, n)| *n as &dyn duckdb::ToSql));
        params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
        params.extend(names.iter().map(|(_, n)| *n as &dyn duckdb::ToSql));
    }
    let sql = parts.join(" UNION ALL ");
    let mut stmt = conn.prepare(&sql)?;
    let batches: Vec<RecordBatch> = stmt.query_arrow(params.as_slice())?.collect();
    let unexpected = |what: &str| StoreError::Corrupt(format!("funnel rows: {what}"));
    let columns = batches
        .iter()
        .map(|batch| {
            let column = |i: usize| batch.column(i).as_any();
            Ok(crate::reports::funnel::MarkedColumns {
                units: column(0)
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| unexpected("unit key"))?
                    .values(),
                ts: column(1)
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| unexpected("time"))?
                    .values(),
                rows_and_steps: column(2)
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| unexpected("row and steps"))?
                    .values(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(crate::reports::funnel::tally_marked(
        funnel.steps.len(),
        funnel.window_ms,
        &columns,
    ))
}

/// A funnel's occurrences, the events some step may match narrowed in SQL
/// and the steps decided in Rust (an event step with a property needs the
/// event's properties).
fn funnel_matched_in_rust(
    conn: &Connection,
    scope: &Scope,
    unit: &str,
    funnel: &FunnelDefinition,
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    // A superset of what the steps match (an event step's property is not
    // tested), narrowed in SQL; the steps themselves decide (crate::reports::funnel).
    let StepMask { any, values, .. } = step_mask(&funnel.steps);
    let events = scoped(conn, scope)?;
    let sql = format!(
        "SELECT {unit} AS unit, epoch_ms(ts), kind, path, name, props FROM events
             WHERE {events} AND ({any})
             ORDER BY unit, ts, rowid"
    );
    let mut params: Vec<&dyn duckdb::ToSql> = vec![&scope.site, &scope.from, &scope.to];
    params.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params.as_slice(), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut units: Vec<(String, Vec<Occurrence>)> = Vec::new();
    for row in rows {
        let (unit, ts, kind, path, name, props) = row?;
        let what = if kind == "page_view" {
            Happened::Page(path)
        } else {
            Happened::Event {
                name: name.unwrap_or_default(),
                props: props.as_deref().map(props_as_text).unwrap_or_default(),
            }
        };
        match units.last_mut() {
            Some((current, events)) if *current == unit => events.push(Occurrence { ts, what }),
            _ => units.push((unit, vec![Occurrence { ts, what }])),
        }
    }
    Ok(units)
}

/// A funnel's occurrences when every step can be matched in SQL (pages,
/// and events without a property): each event comes back with the steps it
/// matches as bits, so only numbers cross from DuckDB, and the unit's name
/// only when it changes. The units are the generic form's, in the order of
/// their hashes; a test holds the two to the same funnel figures.
fn funnel_steps_in_sql(
    conn: &Connection,
    scope: &Scope,
    unit: &str,
    steps: &[Step],
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    let StepMask { mask, any, values } = step_mask(steps);
    let events = scoped(conn, scope)?;
    let sql = format!(
        "SELECT hash({unit}) AS key, {unit} AS unit, epoch_ms(ts) AS t, {mask} AS mask
         FROM events
         WHERE {events} AND ({any})
         ORDER BY key, t, rowid"
    );
    let mut params: Vec<&dyn duckdb::ToSql> =
        values.iter().map(|v| v as &dyn duckdb::ToSql).collect();
    params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
    params.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params.as_slice())?;
    let mut units: Vec<(String, Vec<Occurrence>)> = Vec::new();
    let mut current: Option<u64> = None;
    while let Some(row) = rows.next()? {
        let key: u64 = row.get(0)?;
        let occurrence = Occurrence {
            ts: row.get(2)?,
            what: Happened::Steps(row.get::<_, u32>(3)? as u8),
        };
        // Rows come sorted by the unit's hash (sorting numbers is several
        // times faster than sorting names): a new hash is a new unit. Two
        // units with the same 64-bit hash would merge; for a million units
        // the odds are about one in 10^7.
        if current == Some(key) {
            if let Some((_, events)) = units.last_mut() {
                events.push(occurrence);
            }
        } else {
            units.push((row.get(1)?, vec![occurrence]));
            current = Some(key);
        }
    }
    Ok(units)
}

/// The width of the slices of time a usage series is counted in first:
/// every timezone's offset is a multiple of 15 minutes, so a bucket of the
/// site's calendar is a whole number of them.
const GRANULE_MS: i64 = 15 * 60 * 1000;

/// Page views and unique visitors per bucket, every bucket of `buckets`
/// (the empty ones as zero), counted within the query's `[from, to)`.
///
/// Each view's 15-minute slice is looked up in a small table that says
/// which bucket the slice belongs to: an equality join, one pass over the
/// views. (A range join of views and buckets, or an ASOF join, took 7 to 11
/// times as long at 10 million events; see BENCHMARKS.md.) Should a
/// bucket's edge not fall on a slice's, the range join counts instead.
fn usage_series(
    conn: &Connection,
    q: &UsageQuery,
    buckets: &[crate::reports::buckets::Bucket],
    range: &str,
) -> Result<Vec<UsagePoint>, StoreError> {
    let aligned = buckets.iter().skip(1).all(|b| b.start % GRANULE_MS == 0);
    let sql = if aligned {
        conn.execute_batch("CREATE OR REPLACE TEMP TABLE granules (granule BIGINT, start BIGINT)")?;
        {
            let mut appender = conn.appender("granules")?;
            for b in buckets {
                let first = b.start.max(q.from).div_euclid(GRANULE_MS);
                let last = (b.stop.min(q.to) - 1).div_euclid(GRANULE_MS);
                for granule in first..=last {
                    appender.append_row(params![granule, b.start])?;
                }
            }
            appender.flush()?;
        }
        format!(
            "SELECT g.start, count(*), count(DISTINCT e.visitor_id)
             FROM (SELECT epoch_ms(ts) // {GRANULE_MS} AS granule, visitor_id FROM events WHERE {range}) e
             JOIN granules g USING (granule)
             GROUP BY g.start"
        )
    } else {
        conn.execute_batch("CREATE OR REPLACE TEMP TABLE buckets (start BIGINT, stop BIGINT)")?;
        {
            let mut appender = conn.appender("buckets")?;
            for b in buckets {
                appender.append_row(params![b.start, b.stop])?;
            }
            appender.flush()?;
        }
        format!(
            "SELECT b.start, count(e.id), count(DISTINCT e.visitor_id)
             FROM buckets b JOIN (SELECT id, ts, visitor_id FROM events WHERE {range}) e
               ON e.ts >= epoch_ms(b.start) AND e.ts < epoch_ms(b.stop)
             GROUP BY b.start"
        )
    };
    let mut stmt = conn.prepare(&sql)?;
    let counted: std::collections::HashMap<i64, (u64, u64)> = stmt
        .query_map(params![q.site, q.from, q.to], |r| {
            Ok((
                r.get(0)?,
                (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(buckets
        .iter()
        .map(|b| {
            let (pageviews, visitors) = counted.get(&b.start).copied().unwrap_or_default();
            UsagePoint {
                start: b.start,
                local: b.local.clone(),
                pageviews,
                visitors,
            }
        })
        .collect())
}

/// A funnel step's path pattern (`*` for any run of characters) as a
/// `LIKE` pattern, with `LIKE`'s own wildcards escaped.
fn like_pattern(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    like
}

/// A custom event's stored properties (a JSON object) as text pairs.
fn props_as_text(json: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// Most rows a breakdown lists.
const BREAKDOWN_ROWS: usize = 10;

/// The key figures of the site's sessions in `[from, to)` (cut at the
/// site's midnight) that pass the filters. It leaves, for the breakdowns,
/// the temporary table `counted_sessions` (sessions counted from page
/// views, which `views` holds with their day) and the view `chosen_days`
/// (the rolled-up days read instead, only without filters).
fn key_figures(
    conn: &Connection,
    q: &OverviewQuery,
    from: i64,
    to: i64,
    timezone: Tz,
) -> Result<KeyFigures, StoreError> {
    let rolled = if q.filters.is_empty() {
        rollup::rolled_days(conn, &q.site, timezone, from, to)?
    } else {
        Vec::new()
    };
    let pieces = rollup::uncovered(from, to, &rolled);
    rollup::fill_day_granules(conn, &pieces, timezone)?;
    let branches: Vec<String> = pieces
        .iter()
        .map(|(a, b)| {
            format!(
                "SELECT epoch_ms(ts) // {GRANULE_MS} AS granule, {VIEW_COLUMNS} FROM events
                 WHERE site = ? AND kind = 'page_view'
                   AND ts >= epoch_ms({a}::BIGINT) AND ts < epoch_ms({b}::BIGINT)"
            )
        })
        .collect();
    let branches = if branches.is_empty() {
        format!("SELECT 0 AS granule, {VIEW_COLUMNS} FROM events WHERE FALSE AND site = ?")
    } else {
        branches.join(" UNION ALL ")
    };
    let sites: Vec<&dyn duckdb::ToSql> = vec![&q.site; pieces.len().max(1)];
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE views AS
             SELECT e.* EXCLUDE (granule), g.day_start
             FROM ({branches}) e JOIN day_granules g USING (granule)"
        ),
        sites.as_slice(),
    )?;
    let (matching, values) = matching_sessions(&q.filters);
    let values: Vec<&dyn duckdb::ToSql> = values.iter().map(|v| v as &dyn duckdb::ToSql).collect();
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE counted_sessions AS
             SELECT * FROM ({sessions}) WHERE {matching}",
            sessions = sessions_sql(q.filters.page.is_some()),
        ),
        values.as_slice(),
    )?;
    // The rolled-up days read (none with filters, which select sessions a
    // day's sums cannot). A view holds no placeholders: the values are
    // written in, the strings quoted as SQL quotes them.
    let rolled_days = if rolled.is_empty() {
        "FALSE".to_owned()
    } else {
        format!(
            "site = '{site}' AND timezone = '{timezone}' AND day_start >= {from} AND day_stop <= {to}",
            site = q.site.replace('\'', "''"),
            timezone = timezone.name().replace('\'', "''"),
        )
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP VIEW chosen_days AS SELECT * FROM rollup_days WHERE {rolled_days}"
    ))?;
    let figures = conn.query_row(
        "WITH counted AS (
             SELECT count(DISTINCT (day_start, visitor)) AS visitors, count(*) AS sessions,
                    coalesce(sum(views), 0) AS views,
                    count(*) FILTER (WHERE views = 1) AS bounces,
                    coalesce(sum(duration_ms), 0) AS duration_ms
             FROM counted_sessions
         ), rolled AS (
             SELECT coalesce(sum(visitors), 0) AS visitors, coalesce(sum(sessions), 0) AS sessions,
                    coalesce(sum(views), 0) AS views, coalesce(sum(bounces), 0) AS bounces,
                    coalesce(sum(duration_ms), 0) AS duration_ms
             FROM chosen_days
         )
         SELECT (c.visitors + r.visitors)::BIGINT, (c.sessions + r.sessions)::BIGINT,
                (c.views + r.views)::BIGINT, (c.bounces + r.bounces)::BIGINT,
                (c.duration_ms + r.duration_ms)::DOUBLE
         FROM counted c, rolled r",
        [],
        |r| {
            let (visitors, sessions, pageviews, bounces): (i64, i64, i64, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let duration_ms: f64 = r.get(4)?;
            let per_session = |x: f64| {
                if sessions > 0 {
                    x / sessions as f64
                } else {
                    0.0
                }
            };
            Ok(KeyFigures {
                visitors: visitors as u64,
                sessions: sessions as u64,
                pageviews: pageviews as u64,
                views_per_session: per_session(pageviews as f64),
                bounce_rate: per_session(bounces as f64),
                avg_duration_ms: per_session(duration_ms),
            })
        },
    )?;
    Ok(figures)
}

/// Runs `sql` (label, visitors, count per group) and keeps the largest
/// groups of at least `k` visitors; the smaller ones are only counted.
fn breakdown(conn: &Connection, sql: &str, k: u64) -> Result<Breakdown, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT * FROM ({sql}) g(label, visitors, n) ORDER BY visitors DESC, n DESC, label"
    ))?;
    let rows: Vec<BreakdownRow> = stmt
        .query_map([], |r| {
            Ok(BreakdownRow {
                label: r.get(0)?,
                visitors: r.get::<_, i64>(1)? as u64,
                count: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(keep_groups(rows, k))
}

/// The largest of `rows` (sorted, largest first) with at least `k`
/// visitors; the smaller ones are only counted.
fn keep_groups(rows: Vec<BreakdownRow>, k: u64) -> Breakdown {
    let (listed, small): (Vec<BreakdownRow>, Vec<BreakdownRow>) =
        rows.into_iter().partition(|row| row.visitors >= k);
    Breakdown {
        rows: listed.into_iter().take(BREAKDOWN_ROWS).collect(),
        small_groups: small.len() as u64,
    }
}

#[cfg(test)]
mod tests {

    use sonde_protocol::overview::Filters;

    use super::*;
    use crate::user_agent::Software;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// 2025-11-24T00:00:00Z
    const MIDNIGHT: i64 = 1_763_942_400_000;

    fn view(id: &str, ts: i64, visitor: i64, path: &str) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            site: "shop".into(),
            ts,
            visitor_id: visitor,
            session_id: None,
            path: path.into(),
            software: Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: crate::user_agent::Device::Desktop,
            },
            data: EventData::PageView {
                referrer: None,
                title: None,
                campaign: Default::default(),
            },
        }
    }

    fn query(from: i64, to: i64, granularity: Granularity) -> UsageQuery {
        UsageQuery {
            site: "shop".into(),
            from,
            to,
            granularity,
            ..Default::default()
        }
    }

    #[test]
    fn a_retried_batch_is_stored_once() {
        let store = DuckDbStore::in_memory().unwrap();
        let batch = [
            view("a", MIDNIGHT, 1, "/"),
            view("b", MIDNIGHT, 1, "/cart"),
            view("b", MIDNIGHT, 1, "/cart"),
        ];
        assert_eq!(
            store.write(&batch).unwrap(),
            WriteOutcome {
                inserted: 2,
                duplicates: 1
            }
        );
        let again = store.write(&batch).unwrap();
        assert_eq!(
            again,
            WriteOutcome {
                inserted: 0,
                duplicates: 3
            }
        );
        assert_eq!(store.event_count("shop").unwrap(), 2);
    }

    #[test]
    fn daily_usage_counts_views_and_unique_visitors_with_empty_days_as_zero() {
        let store = DuckDbStore::in_memory().unwrap();
        store
            .write(&[
                view("a", MIDNIGHT + HOUR, 1, "/"),
                view("b", MIDNIGHT + 2 * HOUR, 1, "/cart"),
                view("c", MIDNIGHT + 3 * HOUR, 2, "/"),
                view("d", MIDNIGHT + 2 * DAY, 3, "/"),
            ])
            .unwrap();
        let report = store
            .usage(
                &query(MIDNIGHT, MIDNIGHT + 3 * DAY, Granularity::Day),
                Tz::UTC,
                1,
            )
            .unwrap();
        let points: Vec<(i64, u64, u64)> = report
            .series
            .iter()
            .map(|p| (p.start, p.pageviews, p.visitors))
            .collect();
        assert_eq!(
            points,
            vec![
                (MIDNIGHT, 3, 2),
                (MIDNIGHT + DAY, 0, 0),
                (MIDNIGHT + 2 * DAY, 1, 1)
            ]
        );
        assert_eq!((report.total_pageviews, report.total_visitors), (4, 3));
        assert_eq!(report.top_pages[0].path, "/");
        assert_eq!(report.top_pages[0].pageviews, 3);
    }

    /// The ways the store computes a funnel (steps matched in SQL or in
    /// Rust and counted by the reference arithmetic, or everything in SQL)
    /// give the same figures, on sessions with repeated steps,
    /// same-millisecond events, gaps past the window and wildcards.
    #[test]
    fn funnels_matched_in_sql_count_what_the_reference_counts() {
        use rand::{Rng, SeedableRng};
        let store = DuckDbStore::in_memory().unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(42);
        let paths = [
            "/",
            "/products/a",
            "/products/b",
            "/cart",
            "/checkout",
            "/thanks",
        ];
        let mut events = Vec::new();
        for session in 0..400 {
            let mut ts = MIDNIGHT + session * 1_000;
            for n in 0..rng.random_range(1..14) {
                ts += [0, 0, 1, 500, 30_000, 2_000_000][rng.random_range(0..6)];
                let mut e = view(
                    &format!("s{session}-{n}"),
                    ts,
                    session / 3,
                    paths[rng.random_range(0..6)],
                );
                e.session_id = Some(format!("s{session}"));
                if rng.random_range(0..5) == 0 {
                    e.data = EventData::Custom {
                        name: ["add_to_cart", "purchase"][rng.random_range(0..2)].into(),
                        props: Default::default(),
                        value: None,
                    };
                }
                events.push(e);
            }
        }
        // The next day, a path seen on no other day, and a session of its
        // own.
        for (n, path) in ["/products/z", "/cart", "/checkout", "/thanks"]
            .iter()
            .enumerate()
        {
            let mut e = view(
                &format!("next-{n}"),
                MIDNIGHT + DAY + n as i64 * 1_000,
                9_999,
                path,
            );
            e.session_id = Some("next".into());
            events.push(e);
        }
        store.write(&events).unwrap();
        let page = |p: &str| Step::Page { path: p.into() };
        let event = |n: &str| Step::Event {
            name: n.into(),
            property: None,
            value: None,
        };
        let funnels = [
            vec![
                page("/"),
                page("/products/*"),
                page("/cart"),
                page("/checkout"),
                page("/thanks"),
            ],
            vec![
                page("/products/*"),
                event("add_to_cart"),
                page("/cart"),
                event("purchase"),
            ],
            vec![page("/cart"), page("/cart"), page("/cart")],
            vec![page("*"), page("/thanks")],
        ];
        let conn = store.conn();
        let month = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + 30 * DAY);
        let mut expected = Vec::new();
        for (steps, unit) in funnels
            .iter()
            .flat_map(|s| [(s, FunnelUnit::Session), (s, FunnelUnit::Visitor)])
        {
            for window_ms in [60_000, 3_600_000] {
                let funnel = FunnelDefinition {
                    name: "f".into(),
                    steps: steps.clone(),
                    window_ms,
                    unit,
                };
                let unit_sql = match unit {
                    FunnelUnit::Session => "coalesce(session_id, id)",
                    FunnelUnit::Visitor => "visitor_id::VARCHAR",
                };
                let figures = |mut units: Vec<(String, Vec<Occurrence>)>| {
                    units.sort_by(|a, b| a.0.cmp(&b.0));
                    let progresses: Vec<Vec<i64>> = units
                        .iter()
                        .map(|(_, e)| crate::reports::funnel::progress(steps, e, window_ms))
                        .collect();
                    let keys: Vec<String> = units.into_iter().map(|(k, _)| k).collect();
                    (
                        keys,
                        crate::reports::funnel::summarize(steps.len(), &progresses),
                    )
                };
                let (in_sql_units, in_sql) =
                    figures(funnel_steps_in_sql(&conn, &month, unit_sql, steps).unwrap());
                let (in_rust_units, in_rust) =
                    figures(funnel_matched_in_rust(&conn, &month, unit_sql, &funnel).unwrap());
                assert_eq!(in_sql, in_rust, "{steps:?} {unit:?} {window_ms}");
                let whole_in_sql = funnel_in_sql(&conn, &month, &funnel, &store.paths()).unwrap();
                assert_eq!(
                    whole_in_sql, in_rust,
                    "all in SQL: {steps:?} {unit:?} {window_ms}"
                );
                assert_eq!(in_sql_units, in_rust_units);
                assert!(in_sql[0].entrants > 0, "{steps:?} enters somewhere");
                expected.push((funnel, in_rust));
            }
        }
        // Rolling the first day up changes nothing for funnels.
        drop(conn);
        let site = SiteSettings::new("shop", vec![]);
        let turn = store
            .roll_up(&site, MIDNIGHT + DAY + 12 * HOUR, 10)
            .unwrap();
        assert_eq!(turn.rolled, 1);
        let conn = store.conn();
        for (funnel, figures) in expected {
            assert_eq!(
                funnel_in_sql(&conn, &month, &funnel, &store.paths()).unwrap(),
                figures,
                "with the rollup: {funnel:?}"
            );
        }
    }

    /// A session's key is the same whether the event was written with it
    /// or given it afterwards in SQL (a file from before the column).
    #[test]
    fn a_session_key_is_the_same_in_rust_and_in_sql() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut e = view("e1", MIDNIGHT, 1, "/");
        e.session_id = Some("s1".into());
        store.write(&[e, view("e2", MIDNIGHT, 1, "/")]).unwrap();
        let conn = store.conn();
        for session in ["", "s0", "0f3a9c2e7b1d4e5f8a6b2c3d4e5f6a7b", "ü-✓"] {
            let in_sql: u64 = conn
                .query_row("SELECT md5_number_lower(?)", params![session], |r| r.get(0))
                .unwrap();
            assert_eq!(session_key(session), in_sql, "{session:?}");
        }
        let written: Vec<(String, u64)> = conn
            .prepare("SELECT id, session_key FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            written,
            [
                ("e1".into(), session_key("s1")),
                ("e2".into(), session_key("e2"))
            ]
        );
        conn.execute_batch("UPDATE events SET session_key = NULL")
            .unwrap();
        conn.execute_batch(BACKFILL).unwrap();
        let backfilled: Vec<u64> = conn
            .prepare("SELECT session_key FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(backfilled, [session_key("s1"), session_key("e2")]);
    }

    /// A file from before path numbers: opening it numbers its paths, and
    /// funnels count its page views.
    #[test]
    fn opening_a_file_without_path_numbers_numbers_its_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        let funnel = FunnelDefinition {
            name: "f".into(),
            steps: vec![
                Step::Page {
                    path: "/products/*".into(),
                },
                Step::Page {
                    path: "/cart*".into(),
                },
            ],
            window_ms: HOUR,
            unit: FunnelUnit::Visitor,
        };
        let day = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + DAY);
        {
            let store = DuckDbStore::open(&file).unwrap();
            store
                .write(&[
                    view("a", MIDNIGHT + 1, 1, "/products/kettle"),
                    view("b", MIDNIGHT + 2, 1, "/cart"),
                    view("c", MIDNIGHT + 3, 2, "/products/cup"),
                ])
                .unwrap();
            // As an older Sonde left it.
            store
                .conn()
                .execute_batch(
                    "UPDATE events SET path_id = NULL, session_key = NULL; DELETE FROM paths;",
                )
                .unwrap();
        }
        let store = DuckDbStore::open(&file).unwrap();
        let entrants = || -> Vec<u64> {
            let steps = store.funnel(&day, &funnel).unwrap();
            steps.iter().map(|s| s.entrants).collect()
        };
        assert_eq!(entrants(), [2, 1]);
        let unnumbered: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM events WHERE path_id IS NULL OR session_key IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unnumbered, 0);
        // A new page after reopening gets a number of its own, after the
        // numbers given at opening.
        store
            .write(&[view("d", MIDNIGHT + 4, 2, "/cart/saved")])
            .unwrap();
        assert_eq!(entrants(), [2, 2]);
    }

    /// The SQL test of a step's path means what the step's pattern means
    /// (`*` any run of characters, everything else itself), whichever
    /// shortcut it takes.
    #[test]
    fn a_step_path_is_tested_in_sql_as_its_pattern_says() {
        let store = DuckDbStore::in_memory().unwrap();
        let conn = store.conn();
        let paths = [
            "",
            "/",
            "/cart",
            "/cart/",
            "/carts",
            "/products",
            "/products/",
            "/products/a",
            "/a%b",
            "/a_b",
            "/axb",
            "/a\\b",
            "/x/y/z",
            "/x/yy/z/w",
            "/it's",
        ];
        let patterns = [
            "/cart",
            "/products/*",
            "/products*",
            "*",
            "**",
            "/a%b",
            "/a_b",
            "/a\\b",
            "/*/y/*",
            "/x*z",
            "*b",
            "/it's",
            "/it'*",
        ];
        for pattern in patterns {
            let step = Step::Page {
                path: pattern.into(),
            };
            let (test, value) = path_test(pattern);
            for path in paths {
                let in_sql: bool = conn
                    .query_row(
                        &format!("WITH p AS (SELECT ?::VARCHAR AS path) SELECT {test} FROM p"),
                        params![path, value],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(
                    in_sql,
                    step.matches_page(path),
                    "{path:?} against {pattern:?} ({test})"
                );
            }
        }
    }

    #[test]
    fn top_pages_seen_by_fewer_than_k_visitors_are_only_counted() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut events: Vec<StoredEvent> = (0..3)
            .map(|v| view(&format!("a{v}"), MIDNIGHT + v, v, "/popular"))
            .collect();
        events.push(view("b", MIDNIGHT + 10, 1, "/rare"));
        events.push(view("c", MIDNIGHT + 11, 1, "/rare"));
        store.write(&events).unwrap();
        let r = store
            .usage(
                &query(MIDNIGHT, MIDNIGHT + DAY, Granularity::Day),
                Tz::UTC,
                2,
            )
            .unwrap();
        let pages: Vec<&str> = r.top_pages.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(pages, ["/popular"], "/rare has one visitor, under k = 2");
        assert_eq!(r.top_pages_hidden, 1);
        assert_eq!(
            r.total_pageviews, 5,
            "hidden pages still count in the totals"
        );
    }

    #[test]
    fn hourly_usage_buckets_by_hour_and_respects_the_half_open_range() {
        let store = DuckDbStore::in_memory().unwrap();
        store
            .write(&[
                view("a", MIDNIGHT + HOUR + 5, 1, "/"),
                view("b", MIDNIGHT + HOUR + 6, 2, "/"),
                view("c", MIDNIGHT + 3 * HOUR, 3, "/"),
            ])
            .unwrap();
        let report = store
            .usage(
                &query(MIDNIGHT, MIDNIGHT + 3 * HOUR, Granularity::Hour),
                Tz::UTC,
                1,
            )
            .unwrap();
        let views: Vec<u64> = report.series.iter().map(|p| p.pageviews).collect();
        assert_eq!(views, vec![0, 2, 0]);
    }

    #[test]
    fn retention_deletes_each_category_after_its_period_and_campaigns_after_theirs() {
        let store = DuckDbStore::in_memory().unwrap();
        let now = MIDNIGHT + 100 * DAY;
        let mut old_landing = view("old-landing", now - 40 * DAY, 1, "/");
        if let EventData::PageView { campaign, .. } = &mut old_landing.data {
            campaign.source = Some("newsletter".into());
        }
        let mut new_landing = old_landing.clone();
        new_landing.id = "new-landing".into();
        new_landing.ts = now - DAY;
        let mut old_vital = view("old-vital", now - 20 * DAY, 1, "/");
        old_vital.data = EventData::Vital {
            metric: sonde_protocol::Vital::Lcp,
            value: 1200.0,
        };
        let mut other_site = view("other-site", now - 90 * DAY, 1, "/");
        other_site.site = "blog".into();
        store
            .write(&[
                view("ancient", now - 90 * DAY, 1, "/"),
                old_landing,
                new_landing,
                old_vital,
                other_site,
            ])
            .unwrap();
        let mut settings = SiteSettings::new("shop", vec!["*".into()]);
        settings.retention = sonde_protocol::Retention {
            usage: 60,
            errors: 7,
            performance: 14,
            marketing: 30,
        };
        let done = store.apply_retention(&settings, now).unwrap();
        assert_eq!(
            done,
            RetentionOutcome {
                events_deleted: 2,
                campaigns_cleared: 1
            }
        );
        let rows = store.dump_as_text("events").unwrap();
        assert!(
            !rows.contains("ancient") && !rows.contains("old-vital"),
            "{rows}"
        );
        assert!(
            rows.contains("other-site"),
            "another site's data is its own"
        );
        let landing = |id: &str| rows.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
        assert!(!landing("old-landing").contains("newsletter"));
        assert!(landing("new-landing").contains("newsletter"));
    }

    /// A path is numbered once per site. When no stored event has it any
    /// more (erasure, retention), it is forgotten; when it comes back, it
    /// is numbered again, and funnels find its page views either way.
    #[test]
    fn a_path_is_forgotten_with_its_last_event_and_numbered_again_when_it_returns() {
        let store = DuckDbStore::in_memory().unwrap();
        let now = MIDNIGHT + 100 * DAY;
        let mut blog = view("blog", now - DAY, 7, "/private-page");
        blog.site = "blog".into();
        store
            .write(&[
                view("a", now - DAY, 7, "/private-page"),
                view("b", now - DAY, 7, "/"),
                view("c", now - DAY, 8, "/"),
                view("old", now - 90 * DAY, 3, "/ancient-page"),
                blog,
            ])
            .unwrap();
        let paths = |site: &str| -> Vec<String> {
            let conn = store.conn();
            let mut stmt = conn
                .prepare("SELECT path FROM paths WHERE site = ? ORDER BY path")
                .unwrap();
            stmt.query_map([site], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(paths("shop"), ["/", "/ancient-page", "/private-page"]);
        store.erase("shop", 7, 0, &[], None).unwrap();
        assert_eq!(paths("shop"), ["/", "/ancient-page"]);
        assert_eq!(paths("blog"), ["/private-page"], "another site's own");
        let mut settings = SiteSettings::new("shop", vec![]);
        settings.retention.usage = 60;
        store.apply_retention(&settings, now).unwrap();
        assert_eq!(paths("shop"), ["/"]);

        store
            .write(&[view("again", now - HOUR, 9, "/private-page")])
            .unwrap();
        assert_eq!(paths("shop"), ["/", "/private-page"]);
        let funnel = FunnelDefinition {
            name: "f".into(),
            steps: vec![
                Step::Page {
                    path: "/private-*".into(),
                },
                Step::Page { path: "/".into() },
            ],
            window_ms: DAY,
            unit: FunnelUnit::Visitor,
        };
        let steps = store
            .funnel(&Scope::unfiltered("shop", now - 2 * DAY, now), &funnel)
            .unwrap();
        let entrants: Vec<u64> = steps.iter().map(|s| s.entrants).collect();
        assert_eq!(entrants, [1, 0]);
    }

    /// A page view in a session, from a referrer, in a campaign.
    fn visit(
        id: &str,
        ts: i64,
        visitor: i64,
        session: &str,
        path: &str,
        from: Option<(&str, Option<&str>)>,
    ) -> StoredEvent {
        let mut event = view(id, ts, visitor, path);
        event.session_id = Some(session.into());
        if let EventData::PageView {
            referrer, campaign, ..
        } = &mut event.data
        {
            *referrer = from.map(|(host, _)| host.to_owned());
            campaign.campaign = from.and_then(|(_, c)| c).map(Into::into);
        }
        event
    }

    /// Four sessions today, two yesterday; the figures below are worked out
    /// by hand from these.
    fn overview_fixture() -> DuckDbStore {
        let store = DuckDbStore::in_memory().unwrap();
        let t = MIDNIGHT + 10 * HOUR;
        let news = Some(("news.example", None));
        let mut iphone = [
            visit("s2-1", t + HOUR, 2, "s2", "/", None),
            visit("s3-1", t + 2 * HOUR, 2, "s3", "/products", None),
            visit("s3-2", t + 2 * HOUR + 30_000, 2, "s3", "/", None),
        ];
        for e in &mut iphone {
            e.software = Software {
                browser: "Safari".into(),
                os: "iPhone".into(),
                device: crate::user_agent::Device::Mobile,
            };
        }
        store
            .write(&[
                visit("s1-1", t, 1, "s1", "/", news),
                visit("s1-2", t + 60_000, 1, "s1", "/cart", None),
                visit("s1-3", t + 180_000, 1, "s1", "/thanks", None),
                visit(
                    "s4-1",
                    t + 3 * HOUR,
                    3,
                    "s4",
                    "/cart",
                    Some(("news.example", Some("spring"))),
                ),
                visit("p1-1", t - DAY, 9, "p1", "/", None),
                visit("p2-1", t - DAY, 10, "p2", "/", None),
                visit("p2-2", t - DAY + 10_000, 10, "p2", "/cart", None),
            ])
            .unwrap();
        store.write(&iphone).unwrap();
        store
    }

    fn overview_query(filters: Filters) -> OverviewQuery {
        OverviewQuery {
            site: "shop".into(),
            from: MIDNIGHT,
            to: MIDNIGHT + DAY,
            filters,
        }
    }

    fn labels(b: &Breakdown) -> Vec<(&str, u64, u64)> {
        b.rows
            .iter()
            .map(|r| (r.label.as_str(), r.visitors, r.count))
            .collect()
    }

    #[test]
    fn the_overview_matches_the_hand_computed_figures() {
        let store = overview_fixture();
        let report = store
            .overview(&overview_query(Filters::default()), Tz::UTC, 1)
            .unwrap();
        assert_eq!(
            report.current,
            KeyFigures {
                visitors: 3,
                sessions: 4,
                pageviews: 7,
                views_per_session: 1.75,
                bounce_rate: 0.5,
                avg_duration_ms: 52_500.0,
            }
        );
        assert_eq!(
            report.previous,
            KeyFigures {
                visitors: 2,
                sessions: 2,
                pageviews: 3,
                views_per_session: 1.5,
                bounce_rate: 0.5,
                avg_duration_ms: 5_000.0,
            }
        );
        assert_eq!(
            labels(&report.pages),
            [
                ("/", 2, 3),
                ("/cart", 2, 2),
                ("/products", 1, 1),
                ("/thanks", 1, 1)
            ]
        );
        assert_eq!(
            labels(&report.entry_pages),
            [("/", 2, 2), ("/cart", 1, 1), ("/products", 1, 1)]
        );
        assert_eq!(
            labels(&report.exit_pages),
            [("/", 1, 2), ("/cart", 1, 1), ("/thanks", 1, 1)]
        );
        assert_eq!(
            labels(&report.sources),
            [("news.example", 2, 2), ("direct", 1, 2)]
        );
        assert_eq!(labels(&report.campaigns), [("spring", 1, 1)]);
        assert_eq!(
            labels(&report.devices),
            [("desktop", 2, 2), ("mobile", 1, 2)]
        );
    }

    #[test]
    fn breakdown_rows_under_k_visitors_are_only_counted() {
        let store = overview_fixture();
        let report = store
            .overview(&overview_query(Filters::default()), Tz::UTC, 2)
            .unwrap();
        assert_eq!(labels(&report.pages), [("/", 2, 3), ("/cart", 2, 2)]);
        assert_eq!(report.pages.small_groups, 2);
        assert_eq!(labels(&report.sources), [("news.example", 2, 2)]);
        assert_eq!(report.sources.small_groups, 1);
        assert!(report.campaigns.rows.is_empty());
        assert_eq!(report.campaigns.small_groups, 1);
        assert_eq!(report.k, 2);
    }

    #[test]
    fn filters_select_whole_sessions() {
        let store = overview_fixture();
        let by_source = store
            .overview(
                &overview_query(Filters {
                    source: Some("news.example".into()),
                    ..Filters::default()
                }),
                Tz::UTC,
                1,
            )
            .unwrap();
        // s1 and s4: the second page of s1 has no referrer of its own.
        assert_eq!(
            (by_source.current.sessions, by_source.current.pageviews),
            (2, 4)
        );
        assert_eq!(by_source.current.avg_duration_ms, 90_000.0);
        let by_page = store
            .overview(
                &overview_query(Filters {
                    page: Some("/cart".into()),
                    ..Filters::default()
                }),
                Tz::UTC,
                1,
            )
            .unwrap();
        assert_eq!(by_page.current, by_source.current);
        let by_entry = store
            .overview(
                &overview_query(Filters {
                    entry_page: Some("/products".into()),
                    browser: Some("Safari".into()),
                    ..Filters::default()
                }),
                Tz::UTC,
                1,
            )
            .unwrap();
        assert_eq!(
            (by_entry.current.visitors, by_entry.current.sessions),
            (1, 1)
        );
        assert_eq!(by_entry.previous.sessions, 0);
    }

    /// The overview fixture with an error, a vital and a purchase in some
    /// sessions, and one visit tagged with a campaign medium and source.
    fn reports_fixture() -> DuckDbStore {
        let store = overview_fixture();
        let t = MIDNIGHT + 10 * HOUR;
        let at = |id: &str, ts: i64, visitor: i64, session: &str, data: EventData| {
            let mut e = visit(id, ts, visitor, session, "/cart", None);
            e.data = data;
            e
        };
        let error = |message: &str| {
            EventData::Error(sonde_protocol::ErrorReport {
                message: message.into(),
                source: None,
                line: None,
                column: None,
                stack: None,
                rejection: false,
            })
        };
        let lcp = |value: f64| EventData::Vital {
            metric: Vital::Lcp,
            value,
        };
        let purchase = EventData::Custom {
            name: "purchase".into(),
            props: Default::default(),
            value: Some(20.0),
        };
        let mut tagged = visit(
            "s5-1",
            t + 4 * HOUR,
            5,
            "s5",
            "/",
            Some(("mail.example", None)),
        );
        if let EventData::PageView { campaign, .. } = &mut tagged.data {
            campaign.source = Some("newsletter".into());
            campaign.medium = Some("email".into());
        }
        store
            .write(&[
                at("e1", t + 61_000, 1, "s1", error("Total is NaN")),
                at("e2", t + HOUR + 1, 2, "s2", error("Total is NaN")),
                at("v1", t + 62_000, 1, "s1", lcp(1_800.0)),
                at("v3", t + 2 * HOUR + 1, 2, "s3", lcp(4_500.0)),
                at("b1", t + 120_000, 1, "s1", purchase.clone()),
                at("b4", t + 3 * HOUR + 1, 3, "s4", purchase),
                tagged,
            ])
            .unwrap();
        store
    }

    #[test]
    fn every_report_counts_only_the_sessions_the_filters_select() {
        let store = reports_fixture();
        let day = (MIDNIGHT, MIDNIGHT + DAY);
        let filtered = |key: &str, value: &str| {
            let mut f = Filters::default();
            f.set(key, Some(value.into()));
            f
        };
        let news = filtered("source", "news.example");
        let scope = Scope::new("shop", day.0, day.1, &news);
        let all = Scope::unfiltered("shop", day.0, day.1);

        // Sessions s1 and s4 came from news.example (s5's campaign names
        // its own source, newsletter, over its referrer).
        let visits = |scope: &Scope| {
            let mut v: Vec<String> = store
                .visits(scope)
                .unwrap()
                .into_iter()
                .map(|v| v.session)
                .collect();
            v.sort();
            v
        };
        assert_eq!(visits(&scope), ["s1", "s4"]);
        assert_eq!(visits(&all), ["s1", "s2", "s3", "s4", "s5"]);
        // The errors report follows only the visits with errors.
        assert_eq!(visits(&all.with_errors()), ["s1", "s2"]);
        assert_eq!(visits(&scope.with_errors()), ["s1"]);
        assert_eq!(store.session_count(&scope).unwrap(), 2);
        let errors: Vec<String> = store
            .errors(&scope)
            .unwrap()
            .into_iter()
            .map(|e| e.session)
            .collect();
        assert_eq!(errors, ["s1"]);
        assert_eq!(store.errors(&all).unwrap().len(), 2);
        let vitals: Vec<f64> = store
            .vitals(&scope)
            .unwrap()
            .iter()
            .map(|v| v.value)
            .collect();
        assert_eq!(vitals, [1_800.0]);
        let purchase = Step::Event {
            name: "purchase".into(),
            property: None,
            value: None,
        };
        assert_eq!(store.goal_hits(&scope, &purchase).unwrap().len(), 2);
        assert_eq!(
            store
                .goal_hits(
                    &Scope::new("shop", day.0, day.1, &filtered("device", "mobile")),
                    &purchase
                )
                .unwrap(),
            []
        );
        // Home then cart: s1 only; unfiltered, s1, s2, s3 and s5 enter.
        let funnel = FunnelDefinition {
            name: "Cart".into(),
            steps: vec![
                Step::Page { path: "/".into() },
                Step::Page {
                    path: "/cart".into(),
                },
            ],
            window_ms: DAY,
            unit: FunnelUnit::Session,
        };
        let entrants = |scope: &Scope| -> Vec<u64> {
            store
                .funnel(scope, &funnel)
                .unwrap()
                .iter()
                .map(|s| s.entrants)
                .collect()
        };
        assert_eq!(entrants(&scope), [1, 1]);
        assert_eq!(entrants(&all), [4, 1]);

        // The campaign's source and medium, and the referrer.
        let usage = |filters: Filters, compare: bool| {
            store
                .usage(
                    &UsageQuery {
                        site: "shop".into(),
                        from: day.0,
                        to: day.1,
                        granularity: Granularity::Day,
                        filters,
                        compare,
                    },
                    Tz::UTC,
                    1,
                )
                .unwrap()
        };
        let newsletter = usage(filtered("source", "newsletter"), false);
        assert_eq!(
            (newsletter.total_pageviews, newsletter.total_visitors),
            (1, 1)
        );
        assert_eq!(usage(filtered("medium", "email"), false).total_pageviews, 1);
        assert_eq!(
            usage(filtered("referrer", "mail.example"), false).total_pageviews,
            1
        );
        assert_eq!(
            usage(filtered("campaign", "spring"), false).total_pageviews,
            1
        );
        // s4's referrer is news.example too; s1 and s4 viewed four pages.
        let by_referrer = usage(filtered("referrer", "news.example"), false);
        assert_eq!(by_referrer.total_pageviews, 4);
        assert_eq!(by_referrer.series[0].pageviews, 4);
        assert_eq!(by_referrer.previous, None, "asked without compare");

        // Direct visits: s2 and s3 today; p1 and p2 the day before.
        let direct = usage(filtered("source", "direct"), true);
        assert_eq!((direct.total_pageviews, direct.total_visitors), (3, 1));
        assert_eq!(
            direct.previous,
            Some(UsageTotals {
                pageviews: 3,
                visitors: 2
            })
        );
        let by_source = store
            .overview(&overview_query(Filters::default()), Tz::UTC, 1)
            .unwrap();
        assert_eq!(
            labels(&by_source.sources),
            [
                ("news.example", 2, 2),
                ("direct", 1, 2),
                ("newsletter", 1, 1)
            ]
        );
        assert_eq!(
            labels(&by_source.referrers),
            [
                ("news.example", 2, 2),
                ("direct", 1, 2),
                ("mail.example", 1, 1)
            ]
        );
    }

    #[test]
    fn usage_from_the_rollup_is_usage_counted_from_the_events() {
        use rand::{Rng, SeedableRng};
        // 2025-11-24 is a Monday; twelve days of traffic ending on a
        // Saturday afternoon, in a timezone an hour off UTC and in one
        // 5 h 45 min off (its days start at 18:15 UTC).
        let now = MIDNIGHT + 12 * DAY + 15 * HOUR;
        for timezone in ["Europe/Berlin", "Asia/Kathmandu"] {
            let tz: Tz = timezone.parse().unwrap();
            let mut site = SiteSettings::new("shop", vec![]);
            site.timezone = timezone.into();
            let rolled = DuckDbStore::in_memory().unwrap();
            let counted = DuckDbStore::in_memory().unwrap();
            let write = |events: &[StoredEvent]| {
                rolled.write(events).unwrap();
                counted.write(events).unwrap();
            };
            let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
            let paths = ["/", "/a", "/b", "/c", "/d", "/e"];
            let events: Vec<StoredEvent> = (0..3_000)
                .map(|i| {
                    // Visitor ids repeat within a day and now and then
                    // across days (a late event under the next day's salt).
                    let ts = now - rng.random_range(0..12 * DAY);
                    let visitor = rng.random_range(0..60);
                    let mut e = view(&format!("v{i}"), ts, visitor, paths[rng.random_range(0..6)]);
                    // Sessions run over days, and so over midnight.
                    e.session_id = Some(format!("s{visitor}-{}", rng.random_range(0..3)));
                    if let EventData::PageView { referrer, .. } = &mut e.data {
                        *referrer = ["news.example", "mail.example"]
                            .get(rng.random_range(0..4))
                            .map(|r| r.to_string());
                    }
                    e
                })
                .collect();
            write(&events);

            let queries = [
                (now - 7 * DAY, now, Granularity::Day, false),
                (MIDNIGHT, MIDNIGHT + 13 * DAY, Granularity::Day, true),
                (MIDNIGHT - 2 * DAY, now, Granularity::Week, true),
                (MIDNIGHT, now, Granularity::Month, false),
                (now - DAY, now, Granularity::Hour, true),
            ];
            let same = |why: &str| {
                for (from, to, granularity, compare) in queries {
                    let q = UsageQuery {
                        site: "shop".into(),
                        from,
                        to,
                        granularity,
                        compare,
                        ..Default::default()
                    };
                    let (a, b) = (
                        rolled.usage(&q, tz, 3).unwrap(),
                        counted.usage(&q, tz, 3).unwrap(),
                    );
                    assert_eq!(a, b, "{timezone} {why}: {q:?}");
                    assert!(a.total_pageviews > 0);
                }
                for (from, to) in [(now - 7 * DAY, now), (MIDNIGHT, MIDNIGHT + 10 * DAY)] {
                    let mut q = OverviewQuery {
                        site: "shop".into(),
                        from,
                        to,
                        filters: Filters::default(),
                    };
                    let (a, b) = (
                        rolled.overview(&q, tz, 3).unwrap(),
                        counted.overview(&q, tz, 3).unwrap(),
                    );
                    assert_eq!(a, b, "{timezone} {why}: {q:?}");
                    assert!(a.current.sessions > 0 && !a.sources.rows.is_empty());
                    q.filters.source = Some("news.example".into());
                    assert_eq!(
                        rolled.overview(&q, tz, 3).unwrap(),
                        counted.overview(&q, tz, 3).unwrap(),
                        "{timezone} {why}: {q:?}"
                    );
                }
            };
            same("before the roll-up");
            let turn = rolled.roll_up(&site, now, 100).unwrap();
            assert_eq!(
                (turn.rolled, turn.pending),
                (12, 0),
                "{timezone}: the days before today"
            );
            assert_eq!(rolled.roll_up(&site, now, 100).unwrap().rolled, 0);
            same("rolled up");

            // A late page view takes its day out until it is rolled again.
            let late = view("late", now - 3 * DAY, 7, "/late");
            write(&[late]);
            same("after a late page view");
            assert_eq!(rolled.roll_up(&site, now, 100).unwrap().rolled, 1);
            same("rolled again");

            // An erasure deletes events of rolled-up days.
            for store in [&rolled, &counted] {
                store.erase("shop", 7, 0, &[], None).unwrap();
            }
            same("after an erasure");
            rolled.roll_up(&site, now, 100).unwrap();
            same("rolled after the erasure");

            // The reports read the rollup: events deleted behind its back
            // (no store does that) still count.
            // Whole days of the site's calendar, all rolled up.
            let days = crate::reports::buckets::buckets(
                MIDNIGHT,
                MIDNIGHT + 10 * DAY,
                Granularity::Day,
                tz,
            );
            let overview = OverviewQuery {
                site: "shop".into(),
                from: days[1].start,
                to: days[9].start,
                filters: Filters::default(),
            };
            let before = rolled.overview(&overview, tz, 1).unwrap();
            rolled
                .conn()
                .execute_batch("DELETE FROM events WHERE path = '/e'")
                .unwrap();
            assert_eq!(rolled.overview(&overview, tz, 1).unwrap(), before);
            assert_ne!(counted.overview(&overview, tz, 1).unwrap().current, {
                counted
                    .conn()
                    .execute_batch("DELETE FROM events WHERE path = '/e'")
                    .unwrap();
                counted.overview(&overview, tz, 1).unwrap().current
            });
            let q = UsageQuery {
                site: "shop".into(),
                from: MIDNIGHT,
                to: MIDNIGHT + 10 * DAY,
                ..Default::default()
            };
            let pages = rolled.usage(&q, tz, 1).unwrap().top_pages;
            assert!(
                pages.iter().any(|p| p.path == "/e"),
                "{timezone}: {pages:?}"
            );
        }
    }

    #[test]
    fn days_are_the_sites_days() {
        let store = DuckDbStore::in_memory().unwrap();
        // 23:30 UTC is half past midnight the next day in Berlin.
        store
            .write(&[
                view("a", MIDNIGHT + 22 * HOUR, 1, "/"),
                view("b", MIDNIGHT + 23 * HOUR + 30 * 60_000, 2, "/"),
            ])
            .unwrap();
        let report = store
            .usage(
                &query(MIDNIGHT, MIDNIGHT + 2 * DAY, Granularity::Day),
                chrono_tz::Europe::Berlin,
                1,
            )
            .unwrap();
        let days: Vec<(&str, u64)> = report
            .series
            .iter()
            .map(|p| (p.local.as_str(), p.pageviews))
            .collect();
        assert_eq!(
            days,
            [("2025-11-24", 1), ("2025-11-25", 1), ("2025-11-26", 0)]
        );
        assert_eq!(report.total_pageviews, 2);
    }

    #[test]
    fn other_sites_are_not_counted() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut other = view("x", MIDNIGHT, 1, "/");
        other.site = "blog".into();
        store.write(&[other, view("y", MIDNIGHT, 1, "/")]).unwrap();
        let report = store
            .usage(
                &query(MIDNIGHT, MIDNIGHT + DAY, Granularity::Day),
                Tz::UTC,
                1,
            )
            .unwrap();
        assert_eq!(report.total_pageviews, 1);
    }
}
