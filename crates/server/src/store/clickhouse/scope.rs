//! A report's scope in ClickHouse SQL: the events of a site and period,
//! of the sessions its filters select, and the one row per session (or
//! visit) the filters read. The same definitions as DuckDB's
//! `store::duckdb::scope`, in 18.16's dialect; the differential tests hold
//! the two equal.
//!
//! Every query reads `events`, the `Distributed` table, and a condition on
//! sessions reads `events_local` in a subquery: ClickHouse runs the whole
//! query on each shard, and a session lives on one shard, so the
//! subquery's sessions are the shard's own.

use chrono_tz::Tz;
use sonde_protocol::Filters;

use super::sql::quoted;
use crate::reports::Scope;

/// Where the events are: the database's `events`, read `FINAL`, so that a
/// retried event that slipped past the check at ingest (two processes at
/// once) is read once even before its parts merge.
pub(super) fn events(database: &str) -> String {
    format!("{database}.events FINAL")
}

/// The condition that selects the scope's events.
pub(super) fn scoped(database: &str, scope: &Scope) -> String {
    let period = period(database, scope);
    let with_errors = if scope.with_errors {
        format!(
            " AND session_key IN (
                 SELECT session_key FROM {database}.events_local
                 WHERE {period} AND kind = 'error')"
        )
    } else {
        String::new()
    };
    if scope.filters.is_empty() {
        return format!("{period}{with_errors}");
    }
    format!(
        "{period} AND session_key IN (
             SELECT session FROM ({sessions}) WHERE {matching}){with_errors}",
        sessions = sessions_sql(
            &format!("{database}.events_local"),
            &format!("{period} AND kind = 'page_view'"),
            "0",
            scope.filters.page.is_some(),
        ),
        matching = matching_sessions(scope.filters),
    )
}

/// The scope's site and period, as a condition on events.
pub(super) fn period(database: &str, scope: &Scope) -> String {
    live_events(database, scope.site, scope.from, scope.to)
}

/// The events of `site` in `[from, to)` that no erasure took out and its
/// retention still keeps: both are out of every report from the moment
/// they are recorded, before a mutation has removed them.
pub(super) fn live_events(database: &str, site: &str, from: i64, to: i64) -> String {
    format!(
        "site = {site} AND ts >= {from} AND ts < {to} AND {not_erased} AND {retained}",
        site = quoted(site),
        not_erased = not_erased(database, site),
        retained = retained(database, site),
    )
}

/// The condition that an event of `site` is within its category's
/// retention, as last recorded in `retention_cutoffs` (0, all of it, for
/// a category never cut: `argMax` of no rows is 0).
pub(super) fn retained(database: &str, site: &str) -> String {
    let site = quoted(site);
    let before = |category: &str| {
        format!(
            "(category = '{category}' AND ts < (
                 SELECT argMax(before_ms, recorded_at) FROM {database}.retention_cutoffs
                 WHERE site = {site} AND category = '{category}'))"
        )
    };
    format!(
        "NOT ({} OR {} OR {})",
        before("usage"),
        before("errors"),
        before("performance")
    )
}

/// The condition that an event of `site` was not erased.
pub(super) fn not_erased(database: &str, site: &str) -> String {
    format!(
        "(session_key, id) NOT IN (
             SELECT session_key, id FROM {database}.erased_events_local WHERE site = {site})",
        site = quoted(site),
    )
}

/// The start of an event's day on the calendar of `timezone`, ms.
pub(super) fn day_start(timezone: Tz) -> String {
    format!(
        "toInt64(toUInt32(toStartOfDay(toDateTime(intDiv(ts, 1000)), {tz}))) * 1000",
        tz = quoted(timezone.name())
    )
}

/// One row per session and `day_start` (an expression of the page view)
/// of the page views in `table` that meet `condition`, with the attributes
/// filters and breakdowns read (see [`sonde_protocol::filters`] and
/// DuckDB's `sessions_sql`).
///
/// A session's first page view is the earliest, the first stored among
/// equals (`(ts, seq)`); see [`first`] for its nullable fields.
pub(super) fn sessions_sql(
    table: &str,
    condition: &str,
    day_start: &str,
    with_pages: bool,
) -> String {
    let pages = if with_pages {
        "groupArray(path)"
    } else {
        "emptyArrayString()"
    };
    format!(
        "SELECT session_key AS session, {day_start} AS day_start, any(visitor_id) AS visitor,
                count() AS views, min(ts) AS start_ms, max(ts) - min(ts) AS duration_ms,
                argMin(path, (ts, seq)) AS entry, argMax(path, (ts, seq)) AS exit,
                coalesce({source}, {referrer}, 'direct') AS source,
                coalesce({referrer}, 'direct') AS referrer,
                {medium} AS medium, {campaign} AS campaign,
                any(browser) AS browser, any(os) AS os, any(device) AS device,
                {pages} AS pages
         FROM {table}
         WHERE {condition}
         GROUP BY session, day_start",
        source = first("utm_source"),
        referrer = first("referrer_host"),
        medium = first("utm_medium"),
        campaign = first("utm_campaign"),
    )
}

/// The value of nullable `column` in the group's first event (the
/// earliest, the first stored among equals), NULL when that event has
/// none. 18.16's aggregates skip NULL arguments, which would take the
/// first event that has a value instead: the NULL goes in as a NUL
/// character, which no URL or header carries, and comes out as NULL.
/// (Wrapping the value in a tuple instead crashes 18.16's servers when the
/// aggregate's state crosses from a shard.)
pub(super) fn first(column: &str) -> String {
    format!("nullIf(argMin(ifNull({column}, '\\0'), (ts, seq)), '\\0')")
}

/// The condition a row of [`sessions_sql`] meets when it matches every
/// filter given.
pub(super) fn matching_sessions(filters: &Filters) -> String {
    let mut tests = vec!["1".to_owned()];
    for (key, value) in filters.given() {
        let value = quoted(value);
        tests.push(match key {
            "page" => format!("has(pages, {value})"),
            "entry_page" => format!("entry = {value}"),
            column => format!("{column} = {value}"),
        });
    }
    tests.join(" AND ")
}
