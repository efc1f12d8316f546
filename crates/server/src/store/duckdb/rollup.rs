//! Usage rolled up per day of each site's calendar, so that a usage report
//! over weeks adds up a row per day instead of counting millions of page
//! views.
//!
//! Visitor ids rotate at the site's midnight, so *visitors* are counted per
//! day of the site's calendar and added up over a period (see
//! [`sonde_protocol::usage`]): a day's figures (page views, distinct
//! visitors, and both per page) never change once the day is over, except
//! when a late event arrives or events are deleted. Both take the day's row
//! out of `rollup_days`, and the day is counted from the events again until
//! the roll-up job ([`roll_up`]) writes it anew. A day counts from the
//! rollup only while its row is there, so a report is the same whether or
//! not a day was rolled up; a test holds the two ways to equal figures.
//!
//! Filtered reports read the events: filters select sessions, which a day's
//! totals cannot.

use std::collections::{BTreeMap, HashMap};

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::Granularity;

use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::store::StoreError;

/// What the rollup holds and how it counts; rows of another version (an
/// older Sonde's) are dropped when the store opens and counted again.
const VERSION: i32 = 4;

/// Drops rollup rows another version of Sonde wrote.
pub(super) fn drop_other_versions(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM rollup_days WHERE version IS DISTINCT FROM ?",
        [VERSION],
    )?;
    Ok(())
}

pub(super) const SCHEMA: &str = "
-- One row per rolled-up day of a site's calendar ([day_start, day_stop) in
-- ms, in the timezone it was counted in): its page views and visitors.
CREATE TABLE IF NOT EXISTS rollup_days (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    day_stop  BIGINT NOT NULL,
    timezone  VARCHAR NOT NULL,
    views     BIGINT NOT NULL,
    visitors  BIGINT NOT NULL
);
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS version INTEGER;
-- A day's visits (a session cut at the site's midnight): how many, how
-- many of one page view, and their duration added up.
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS sessions BIGINT;
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS bounces BIGINT;
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS duration_ms BIGINT;
-- A day's visitors and visits per value of each overview breakdown
-- (dimension: entry, exit, source, referrer, campaign, browser, os,
-- device); read only for days listed in rollup_days.
CREATE TABLE IF NOT EXISTS rollup_day_groups (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    dimension VARCHAR NOT NULL,
    label     VARCHAR NOT NULL,
    visitors  BIGINT NOT NULL,
    sessions  BIGINT NOT NULL
);
DROP TABLE IF EXISTS rollup_sessions;
-- A day's page views and visitors per page; read only for days listed in
-- rollup_days.
CREATE TABLE IF NOT EXISTS rollup_day_pages (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    path      VARCHAR NOT NULL,
    views     BIGINT NOT NULL,
    visitors  BIGINT NOT NULL
);
";

/// Every timezone's offset is a multiple of 15 minutes, so a day of any
/// site's calendar is a whole number of these slices.
const GRANULE_MS: i64 = 15 * 60 * 1000;

/// Page views and visitors of a scope, per day of the site's calendar and
/// per page (a page's visitors added up over its days).
#[derive(Debug, Default, PartialEq)]
pub(super) struct DayFigures {
    /// Keyed by the day's start, ms since the epoch.
    pub days: BTreeMap<i64, Counts>,
    pub pages: HashMap<String, Counts>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub views: u64,
    pub visitors: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.views += other.views;
        self.visitors += other.visitors;
    }
}

impl DayFigures {
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.days.values() {
            total += *counts;
        }
        total
    }

    /// The figures of each bucket of days (days, weeks or months).
    pub fn per_bucket(&self, buckets: &[Bucket]) -> Vec<Counts> {
        let mut out = vec![Counts::default(); buckets.len()];
        for (start, counts) in &self.days {
            let i = buckets.partition_point(|b| b.stop <= *start);
            if let Some(slot) = out.get_mut(i) {
                *slot += *counts;
            }
        }
        out
    }
}

