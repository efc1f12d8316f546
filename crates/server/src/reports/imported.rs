//! How imported days join a report (see [`sonde_protocol::imported`]):
//! only where a day's figures are all that is asked, that is the key
//! figures and the series by day, week or month without filters. A day
//! belongs to the period and the bucket that hold its noon on the site's
//! calendar, as a period cut at another timezone's midnight holds most of
//! it then.
//!
//! # What a store provides
//! The site's imported days of the period's calendar days, oldest first,
//! and their rows summed per dimension and label
//! ([`crate::store::ImportedStore`]).

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use sonde_protocol::Granularity;
use sonde_protocol::imported::{ImportedDay, ImportedFigures, ImportedRow, PLAUSIBLE};
use sonde_protocol::overview::KeyFigures;
use sonde_protocol::usage::{UsageReport, UsageTotals};

use super::buckets::Bucket;

/// Imported rows listed per dimension, at most.
pub const TOP_ROWS: usize = 10;

/// Whether a report asked this way takes imported days: not by the hour
/// (an import has no hours) and not under a filter (nor visits).
pub fn applies(granularity: Option<Granularity>, filtered: bool) -> bool {
    !filtered && granularity != Some(Granularity::Hour)
}

/// The calendar days to ask the store for, for `[from, to)`: from the day
/// of `from` to the day of the instant before `to`.
pub fn calendar_days(from: i64, to: i64, timezone: Tz) -> (String, String) {
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&timezone)
            .date_naive()
            .to_string()
    };
    (day(from), day(to - 1))
}

