//! A scope's visits in SQL: each session's page views on one day of the
//! site's calendar (its visitor id changes at midnight), one row each, as
//! [`super::scope::sessions_sql`] defines them. The overview counts these
//! visits, and the conversions report reads them.
//!
//! The visits of a rolled-up day are kept in `rollup_day_visits` (see
//! [`super::rollup`]), so a month's visits are read, not rebuilt from its
//! page views: only the days not rolled up yet (today's, and those a late
//! page view took out) are grouped from the events.

use chrono_tz::Tz;
use duckdb::{Connection, params};

use super::rollup::{self, GRANULE_MS};
use super::scope::{VIEW_COLUMNS, matching_sessions, sessions_sql};
use crate::reports::Scope;
use crate::store::StoreError;

/// The columns of a visit a report reads: its session's number, its day,
/// its visitor, when it began (`start_ms`), and where it came from.
const VISIT_COLUMNS: &str =
    "session, day_start, visitor, start_ms, entry, referrer, source, medium, campaign";

/// A query of one row per visit with [`VISIT_COLUMNS`], and the values of
/// its placeholders, in order.
pub(super) struct VisitsQuery {
    pub sql: String,
    pub values: Vec<String>,
}

impl VisitsQuery {
    pub fn params(&self) -> impl Iterator<Item = &dyn duckdb::ToSql> {
        self.values.iter().map(|v| v as &dyn duckdb::ToSql)
    }
}

/// The scope's visits that pass its filters, the days rolled up in
/// `timezone` read from the rollup when `use_rollup`, but for the rolled-up
/// days starting at `left_out` (counted otherwise). It fills the temporary
/// table `day_granules` for the whole period, which also gives any other
/// event of the scope its day.
pub(super) fn scope_visits(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    use_rollup: bool,
    left_out: &[i64],
) -> Result<VisitsQuery, StoreError> {
    let rolled = if use_rollup {
        rollup::rolled_days(conn, scope.site, timezone, scope.from, scope.to)?
    } else {
        Vec::new()
    };
    let pieces = rollup::uncovered(scope.from, scope.to, &rolled);
    let rolled: Vec<(i64, i64)> = rolled
        .into_iter()
        .filter(|(start, _)| !left_out.contains(start))
        .collect();
    rollup::fill_day_granules(conn, &[(scope.from, scope.to)], timezone)?;
    view_page_views(conn, scope.site, &pieces)?;
    let site = quoted(scope.site);
    let rolled_days = if rolled.is_empty() {
        "FALSE".to_owned()
    } else {
        let starts: Vec<String> = rolled.iter().map(|(start, _)| start.to_string()).collect();
        format!("site = '{site}' AND day_start IN ({})", starts.join(", "))
    };
    let with_errors = if scope.with_errors {
        format!(
            " AND session IN (
                 SELECT session_key FROM events
                 WHERE site = '{site}' AND kind = 'error'
                   AND ts >= epoch_ms({}::BIGINT) AND ts < epoch_ms({}::BIGINT))",
            scope.from, scope.to
        )
    } else {
        String::new()
    };
    let (matching, values) = matching_sessions(scope.filters);
    Ok(VisitsQuery {
        sql: format!(
            "SELECT {VISIT_COLUMNS} FROM ({sessions}) WHERE {matching}{with_errors}
             UNION ALL
             SELECT {VISIT_COLUMNS} FROM rollup_day_visits
             WHERE {rolled_days} AND {matching}{with_errors}",
            sessions = sessions_sql(scope.filters.page.is_some()),
        ),
        values: values.iter().chain(&values).cloned().collect(),
    })
}

/// How many visits the scope has: without filters, the rolled-up days'
/// counts added up and the rest counted; with them, every visit that
/// passes.
pub(super) fn visit_count(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
) -> Result<u64, StoreError> {
    let (rolled, rolled_visits) = if scope.filters.is_empty() && !scope.with_errors {
        let rolled = rollup::rolled_days(conn, scope.site, timezone, scope.from, scope.to)?;
        let visits: i64 = conn
            .prepare_cached(
                "SELECT coalesce(sum(sessions), 0)::BIGINT FROM rollup_days
                 WHERE site = ? AND timezone = ? AND day_start >= ? AND day_stop <= ?",
            )?
            .query_row(
                params![scope.site, timezone.name(), scope.from, scope.to],
                |r| r.get(0),
            )?;
        (rolled, visits as u64)
    } else {
        (Vec::new(), 0)
    };
    let starts: Vec<i64> = rolled.iter().map(|(start, _)| *start).collect();
    let visits = scope_visits(conn, scope, timezone, true, &starts)?;
    let params: Vec<&dyn duckdb::ToSql> = visits.params().collect();
    let counted: i64 = conn.query_row(
        &format!("SELECT count(*) FROM ({})", visits.sql),
        params.as_slice(),
        |r| r.get(0),
    )?;
    Ok(rolled_visits + counted as u64)
}

/// Creates the temporary view `views`: the page views of `site` in
/// `pieces` of time with [`VIEW_COLUMNS`] and their `day_start`, from
/// `day_granules` (which must hold every slice of the pieces).
pub(super) fn view_page_views(
    conn: &Connection,
    site: &str,
    pieces: &[(i64, i64)],
) -> Result<(), StoreError> {
    // Views hold no placeholders: values are written in, strings quoted
    // as SQL quotes them.
    let site = quoted(site);
    let branches: Vec<String> = pieces
        .iter()
        .map(|(a, b)| {
            format!(
                "SELECT epoch_ms(ts) // {GRANULE_MS} AS granule, {VIEW_COLUMNS} FROM events
                 WHERE site = '{site}' AND kind = 'page_view'
                   AND ts >= epoch_ms({a}::BIGINT) AND ts < epoch_ms({b}::BIGINT)"
            )
        })
        .collect();
    let branches = if branches.is_empty() {
        format!("SELECT 0 AS granule, {VIEW_COLUMNS} FROM events WHERE FALSE")
    } else {
        branches.join(" UNION ALL ")
    };
    // A view, not a table: the page views are read once for the visits,
    // and a temporary table of their strings cost more than the reading
    // (180 against 13 ms for a day of 160,000 page views).
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP VIEW views AS
         SELECT e.* EXCLUDE (granule), g.day_start
         FROM ({branches}) e JOIN day_granules g USING (granule)"
    ))?;
    Ok(())
}

/// `value` quoted as SQL quotes a string, to be written into a view.
pub(super) fn quoted(value: &str) -> String {
    value.replace('\'', "''")
}
