//! The usage report: page views and visitors over time, and the top pages.

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::Granularity;
use sonde_protocol::usage::{UsagePoint, UsageQuery, UsageReport};

use super::buckets::BucketJoin;
use super::rollup;
use super::scope::scoped;
use crate::reports::Scope;
use crate::reports::usage::{self, Counts, DayFigures};
use crate::store::StoreError;

/// Page views and unique visitors per bucket of the site's calendar (every
/// bucket of the range, empty ones as zero), and the top pages: those seen
/// by fewer than `k` visitors are counted, not listed.
pub(super) fn usage(
    conn: &Connection,
    q: &UsageQuery,
    timezone: Tz,
    k: u64,
) -> Result<UsageReport, StoreError> {
    let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
    let figures = usage_figures(conn, &scope, timezone)?;
    let buckets = crate::reports::buckets::buckets(q.from, q.to, q.granularity, timezone);
    let series = if q.granularity == Granularity::Hour {
        // An hour is part of a day: counted from the events.
        let range = format!("{} AND kind = 'page_view'", scoped(conn, &scope)?);
        usage_series(conn, q, &buckets, &range)?
    } else {
        usage::daily_series(&buckets, &figures)
    };
    let previous = if q.compare {
        Some(usage_figures(conn, &scope.versus(q.versus), timezone)?.total())
    } else {
        None
    };
    Ok(usage::report(series, &figures, previous, k))
}

/// A scope's page views and visitors per day and per page: unfiltered,
/// from the rollup where it has the day.
pub(super) fn usage_figures(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
) -> Result<DayFigures, StoreError> {
    let condition = scoped(conn, scope)?;
    rollup::day_figures(conn, scope, timezone, &condition, scope.filters.is_empty())
}

/// Page views and unique visitors per bucket, every bucket of `buckets`
/// (the empty ones as zero), counted within the query's `[from, to)`.
///
/// (See [`BucketJoin`] for how views meet their buckets.)
fn usage_series(
    conn: &Connection,
    q: &UsageQuery,
    buckets: &[crate::reports::buckets::Bucket],
    range: &str,
) -> Result<Vec<UsagePoint>, StoreError> {
    let join = BucketJoin::fill(conn, buckets, q.from, q.to)?;
    let sql = format!(
        "SELECT start, count(*), count(DISTINCT visitor_id) FROM ({}) GROUP BY start",
        join.join(&format!("SELECT ts, visitor_id FROM events WHERE {range}"))
    );
    let mut stmt = conn.prepare(&sql)?;
    let counted: std::collections::HashMap<i64, Counts> = stmt
        .query_map(params![q.site, q.from, q.to], |r| {
            Ok((
                r.get(0)?,
                Counts {
                    views: r.get::<_, i64>(1)? as u64,
                    visitors: r.get::<_, i64>(2)? as u64,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(usage::series(buckets, &counted))
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbStore;
    use super::super::testing::{DAY, HOUR, MIDNIGHT, view};
    use super::*;
    use crate::store::StoredEvent;
    use crate::store::data_roles::*;

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
