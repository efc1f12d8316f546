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
//! Filters select visits, which a day's totals cannot: a rolled-up day
//! also keeps its visits (`rollup_day_visits`, one row per visit with the
//! attributes filters and breakdowns read), and a filtered report reads
//! those for its rolled-up days.
//!
//! How far the rollup has come is what `rollup_days` holds, read from the
//! store whenever it is needed: every process on the store, and a store
//! reopened, knows which days are rolled up and which late page views take
//! a day out.

use std::collections::HashMap;

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::goal::Goal;
use sonde_protocol::{EventData, Granularity, SiteSettings};

use super::DuckDbStore;
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::usage::{Counts, DayFigures};
use crate::store::{RollupOutcome, StoreError, StoredEvent};

/// What the rollup holds and how it counts; rows of another version (an
/// older Sonde's) are dropped when the store opens and counted again.
const VERSION: i32 = 8;

/// The tables that hold what the rollup keeps of each day, besides the
/// day's row in `rollup_days` (which says whether they are read).
pub(super) const DAY_TABLES: [&str; 7] = [
    "rollup_day_pages",
    "rollup_day_groups",
    "rollup_day_visits",
    "rollup_day_filtered",
    "rollup_day_goals",
    "rollup_day_vitals",
    "rollup_day_vital_pages",
];

/// Drops rollup rows another version of Sonde wrote.
pub(super) fn drop_other_versions(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM rollup_days WHERE version IS DISTINCT FROM ?",
        [VERSION],
    )?;
    Ok(())
}