/// The figures of the page views `condition` selects (a scope's condition
/// from `scoped`, with `params` for its placeholders) in `[scope.from,
/// scope.to)`; days rolled up in `timezone` are read from the rollup when
/// `use_rollup`, the rest counted from the events.
pub(super) fn day_figures(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    condition: &str,
    use_rollup: bool,
) -> Result<DayFigures, StoreError> {
    let mut figures = DayFigures::default();
    let rolled: Vec<(i64, i64)> = if use_rollup {
        let mut stmt = conn.prepare_cached(
            "SELECT day_start, day_stop, views, visitors FROM rollup_days
             WHERE site = ? AND timezone = ? AND day_start >= ? AND day_stop <= ?
             ORDER BY day_start",
        )?;
        let rows = stmt.query_map(
            params![scope.site, timezone.name(), scope.from, scope.to],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    Counts {
                        views: r.get::<_, i64>(2)? as u64,
                        visitors: r.get::<_, i64>(3)? as u64,
                    },
                ))
            },
        )?;
        let mut spans = Vec::new();
        for row in rows {
            let (start, stop, counts) = row?;
            figures.days.insert(start, counts);
            spans.push((start, stop));
        }
        if !spans.is_empty() {
            let mut stmt = conn.prepare_cached(
                "SELECT p.path, sum(p.views)::BIGINT, sum(p.visitors)::BIGINT
                 FROM rollup_day_pages p JOIN rollup_days d
                   ON p.site = d.site AND p.day_start = d.day_start
                 WHERE d.site = ? AND d.timezone = ? AND d.day_start >= ? AND d.day_stop <= ?
                 GROUP BY p.path",
            )?;
            let rows = stmt.query_map(
                params![scope.site, timezone.name(), scope.from, scope.to],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Counts {
                            views: r.get::<_, i64>(1)? as u64,
                            visitors: r.get::<_, i64>(2)? as u64,
                        },
                    ))
                },
            )?;
            for row in rows {
                let (path, counts) = row?;
                *figures.pages.entry(path).or_default() += counts;
            }
        }
        spans
    } else {
        Vec::new()
    };
    let raw = uncovered(scope.from, scope.to, &rolled);
    if !raw.is_empty() {
        count_from_events(conn, scope, timezone, condition, &raw, &mut figures)?;
    }
    Ok(figures)
}

/// The parts of `[from, to)` outside the sorted, disjoint `spans`.
pub(super) fn uncovered(from: i64, to: i64, spans: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = from;
    for &(start, stop) in spans {
        if start > at {
            out.push((at, start.min(to)));
        }
        at = at.max(stop);
    }
    if at < to {
        out.push((at, to));
    }
    out
}

/// The spans `[day_start, day_stop)` of `site`'s days in `[from, to)` that
/// are rolled up in `timezone`, oldest first.
pub(super) fn rolled_days(
    conn: &Connection,
    site: &str,
    timezone: Tz,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day_start, day_stop FROM rollup_days
         WHERE site = ? AND timezone = ? AND day_start >= ? AND day_stop <= ?
         ORDER BY day_start",
    )?;
    let rows = stmt.query_map(params![site, timezone.name(), from, to], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Fills the temporary table `day_granules`: each 15-minute slice of
/// `pieces` and the start of its day on the site's calendar, so that a
/// page view's day is an equality join away.
pub(super) fn fill_day_granules(
    conn: &Connection,
    pieces: &[(i64, i64)],
    timezone: Tz,
) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE day_granules (granule BIGINT, day_start BIGINT)",
    )?;
    let mut appender = conn.appender("day_granules")?;
    for &(from, to) in pieces {
        for day in crate::reports::buckets::buckets(from, to, Granularity::Day, timezone) {
            let first = day.start.max(from).div_euclid(GRANULE_MS);
            let last = (day.stop.min(to) - 1).div_euclid(GRANULE_MS);
            for granule in first..=last {
                appender.append_row(params![granule, day.start])?;
            }
        }
    }
    appender.flush()?;
    Ok(())
}

/// Counts the page views of `pieces` (parts of the scope's period) from the
/// events, per day of the site's calendar and per page.
fn count_from_events(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    condition: &str,
    pieces: &[(i64, i64)],
    figures: &mut DayFigures,
) -> Result<(), StoreError> {
    fill_day_granules(conn, pieces, timezone)?;
    // One branch per piece, so that each reads only its own stretch of time.
    let branches: Vec<String> = pieces
        .iter()
        .map(|(from, to)| {
            format!(
                "SELECT epoch_ms(ts) // {GRANULE_MS} AS granule, path, visitor_id FROM events
                 WHERE {condition} AND kind = 'page_view'
                   AND ts >= epoch_ms({from}::BIGINT) AND ts < epoch_ms({to}::BIGINT)"
            )
        })
        .collect();
    let sql = format!(
        "SELECT g.day_start, e.path, count(*), count(DISTINCT e.visitor_id)
         FROM ({}) e JOIN day_granules g USING (granule)
         GROUP BY GROUPING SETS ((g.day_start, e.path), (g.day_start))",
        branches.join(" UNION ALL ")
    );
    let mut params: Vec<&dyn duckdb::ToSql> = Vec::new();
    for _ in pieces {
        params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params.as_slice(), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            Counts {
                views: r.get::<_, i64>(2)? as u64,
                visitors: r.get::<_, i64>(3)? as u64,
            },
        ))
    })?;
    for row in rows {
        let (day, path, counts) = row?;
        match path {
            Some(path) => *figures.pages.entry(path).or_default() += counts,
            None => *figures.days.entry(day).or_default() += counts,
        }
    }
    Ok(())
}

