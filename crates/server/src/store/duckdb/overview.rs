//! The overview: key figures of a period and the one before, and the
//! breakdowns of its sessions.

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::Filters;
use sonde_protocol::overview::{
    BotDay, Breakdown, BreakdownRow, KeyFigures, OverviewQuery, OverviewReport,
};

use super::counters::{self, Daily};
use super::rollup;
use super::scope::{OVERVIEW_DIMENSIONS, matching_sessions, sessions_sql};
use super::usage::usage_figures;
use super::visits::{quoted, view_page_views};
use crate::reports::Scope;
use crate::reports::overview::{self, VisitTotals};
use crate::store::StoreError;

/// Key figures of the period and the one before, and the breakdowns,
/// leaving out rows of fewer than `k` visitors (see
/// [`sonde_protocol::overview`] for the definitions); days on the calendar
/// of `timezone` (a session is cut at its midnight).
pub(super) fn overview(
    conn: &Connection,
    q: &OverviewQuery,
    timezone: Tz,
    k: u64,
) -> Result<OverviewReport, StoreError> {
    let (before_from, before_to) = q.versus.period(q.from, q.to);
    let previous = key_figures(conn, q, before_from, before_to, timezone)?;
    let current = key_figures(conn, q, q.from, q.to, timezone)?;
    // `counted_sessions` and `chosen_days` now hold the current period's.
    let breakdown = |sql: &str| breakdown(conn, sql, k);
    // Visitors are counted per day and added up, so a group's figures
    // are the counted sessions' and the rolled-up days' sums.
    let by_session = |column: &str| {
        format!(
            "SELECT label, sum(visitors)::BIGINT, sum(n)::BIGINT FROM (
                 SELECT {column} AS label, count(DISTINCT (day_start, visitor)) AS visitors,
                        count(*) AS n
                 FROM counted_sessions WHERE {column} IS NOT NULL GROUP BY {column}
                 UNION ALL
                 SELECT label, visitors, sessions FROM chosen_groups WHERE dimension = '{column}'
             ) GROUP BY label"
        )
    };
    let pages = if q.filters.is_empty() {
        // Every session: the usage report's pages, from the rollup.
        let scope = Scope::unfiltered(&q.site, q.from, q.to);
        let figures = usage_figures(conn, &scope, timezone)?;
        let rows: Vec<BreakdownRow> = figures
            .pages
            .into_iter()
            .map(|(label, counts)| BreakdownRow {
                label,
                visitors: counts.visitors,
                count: counts.views,
            })
            .collect();
        overview::breakdown(rows, k)
    } else if kept_filter(&q.filters).is_some() {
        // The rolled-up days' pages of the filter's visits are kept.
        breakdown(
            "SELECT path, sum(visitors)::BIGINT, sum(n)::BIGINT FROM (
                 SELECT v.path, count(DISTINCT (v.day_start, v.visitor_id)) AS visitors,
                        count(*) AS n
                 FROM views v JOIN counted_sessions c
                   ON v.session = c.session AND v.day_start = c.day_start
                 GROUP BY v.path
                 UNION ALL
                 SELECT label, visitors, views FROM chosen_groups WHERE dimension = 'page'
             ) GROUP BY path",
        )?
    } else {
        breakdown(
            "SELECT path, count(DISTINCT (day_start, visitor)), count(*) FROM (
                 SELECT v.path, v.day_start, v.visitor_id AS visitor
                 FROM views v JOIN counted_sessions c
                   ON v.session = c.session AND v.day_start = c.day_start
                 WHERE NOT c.rolled
                 UNION ALL
                 SELECT unnest(pages) AS path, day_start, visitor
                 FROM counted_sessions WHERE rolled
             ) GROUP BY path",
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
        bots: bots_per_day(conn, q, timezone)?,
        imported: None,
    })
}