/// A day's noon on the site's calendar, ms since the epoch.
fn noon(day: &str, timezone: Tz) -> Option<i64> {
    let day: NaiveDate = day.parse().ok()?;
    timezone
        .from_local_datetime(&day.and_hms_opt(12, 0, 0)?)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The days of `days` that belong to `[from, to)`.
pub fn within(days: Vec<ImportedDay>, from: i64, to: i64, timezone: Tz) -> Vec<ImportedDay> {
    days.into_iter()
        .filter(|d| noon(&d.day, timezone).is_some_and(|n| from <= n && n < to))
        .collect()
}

/// What `days` (already [`within`] the period) add, with the period's
/// rows of at least `k` visitors; `None` without days.
pub fn figures(days: &[ImportedDay], rows: Vec<ImportedRow>, k: u64) -> Option<ImportedFigures> {
    let (first, last) = (days.first()?, days.last()?);
    let mut rows: Vec<ImportedRow> = rows.into_iter().filter(|r| r.visitors >= k).collect();
    rows.sort_by(|a, b| {
        (a.dimension, b.visitors, &a.label).cmp(&(b.dimension, a.visitors, &b.label))
    });
    let mut listed = Vec::new();
    for dimension in sonde_protocol::imported::ImportedDimension::ALL {
        listed.extend(
            rows.iter()
                .filter(|r| r.dimension == dimension)
                .take(TOP_ROWS)
                .cloned(),
        );
    }
    Some(ImportedFigures {
        source: PLAUSIBLE.into(),
        first_day: first.day.clone(),
        last_day: last.day.clone(),
        days: days.len() as u64,
        visitors: days.iter().map(|d| d.visitors).sum(),
        visits: days.iter().map(|d| d.visits).sum(),
        pageviews: days.iter().map(|d| d.pageviews).sum(),
        rows: listed,
    })
}

/// Adds the days to key figures: counts add up, and the ratios are
/// weighted by the visits of each side.
pub fn add_to_key_figures(figures: &mut KeyFigures, days: &[ImportedDay]) {
    if days.is_empty() {
        return;
    }
    let sum = |f: fn(&ImportedDay) -> u64| days.iter().map(f).sum::<u64>();
    let own_sessions = figures.sessions as f64;
    let visits = sum(|d| d.visits);
    figures.visitors += sum(|d| d.visitors);
    figures.pageviews += sum(|d| d.pageviews);
    figures.sessions += visits;
    let sessions = figures.sessions as f64;
    if sessions > 0.0 {
        figures.views_per_session = figures.pageviews as f64 / sessions;
        figures.bounce_rate =
            (figures.bounce_rate * own_sessions + sum(|d| d.bounces) as f64) / sessions;
        figures.avg_duration_ms = (figures.avg_duration_ms * own_sessions
            + sum(|d| d.visit_duration_s) as f64 * 1000.0)
            / sessions;
    }
}

/// Adds the days to a period's page views and visitors.
pub fn add_to_totals(totals: &mut UsageTotals, days: &[ImportedDay]) {
    totals.pageviews += days.iter().map(|d| d.pageviews).sum::<u64>();
    totals.visitors += days.iter().map(|d| d.visitors).sum::<u64>();
}

/// Adds the days to a usage report's totals and to the buckets of its
/// series (its points are `buckets`' in order) that hold their noon.
pub fn add_to_usage(
    report: &mut UsageReport,
    days: &[ImportedDay],
    buckets: &[Bucket],
    timezone: Tz,
) {
    for day in days {
        report.total_pageviews += day.pageviews;
        report.total_visitors += day.visitors;
        let Some(noon) = noon(&day.day, timezone) else {
            continue;
        };
        if let Some(i) = buckets
            .iter()
            .position(|b| b.start <= noon && noon < b.stop)
            && let Some(point) = report.series.get_mut(i)
        {
            point.pageviews += day.pageviews;
            point.visitors += day.visitors;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::buckets::buckets;
    use sonde_protocol::UsagePoint;
    use sonde_protocol::imported::ImportedDimension;

    const DAY: i64 = 86_400_000;
    /// 2025-11-03T00:00:00Z, a Monday.
    const MONDAY: i64 = 1_762_128_000_000;

    fn day(day: &str, visitors: u64) -> ImportedDay {
        ImportedDay {
            day: day.into(),
            visitors,
            visits: visitors,
            pageviews: 2 * visitors,
            bounces: visitors / 2,
            visit_duration_s: 30 * visitors,
        }
    }

    #[test]
    fn a_day_belongs_to_the_period_that_holds_its_noon() {
        let days = vec![
            day("2025-11-02", 1),
            day("2025-11-03", 2),
            day("2025-11-09", 3),
        ];
        let berlin = chrono_tz::Europe::Berlin;
        // A week of UTC days: 1 am to 1 am in Berlin, most of each Berlin day.
        let kept = within(days.clone(), MONDAY, MONDAY + 7 * DAY, berlin);
        assert_eq!(
            kept.iter().map(|d| d.day.as_str()).collect::<Vec<_>>(),
            ["2025-11-03", "2025-11-09"]
        );
        assert_eq!(
            calendar_days(MONDAY, MONDAY + 7 * DAY, berlin),
            ("2025-11-03".into(), "2025-11-10".into())
        );
        assert!(applies(Some(Granularity::Day), false));
        assert!(
            !applies(Some(Granularity::Hour), false),
            "no hours in an import"
        );
        assert!(!applies(None, true), "no visits to filter");
    }

    #[test]
    fn imported_visits_weigh_in_the_ratios_as_much_as_sonde_s_own() {
        let mut own = KeyFigures {
            visitors: 10,
            sessions: 10,
            pageviews: 30,
            views_per_session: 3.0,
            bounce_rate: 0.5,
            avg_duration_ms: 60_000.0,
            fewer_than_k: false,
        };
        // 10 visits, 20 page views, 5 bounces, 300 s in all.
        add_to_key_figures(&mut own, &[day("2025-11-03", 10)]);
        assert_eq!((own.visitors, own.sessions, own.pageviews), (20, 20, 50));
        assert_eq!(own.views_per_session, 2.5);
        assert_eq!(own.bounce_rate, 0.5);
        assert_eq!(own.avg_duration_ms, (600_000.0 + 300_000.0) / 20.0);
    }

    #[test]
    fn a_day_adds_to_the_bucket_that_holds_it() {
        let weeks = buckets(MONDAY, MONDAY + 14 * DAY, Granularity::Week, Tz::UTC);
        let mut report = UsageReport {
            series: weeks
                .iter()
                .map(|b| UsagePoint {
                    start: b.start,
                    local: b.local.clone(),
                    pageviews: 1,
                    visitors: 1,
                })
                .collect(),
            total_pageviews: 2,
            total_visitors: 2,
            ..UsageReport::default()
        };
        add_to_usage(
            &mut report,
            &[day("2025-11-04", 5), day("2025-11-12", 7)],
            &weeks,
            Tz::UTC,
        );
        assert_eq!(
            report.series.iter().map(|p| p.visitors).collect::<Vec<_>>(),
            [6, 8]
        );
        assert_eq!((report.total_visitors, report.total_pageviews), (14, 26));
    }

    #[test]
    fn the_summary_lists_rows_of_k_visitors_or_more_by_dimension() {
        let row = |dimension, label: &str, visitors| ImportedRow {
            dimension,
            label: label.into(),
            visitors,
            visits: visitors,
            pageviews: visitors,
        };
        let summary = figures(
            &[day("2025-11-03", 10), day("2025-11-04", 4)],
            vec![
                row(ImportedDimension::Source, "Google", 9),
                row(ImportedDimension::Page, "/", 12),
                row(ImportedDimension::Page, "/secret", 2),
                row(ImportedDimension::Page, "/pricing", 12),
            ],
            5,
        )
        .unwrap();
        assert_eq!(
            (summary.first_day.as_str(), summary.last_day.as_str()),
            ("2025-11-03", "2025-11-04")
        );
        assert_eq!(
            (summary.days, summary.visitors, summary.pageviews),
            (2, 14, 28)
        );
        assert_eq!(
            summary
                .rows
                .iter()
                .map(|r| r.label.as_str())
                .collect::<Vec<_>>(),
            ["/", "/pricing", "Google"]
        );
        assert_eq!(figures(&[], vec![], 5), None);
    }
}