/// The days of `site`'s calendar (in `timezone`) that are over as of
/// `now_ms`, have page views before them or on them, and are not rolled
/// up: oldest first.
pub(super) fn pending_days(
    conn: &Connection,
    site: &str,
    timezone: Tz,
    now_ms: i64,
) -> Result<Vec<Bucket>, StoreError> {
    let today = crate::reports::buckets::buckets(now_ms, now_ms + 1, Granularity::Day, timezone);
    let Some(today_start) = today.first().map(|d| d.start) else {
        return Ok(Vec::new());
    };
    let first: Option<i64> = conn.query_row(
        "SELECT epoch_ms(min(ts)) FROM events
         WHERE site = ? AND kind = 'page_view' AND ts < epoch_ms(?::BIGINT)",
        params![site, today_start],
        |r| r.get(0),
    )?;
    let Some(first) = first else {
        return Ok(Vec::new());
    };
    let mut stmt =
        conn.prepare("SELECT day_start FROM rollup_days WHERE site = ? AND timezone = ?")?;
    let rolled: std::collections::HashSet<i64> = stmt
        .query_map(params![site, timezone.name()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(
        crate::reports::buckets::buckets(first, today_start, Granularity::Day, timezone)
            .into_iter()
            .filter(|d| d.stop <= today_start && !rolled.contains(&d.start))
            .collect(),
    )
}

/// Counts one day of `site` from the events into the rollup, in one
/// transaction.
pub(super) fn roll_day(
    conn: &mut Connection,
    site: &str,
    timezone: Tz,
    day: &Bucket,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let (start, stop) = (day.start, day.stop);
    tx.execute(
        "DELETE FROM rollup_days WHERE site = ? AND day_start = ?",
        params![site, start],
    )?;
    for table in ["rollup_day_pages", "rollup_day_groups"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE site = ? AND day_start = ?"),
            params![site, start],
        )?;
    }
    let views = "FROM events WHERE site = ? AND kind = 'page_view'
                 AND ts >= epoch_ms(?::BIGINT) AND ts < epoch_ms(?::BIGINT)";
    tx.execute(
        &format!(
            "INSERT INTO rollup_day_pages
             SELECT ?, ?, path, count(*), count(DISTINCT visitor_id) {views} GROUP BY path"
        ),
        params![site, start, site, start, stop],
    )?;
    tx.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE day_sessions AS
             WITH views AS (SELECT {columns}, ?::BIGINT AS day_start {views})
             {sessions}",
            columns = super::VIEW_COLUMNS,
            sessions = super::sessions_sql(false),
        ),
        params![start, site, start, stop],
    )?;
    for dimension in super::OVERVIEW_DIMENSIONS {
        tx.execute(
            &format!(
                "INSERT INTO rollup_day_groups
                 SELECT ?, ?, ?, {dimension}, count(DISTINCT visitor), count(*) FROM day_sessions
                 WHERE {dimension} IS NOT NULL GROUP BY {dimension}"
            ),
            params![site, start, dimension],
        )?;
    }
    tx.execute(
        &format!(
            "INSERT INTO rollup_days
             SELECT ?, ?, ?, ?, count(*), count(DISTINCT visitor_id), ?,
                    (SELECT count(*) FROM day_sessions),
                    (SELECT count(*) FROM day_sessions WHERE views = 1),
                    (SELECT coalesce(sum(duration_ms), 0)::BIGINT FROM day_sessions)
             {views}"
        ),
        params![
            site,
            start,
            stop,
            timezone.name(),
            VERSION,
            site,
            start,
            stop
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Takes out of the rollup the days of `site` that hold any instant of
/// `[from, to]`: they are counted from the events again until rolled anew.
pub(super) fn unroll(conn: &Connection, site: &str, from: i64, to: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM rollup_days WHERE site = ? AND day_stop > ? AND day_start <= ?",
        params![site, from, to],
    )?;
    Ok(())
}

/// The end of the latest rolled-up day of each site: a page view before it
/// may change a rolled-up day.
pub(super) fn rolled_until(conn: &Connection) -> Result<HashMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT site, max(day_stop) FROM rollup_days GROUP BY site")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uncovered_parts_lie_between_and_around_the_spans() {
        assert_eq!(uncovered(0, 100, &[]), [(0, 100)]);
        assert_eq!(
            uncovered(0, 100, &[(0, 10), (20, 30)]),
            [(10, 20), (30, 100)]
        );
        assert_eq!(uncovered(0, 100, &[(0, 50), (50, 100)]), []);
        assert_eq!(uncovered(5, 100, &[(10, 20)]), [(5, 10), (20, 100)]);
    }
}