/// The bots turned away on each of the site's days the period touches.
pub(super) fn bots_per_day(
    conn: &Connection,
    q: &OverviewQuery,
    timezone: Tz,
) -> Result<Vec<BotDay>, StoreError> {
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&timezone)
            .date_naive()
    };
    let days = counters::per_day(
        conn,
        Daily::BotRequests,
        &q.site,
        day(q.from),
        day(q.to - 1),
    )?;
    Ok(days
        .into_iter()
        .map(|(day, requests)| BotDay {
            day: day.to_string(),
            requests,
        })
        .collect())
}

/// The filters for which a rolled-up day keeps the overview's figures of
/// the visits that pass it, one filter and value at a time
/// (`rollup_day_filtered`, see [`roll_day_filtered`]): what a visit came
/// from and with, whose values are few. Pages have too many values to
/// keep every pair of them.
const KEPT_FILTERS: [&str; 7] = [
    "source", "medium", "campaign", "referrer", "browser", "os", "device",
];

/// The one filter of `filters` and its value, when it is the only one and
/// rolled-up days keep their figures for it.
fn kept_filter(filters: &Filters) -> Option<(&'static str, &str)> {
    let mut given = filters.given();
    let (key, value) = given.next()?;
    (given.next().is_none() && KEPT_FILTERS.contains(&key)).then_some((key, value))
}

/// Counts the overview's figures of one rolled-up day's visits
/// (`day_sessions`, with their pages) per value of each of
/// [`KEPT_FILTERS`]: the visits' totals, each breakdown's groups and their
/// pages, inside the rollup job's transaction for the day.
pub(super) fn roll_day_filtered(
    conn: &Connection,
    site: &str,
    start: i64,
) -> Result<(), StoreError> {
    let figures =
        "count(DISTINCT visitor), count(*), sum(views), count(*) FILTER (WHERE views = 1),
                   sum(duration_ms)";
    for filter in KEPT_FILTERS {
        let mut parts = vec![format!(
            "SELECT {filter}, 'total', '', {figures} FROM day_sessions
             WHERE {filter} IS NOT NULL GROUP BY {filter}"
        )];
        parts.extend(OVERVIEW_DIMENSIONS.iter().map(|dimension| {
            format!(
                "SELECT {filter}, '{dimension}', {dimension}, {figures} FROM day_sessions
                 WHERE {filter} IS NOT NULL AND {dimension} IS NOT NULL
                 GROUP BY {filter}, {dimension}"
            )
        }));
        // A page's visitors and views among the filter's visits.
        parts.push(format!(
            "SELECT {filter}, 'page', page, count(DISTINCT visitor), count(DISTINCT session),
                    count(*), 0, 0
             FROM (SELECT {filter}, visitor, session, unnest(pages) AS page FROM day_sessions
                   WHERE {filter} IS NOT NULL)
             GROUP BY {filter}, page"
        ));
        conn.execute(
            &format!(
                "INSERT INTO rollup_day_filtered
                 SELECT ?, ?, ?, * FROM ({})",
                parts.join(" UNION ALL ")
            ),
            params![site, start, filter],
        )?;
    }
    Ok(())
}