/// Every timezone's offset is a multiple of 15 minutes, so a day of any
/// site's calendar is a whole number of these slices.
pub(super) const GRANULE_MS: i64 = 15 * 60 * 1000;

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
/// `now_ms`, have events before them or on them, and are not rolled up:
/// oldest first.
fn pending_days(
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
        "SELECT epoch_ms(min(ts)) FROM events WHERE site = ? AND ts < epoch_ms(?::BIGINT)",
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
fn roll_day(
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
    for table in DAY_TABLES {
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
            columns = super::scope::VIEW_COLUMNS,
            sessions = super::scope::sessions_sql(true),
        ),
        params![start, site, start, stop],
    )?;
    tx.execute(
        "INSERT INTO rollup_day_visits BY NAME SELECT ? AS site, * FROM day_sessions",
        [site],
    )?;
    super::overview::roll_day_filtered(&tx, site, start)?;
    super::vitals::roll_day(&tx, site, (start, stop))?;
    for dimension in super::scope::OVERVIEW_DIMENSIONS {
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
fn unroll(conn: &Connection, site: &str, from: i64, to: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM rollup_days WHERE site = ? AND day_stop > ? AND day_start <= ?",
        params![site, from, to],
    )?;
    Ok(())
}

/// The end of the latest rolled-up day of each site: a page view before it
/// may change a rolled-up day.
fn rolled_until(conn: &Connection) -> Result<HashMap<String, i64>, StoreError> {
    // Not cached: a cached statement read back a wrong site name here.
    let mut stmt = conn.prepare("SELECT site, max(day_stop) FROM rollup_days GROUP BY site")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Takes the days that late page views and web vitals among `rows` fall
/// on out of the rollup, and the days late custom events fall on out of its goals'
/// conversions, before the rows are written.
pub(super) fn unroll_late_events<'e>(
    conn: &Connection,
    rows: impl Iterator<Item = &'e StoredEvent> + Clone,
) -> Result<(), StoreError> {
    // Most writes hold only events of days no site has rolled up yet; one
    // number tells, before the per-site read.
    let counted = |e: &StoredEvent| {
        matches!(
            e.data,
            EventData::PageView { .. } | EventData::Custom { .. } | EventData::Vital { .. }
        )
    };
    let Some(earliest) = rows.clone().filter(|e| counted(e)).map(|e| e.ts).min() else {
        return Ok(());
    };
    let latest_rolled: Option<i64> = conn
        .prepare_cached("SELECT max(day_stop) FROM rollup_days")?
        .query_row([], |r| r.get(0))?;
    if latest_rolled.is_none_or(|until| earliest >= until) {
        return Ok(());
    }
    let rolled_until = rolled_until(conn)?;
    // Per site, the span of its late page views and of its late custom
    // events.
    let mut late: HashMap<(&str, bool), (i64, i64)> = HashMap::new();
    for e in rows {
        let is_late = rolled_until
            .get(e.site.as_str())
            .is_some_and(|until| e.ts < *until);
        if is_late && counted(e) {
            // A late page view or web vital changes the day's rolled-up
            // figures; a late custom event only its goals' tallies.
            let is_view = !matches!(e.data, EventData::Custom { .. });
            let span = late
                .entry((e.site.as_str(), is_view))
                .or_insert((e.ts, e.ts));
            *span = (span.0.min(e.ts), span.1.max(e.ts));
        }
    }
    for ((site, is_view), (from, to)) in late {
        if is_view {
            unroll(conn, site, from, to)?;
        } else {
            super::conversions::unroll_goals(conn, site, from, to)?;
        }
    }
    Ok(())
}

/// Rolls up to `max_days` of `site`'s days that are over as of `now_ms`,
/// a day per hold of the store, so that writes and queries go on; then
/// tallies up to `max_days` rolled-up days against `goals` (see
/// [`super::conversions`]).
pub(super) fn roll_up(
    store: &DuckDbStore,
    site: &SiteSettings,
    goals: &[Goal],
    now_ms: i64,
    max_days: usize,
) -> Result<RollupOutcome, StoreError> {
    let timezone: Tz = site
        .timezone
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown timezone {:?}", site.timezone)))?;
    let pending = pending_days(&store.conn(), &site.key, timezone, now_ms)?;
    let mut rolled = 0;
    for day in pending.iter().take(max_days) {
        roll_day(&mut store.conn(), &site.key, timezone, day)?;
        rolled += 1;
    }
    let (goal_days, goal_days_left) =
        super::conversions::roll_up_goals(store, site, timezone, goals, max_days)?;
    Ok(RollupOutcome {
        rolled: rolled + goal_days,
        pending: pending.len() - rolled + goal_days_left,
    })
}

#[cfg(test)]
mod tests {
    use sonde_protocol::overview::{Filters, OverviewQuery};
    use sonde_protocol::usage::UsageQuery;

    use super::super::testing::{DAY, HOUR, MIDNIGHT, view};
    use super::*;
    use crate::store::data_roles::*;

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
                    if let EventData::PageView {
                        referrer, campaign, ..
                    } = &mut e.data
                    {
                        *referrer = ["news.example", "mail.example"]
                            .get(rng.random_range(0..4))
                            .map(|r| r.to_string());
                        if rng.random_range(0..5) == 0 {
                            campaign.source = Some("newsletter".into());
                            campaign.campaign = Some("spring".into());
                        }
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
                        versus: Default::default(),
                    };
                    let (a, b) = (
                        rolled.overview(&q, tz, 3).unwrap(),
                        counted.overview(&q, tz, 3).unwrap(),
                    );
                    assert_eq!(a, b, "{timezone} {why}: {q:?}");
                    assert!(a.current.sessions > 0 && !a.sources.rows.is_empty());
                    // Filters select visits: a rolled-up day's are read
                    // from its visits, the rest from the page views.
                    for (key, value) in [
                        ("source", "news.example"),
                        ("source", "newsletter"),
                        ("page", "/a"),
                        ("entry_page", "/b"),
                        ("campaign", "spring"),
                        ("referrer", "mail.example"),
                    ] {
                        q.filters = Filters::default();
                        q.filters.set(key, Some(value.into()));
                        let filtered = rolled.overview(&q, tz, 3).unwrap();
                        assert_eq!(
                            filtered,
                            counted.overview(&q, tz, 3).unwrap(),
                            "{timezone} {why}: {q:?}"
                        );
                        assert!(filtered.current.sessions > 0 || why.contains("retention"));
                    }
                }
            };
            same("before the roll-up");
            let turn = rolled.roll_up(&site, &[], now, 100).unwrap();
            assert_eq!(
                (turn.rolled, turn.pending),
                (12, 0),
                "{timezone}: the days before today"
            );
            assert_eq!(rolled.roll_up(&site, &[], now, 100).unwrap().rolled, 0);
            same("rolled up");

            // A late page view takes its day out until it is rolled again.
            let late = view("late", now - 3 * DAY, 7, "/late");
            write(&[late]);
            same("after a late page view");
            assert_eq!(rolled.roll_up(&site, &[], now, 100).unwrap().rolled, 1);
            same("rolled again");

            // An erasure deletes events of rolled-up days.
            for store in [&rolled, &counted] {
                store.erase("shop", 7, 0, &[], None).unwrap();
            }
            same("after an erasure");
            rolled.roll_up(&site, &[], now, 100).unwrap();
            same("rolled after the erasure");

            // Retention clears old campaigns: the days concerned are
            // counted again, without them.
            let mut short = site.clone();
            short.retention.marketing = 6;
            for store in [&rolled, &counted] {
                let cleared = store.apply_retention(&short, now).unwrap();
                assert!(cleared.campaigns_cleared > 0);
            }
            same("after retention cleared campaigns");
            rolled.roll_up(&site, &[], now, 100).unwrap();
            same("rolled after retention");

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
                versus: Default::default(),
            };
            let mut filtered = overview.clone();
            filtered.filters.set("page", Some("/e".into()));
            // A filter the rollup keeps the figures of.
            let mut by_source = overview.clone();
            by_source.filters.set("source", Some("news.example".into()));
            let before = rolled.overview(&overview, tz, 1).unwrap();
            let before_filtered = rolled.overview(&filtered, tz, 1).unwrap();
            let before_by_source = rolled.overview(&by_source, tz, 1).unwrap();
            assert!(before_filtered.current.sessions > 0);
            assert!(before_by_source.pages.rows.iter().any(|p| p.label == "/e"));
            rolled
                .conn()
                .execute_batch("DELETE FROM events WHERE path = '/e'")
                .unwrap();
            assert_eq!(rolled.overview(&overview, tz, 1).unwrap(), before);
            assert_eq!(
                rolled.overview(&filtered, tz, 1).unwrap(),
                before_filtered,
                "{timezone}: filtered, a rolled-up day's visits are read"
            );
            rolled
                .conn()
                .execute_batch("DELETE FROM rollup_day_visits")
                .unwrap();
            assert_eq!(
                rolled.overview(&by_source, tz, 1).unwrap(),
                before_by_source,
                "{timezone}: filtered by a source, a rolled-up day's figures for it are read"
            );
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
    fn the_uncovered_parts_lie_between_and_around_the_spans() {
        assert_eq!(uncovered(0, 100, &[]), [(0, 100)]);
        assert_eq!(
            uncovered(0, 100, &[(0, 10), (20, 30)]),
            [(10, 20), (30, 100)]
        );
        assert_eq!(uncovered(0, 100, &[(0, 50), (50, 100)]), []);
        assert_eq!(uncovered(5, 100, &[(10, 20)]), [(5, 10), (20, 100)]);
    }

    /// How far the rollup has come is the store's: a second store on the
    /// same file takes out a day for a late page view it writes after the
    /// first rolled the day up, and a store reopened rolls up nothing again
    /// and reads the same figures.
    #[test]
    fn the_rollups_progress_is_kept_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        let site = SiteSettings::new("shop", vec![]);
        let now = MIDNIGHT + 3 * DAY + HOUR;
        let q = UsageQuery {
            site: "shop".into(),
            from: MIDNIGHT,
            to: now,
            ..Default::default()
        };
        let rolled = |store: &DuckDbStore| -> Vec<i64> {
            let conn = store.conn();
            let mut stmt = conn
                .prepare("SELECT day_start FROM rollup_days ORDER BY day_start")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let figures = {
            let store = DuckDbStore::open(&file).unwrap();
            let other = store.second_handle().unwrap();
            store
                .write(&[
                    view("a", MIDNIGHT + HOUR, 1, "/"),
                    view("b", MIDNIGHT + DAY + HOUR, 2, "/cart"),
                ])
                .unwrap();
            assert_eq!(
                store.roll_up(&site, &[], now, 10).unwrap(),
                RollupOutcome {
                    rolled: 3,
                    pending: 0
                }
            );
            let before = store.usage(&q, Tz::UTC, 1).unwrap();
            other
                .write(&[view("late", MIDNIGHT + 2 * HOUR, 3, "/")])
                .unwrap();
            assert_eq!(rolled(&store), [MIDNIGHT + DAY, MIDNIGHT + 2 * DAY]);
            let after = store.usage(&q, Tz::UTC, 1).unwrap();
            assert_eq!(after.total_pageviews, before.total_pageviews + 1);
            assert_eq!(other.roll_up(&site, &[], now, 10).unwrap().rolled, 1);
            assert_eq!(store.usage(&q, Tz::UTC, 1).unwrap(), after);
            after
        };
        let store = DuckDbStore::open(&file).unwrap();
        assert_eq!(
            store.roll_up(&site, &[], now, 10).unwrap(),
            RollupOutcome {
                rolled: 0,
                pending: 0
            },
            "nothing to roll up again"
        );
        assert_eq!(
            rolled(&store),
            [MIDNIGHT, MIDNIGHT + DAY, MIDNIGHT + 2 * DAY]
        );
        assert_eq!(store.usage(&q, Tz::UTC, 1).unwrap(), figures);
        // A late page view after reopening takes its day out again.
        store
            .write(&[view("later", MIDNIGHT + DAY + 2 * HOUR, 4, "/")])
            .unwrap();
        assert_eq!(rolled(&store), [MIDNIGHT, MIDNIGHT + 2 * DAY]);
        assert_eq!(
            store.usage(&q, Tz::UTC, 1).unwrap().total_pageviews,
            figures.total_pageviews + 1
        );
    }
}
