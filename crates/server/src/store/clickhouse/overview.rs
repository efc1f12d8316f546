//! The overview on the cluster, counted from the visits (see
//! [`crate::reports::overview`]): each session's page views on one day of
//! the site's calendar, of the sessions the filters select.

use chrono_tz::Tz;
use serde::Deserialize;
use sonde_protocol::overview::{BotDay, BreakdownRow, OverviewQuery, OverviewReport};

use super::scope::{day_start, events, live_events, matching_sessions, sessions_sql};
use super::topology::Topology;
use crate::reports::overview::{self, VisitTotals};
use crate::store::StoreError;

/// The overview of `q`, with the bots turned away on each day (counted
/// where the application's data is kept).
pub(super) fn overview(
    topology: &Topology,
    q: &OverviewQuery,
    timezone: Tz,
    k: u64,
    bots: Vec<BotDay>,
) -> Result<OverviewReport, StoreError> {
    let (before_from, before_to) = q.versus.period(q.from, q.to);
    let previous = visits(topology, q, before_from, before_to, timezone, false);
    let current = visits(topology, q, q.from, q.to, timezone, true);
    let breakdown = |label: &str, only: &str| -> Result<_, StoreError> {
        let rows: Vec<Group> = topology.rows_grouped_on_shards(&format!(
            "SELECT {label} AS label, uniqExact(day_start, visitor) AS visitors, count() AS n
             FROM ({current}) {only}
             GROUP BY label"
        ))?;
        Ok(overview::breakdown(
            rows.into_iter()
                .map(|g| BreakdownRow {
                    label: g.label,
                    visitors: g.visitors,
                    count: g.n,
                })
                .collect(),
            k,
        ))
    };
    let by_session = |column: &str| {
        breakdown(
            &format!("assumeNotNull({column})"),
            &format!("WHERE isNotNull({column})"),
        )
    };
    Ok(OverviewReport {
        current: key_figures(topology, &current)?,
        previous: key_figures(topology, &previous)?,
        k,
        pages: breakdown("page", "ARRAY JOIN pages AS page")?,
        entry_pages: by_session("entry")?,
        exit_pages: by_session("exit")?,
        sources: by_session("source")?,
        referrers: by_session("referrer")?,
        campaigns: by_session("campaign")?,
        browsers: by_session("browser")?,
        os: by_session("os")?,
        devices: by_session("device")?,
        bots,
        imported: None,
    })
}

#[derive(Deserialize)]
struct Group {
    label: String,
    visitors: u64,
    n: u64,
}

/// The visits of `[from, to)` that pass `q`'s filters, as SQL: read with
/// [`Topology::rows_grouped_on_shards`], a session living on one shard.
fn visits(
    topology: &Topology,
    q: &OverviewQuery,
    from: i64,
    to: i64,
    timezone: Tz,
    with_pages: bool,
) -> String {
    let db = &topology.placement.database;
    let sessions = sessions_sql(
        &events(db),
        &format!(
            "{} AND kind = 'page_view'",
            live_events(db, &q.site, from, to)
        ),
        &day_start(timezone),
        with_pages || q.filters.page.is_some(),
    );
    format!(
        "SELECT * FROM ({sessions}) WHERE {matching}",
        matching = matching_sessions(&q.filters)
    )
}

fn key_figures(
    topology: &Topology,
    visits: &str,
) -> Result<sonde_protocol::overview::KeyFigures, StoreError> {
    // Named apart from the visits' columns: 18.16 would read `sum(views)
    // AS views` as an aggregate inside itself.
    #[derive(Deserialize)]
    struct Totals {
        visitor_days: u64,
        visit_count: u64,
        view_count: u64,
        bounce_count: u64,
        total_duration_ms: f64,
    }
    let totals: Vec<Totals> = topology.rows_grouped_on_shards(&format!(
        "SELECT uniqExact(day_start, visitor) AS visitor_days, count() AS visit_count,
                sum(views) AS view_count, countIf(views = 1) AS bounce_count,
                toFloat64(sum(duration_ms)) AS total_duration_ms
         FROM ({visits})"
    ))?;
    let t = totals.into_iter().next().ok_or_else(|| {
        StoreError::Corrupt("the overview's key figures came back without a row".into())
    })?;
    Ok(overview::key_figures(VisitTotals {
        visitors: t.visitor_days,
        sessions: t.visit_count,
        pageviews: t.view_count,
        bounces: t.bounce_count,
        duration_ms: t.total_duration_ms,
    }))
}