/// The key figures of the site's sessions in `[from, to)` (cut at the
/// site's midnight) that pass the filters. It leaves, for the breakdowns,
/// the temporary table `counted_sessions` (sessions counted from page
/// views, which `views` holds with their day) and the view `chosen_groups`
/// (the rolled-up days' groups read instead, without filters or with one
/// filter the rollup keeps, see [`kept_filter`]).
fn key_figures(
    conn: &Connection,
    q: &OverviewQuery,
    from: i64,
    to: i64,
    timezone: Tz,
) -> Result<KeyFigures, StoreError> {
    let rolled = rollup::rolled_days(conn, &q.site, timezone, from, to)?;
    let pieces = rollup::uncovered(from, to, &rolled);
    rollup::fill_day_granules(conn, &pieces, timezone)?;
    view_page_views(conn, &q.site, &pieces)?;
    let site = quoted(&q.site);
    let (matching, values) = matching_sessions(&q.filters);
    // The rolled-up days, written in.
    let rolled_days = if rolled.is_empty() {
        "FALSE".to_owned()
    } else {
        let starts: Vec<String> = rolled.iter().map(|(start, _)| start.to_string()).collect();
        format!("site = '{site}' AND day_start IN ({})", starts.join(", "))
    };
    // Without filters, or with one the rollup keeps, a rolled-up day's
    // sums stand for its visits (`chosen_days`); with others, its visits
    // that match are counted with the others (`rolled`: their page views
    // are in `pages`, not in `views`).
    let kept = kept_filter(&q.filters);
    let sums_stand = q.filters.is_empty() || kept.is_some();
    let rolled_visits = if sums_stand {
        String::new()
    } else {
        format!(
            "UNION ALL BY NAME
             SELECT * EXCLUDE (site), TRUE AS rolled FROM rollup_day_visits
             WHERE {rolled_days} AND {matching}"
        )
    };
    let values: Vec<&dyn duckdb::ToSql> = values
        .iter()
        .chain(if sums_stand { &[][..] } else { &values[..] })
        .map(|v| v as &dyn duckdb::ToSql)
        .collect();
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE counted_sessions AS
             SELECT *, FALSE AS rolled FROM ({sessions}) WHERE {matching}
             {rolled_visits}",
            sessions = sessions_sql(q.filters.page.is_some()),
        ),
        values.as_slice(),
    )?;
    // The rolled-up days' sums (`chosen_days`) and groups
    // (`chosen_groups`: dimension, label, visitors, sessions, views).
    let (chosen_days, chosen_groups) = match kept {
        _ if q.filters.is_empty() => (
            format!(
                "SELECT visitors, sessions, views, bounces, duration_ms FROM rollup_days
                 WHERE {rolled_days} AND timezone = '{}'",
                quoted(timezone.name())
            ),
            format!(
                "SELECT dimension, label, visitors, sessions, 0 AS views FROM rollup_day_groups
                 WHERE {rolled_days}"
            ),
        ),
        Some((filter, value)) => {
            let kept = format!(
                "SELECT dimension, label, visitors, sessions, views, bounces, duration_ms
                 FROM rollup_day_filtered
                 WHERE {rolled_days} AND filter = '{filter}' AND value = '{}'",
                quoted(value)
            );
            (
                format!(
                    "SELECT * EXCLUDE (dimension, label) FROM ({kept}) WHERE dimension = 'total'"
                ),
                format!("SELECT dimension, label, visitors, sessions, views FROM ({kept})"),
            )
        }
        None => (
            "SELECT 0 AS visitors, 0 AS sessions, 0 AS views, 0 AS bounces, 0 AS duration_ms
             WHERE FALSE"
                .to_owned(),
            "SELECT '' AS dimension, '' AS label, 0 AS visitors, 0 AS sessions, 0 AS views
             WHERE FALSE"
                .to_owned(),
        ),
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP VIEW chosen_days AS {chosen_days};
         CREATE OR REPLACE TEMP VIEW chosen_groups AS {chosen_groups};"
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
            Ok(overview::key_figures(VisitTotals {
                visitors: r.get::<_, i64>(0)? as u64,
                sessions: r.get::<_, i64>(1)? as u64,
                pageviews: r.get::<_, i64>(2)? as u64,
                bounces: r.get::<_, i64>(3)? as u64,
                duration_ms: r.get(4)?,
            }))
        },
    )?;
    Ok(figures)
}

/// Runs `sql` (label, visitors, count per group) and keeps the largest
/// groups of at least `k` visitors; the smaller ones are only counted.
fn breakdown(conn: &Connection, sql: &str, k: u64) -> Result<Breakdown, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows: Vec<BreakdownRow> = stmt
        .query_map([], |r| {
            Ok(BreakdownRow {
                label: r.get(0)?,
                visitors: r.get::<_, i64>(1)? as u64,
                count: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(overview::breakdown(rows, k))
}

#[cfg(test)]
mod tests {
    use sonde_protocol::overview::Filters;

    use super::super::testing::{labels, overview_fixture, overview_query};
    use super::*;
    use crate::store::data_roles::*;

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
                fewer_than_k: false,
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
                fewer_than_k: false,
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
}
