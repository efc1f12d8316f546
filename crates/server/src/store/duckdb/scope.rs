//! A report's scope in SQL: the condition that selects the events of a
//! site and period, and of the sessions its filters select (see
//! [`sonde_protocol::filters`]), and the one row per session the filters
//! and the overview's breakdowns read.

use duckdb::Connection;
use sonde_protocol::Filters;

use crate::reports::Scope;
use crate::store::StoreError;

/// The condition that selects a scope's events, with the placeholders of
/// [`scope_params`]: the site and period, and, when filters are given,
/// the sessions they select, which it first gathers in the temporary
/// table `scope_sessions`.
pub(super) fn scoped(conn: &Connection, scope: &Scope) -> Result<String, StoreError> {
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
pub(super) fn scope_params<'a>(scope: &'a Scope) -> [&'a dyn duckdb::ToSql; 3] {
    [&scope.site, &scope.from, &scope.to]
}

/// The overview's breakdowns of sessions: columns of [`sessions_sql`].
pub(super) const OVERVIEW_DIMENSIONS: [&str; 8] = [
    "entry", "exit", "source", "referrer", "campaign", "browser", "os", "device",
];

/// What [`sessions_sql`] reads of each page view.
///
/// `ord` orders a session's views: by time, then by the order of storing.
/// One 128-bit number compares about a third faster than the pair.
pub(super) const VIEW_COLUMNS: &str = "session_key AS session, visitor_id, ts, seq, \
    (epoch_ms(ts)::HUGEINT << 64) + seq AS ord, \
    path, referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device";

/// One row per session and day of the page views in `views` (with
/// [`VIEW_COLUMNS`] and `day_start`), with the attributes filters and
/// breakdowns read (see [`sonde_protocol::filters`]). The overview cuts a
/// session at the site's midnight (its visitor id changes there); reports
/// that filter whole sessions give every view the same `day_start`. A
/// session's list of pages (the path of every view, in order) is costly
/// to build; only the page filter and the rollup's visits read it.
pub(super) fn sessions_sql(with_pages: bool) -> String {
    let pages = if with_pages {
        "list(path ORDER BY ord)"
    } else {
        "NULL::VARCHAR[]"
    };
    // The first page view is the earliest, the first stored among equals;
    // `arg_min_null` takes its value even when it is NULL (`arg_min` would
    // skip to the first page view that has one).
    format!(
        "SELECT session, day_start, any_value(visitor_id) AS visitor, count(*) AS views,
                epoch_ms(min(ts)) AS start_ms, epoch_ms(max(ts)) - epoch_ms(min(ts)) AS duration_ms,
                arg_min(path, ord) AS entry, arg_max(path, ord) AS exit,
                coalesce(arg_min_null(utm_source, ord), arg_min_null(referrer_host, ord), 'direct')
                    AS source,
                coalesce(arg_min_null(referrer_host, ord), 'direct') AS referrer,
                arg_min_null(utm_medium, ord) AS medium,
                arg_min_null(utm_campaign, ord) AS campaign,
                any_value(browser) AS browser, any_value(os) AS os, any_value(device) AS device,
                {pages} AS pages
         FROM views GROUP BY session, day_start"
    )
}

/// The condition a row of [`sessions_sql`] meets when it matches every
/// filter given, and the values of its placeholders in order.
pub(super) fn matching_sessions(filters: &Filters) -> (String, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;
    use sonde_protocol::funnel::{FunnelDefinition, FunnelUnit, Step};
    use sonde_protocol::overview::Filters;
    use sonde_protocol::usage::{UsageQuery, UsageTotals};
    use sonde_protocol::{EventData, Granularity, Vital};

    use super::super::DuckDbStore;
    use super::super::testing::{
        DAY, HOUR, MIDNIGHT, error, labels, overview_fixture, overview_query, visit,
    };
    use crate::reports::Scope;
    use crate::store::data_roles::*;

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
                .visits(scope, chrono_tz::UTC)
                .unwrap()
                .into_iter()
                .map(|v| v.session)
                .collect();
            v.sort();
            v
        };
        // The rows name a session by its key.
        let named = |sessions: &[&str]| {
            let mut names: Vec<String> = sessions
                .iter()
                .map(|s| crate::store::event_row::session_key(s).to_string())
                .collect();
            names.sort();
            names
        };
        assert_eq!(visits(&scope), named(&["s1", "s4"]));
        assert_eq!(visits(&all), named(&["s1", "s2", "s3", "s4", "s5"]));
        // The errors report follows only the visits with errors.
        assert_eq!(visits(&all.with_errors()), named(&["s1", "s2"]));
        assert_eq!(visits(&scope.with_errors()), named(&["s1"]));
        assert_eq!(store.visit_count(&scope, chrono_tz::UTC).unwrap(), 2);
        let errors: Vec<String> = store
            .errors(&scope)
            .unwrap()
            .into_iter()
            .map(|e| e.session)
            .collect();
        assert_eq!(errors, named(&["s1"]));
        assert_eq!(store.errors(&all).unwrap().len(), 2);
        let vitals: Vec<f64> = store
            .vitals(&scope, chrono_tz::UTC)
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
        let purchase = sonde_protocol::goal::Goal {
            name: "Purchase".into(),
            target: purchase,
            value: None,
        };
        let conversions = |scope: &Scope| {
            store
                .conversion_tallies(scope, chrono_tz::UTC, &purchase, &[])
                .unwrap()
                .totals
                .conversions
        };
        assert_eq!(conversions(&scope), 2);
        assert_eq!(
            conversions(&Scope::new(
                "shop",
                day.0,
                day.1,
                &filtered("device", "mobile")
            )),
            0
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
                        versus: Default::default(),
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
}
