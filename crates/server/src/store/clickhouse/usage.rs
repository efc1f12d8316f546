//! The usage report on the cluster, counted from the events (see
//! [`crate::reports::usage`]).

use std::collections::HashMap;

use chrono_tz::Tz;
use serde::Deserialize;
use sonde_protocol::Granularity;
use sonde_protocol::usage::{UsageQuery, UsageReport};

use super::scope::{day_start, events, scoped};
use super::topology::Topology;
use crate::reports::Scope;
use crate::reports::buckets::{Bucket, buckets};
use crate::reports::usage::{self, Counts, DayFigures};
use crate::store::StoreError;

#[derive(Deserialize)]
struct Counted {
    bucket: i64,
    #[serde(default)]
    path: Option<String>,
    views: u64,
    visitors: u64,
}

impl Counted {
    fn counts(&self) -> Counts {
        Counts {
            views: self.views,
            visitors: self.visitors,
        }
    }
}

pub(super) fn usage(
    topology: &Topology,
    q: &UsageQuery,
    timezone: Tz,
    k: u64,
) -> Result<UsageReport, StoreError> {
    let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
    let figures = day_figures(topology, &scope, timezone)?;
    let buckets = buckets(q.from, q.to, q.granularity, timezone);
    let series = if q.granularity == Granularity::Hour {
        usage::series(&buckets, &per_bucket(topology, &scope, &buckets)?)
    } else {
        usage::daily_series(&buckets, &figures)
    };
    let previous = if q.compare {
        Some(day_figures(topology, &scope.versus(q.versus), timezone)?.total())
    } else {
        None
    };
    Ok(usage::report(series, &figures, previous, k))
}

/// The scope's page views and visitors per day of the calendar of
/// `timezone`, and per page and day added up.
pub(super) fn day_figures(
    topology: &Topology,
    scope: &Scope,
    timezone: Tz,
) -> Result<DayFigures, StoreError> {
    let db = &topology.placement.database;
    let views = format!(
        "FROM {events} WHERE {scoped} AND kind = 'page_view'",
        events = events(db),
        scoped = scoped(db, scope),
    );
    let day = day_start(timezone);
    let mut figures = DayFigures::default();
    let days: Vec<Counted> = topology.rows(&format!(
        "SELECT {day} AS bucket, count() AS views, uniqExact(visitor_id) AS visitors
         {views} GROUP BY bucket"
    ))?;
    for d in days {
        figures.days.insert(d.bucket, d.counts());
    }
    let pages: Vec<Counted> = topology.rows(&format!(
        "SELECT {day} AS bucket, path, count() AS views, uniqExact(visitor_id) AS visitors
         {views} GROUP BY bucket, path"
    ))?;
    for p in pages {
        let counts = p.counts();
        *figures.pages.entry(p.path.unwrap_or_default()).or_default() += counts;
    }
    Ok(figures)
}

/// The scope's page views and visitors in each of `buckets`, by the
/// bucket's start.
fn per_bucket(
    topology: &Topology,
    scope: &Scope,
    buckets: &[Bucket],
) -> Result<HashMap<i64, Counts>, StoreError> {
    let db = &topology.placement.database;
    let stops: Vec<String> = buckets.iter().map(|b| b.stop.to_string()).collect();
    let counted: Vec<Counted> = topology.rows(&format!(
        "SELECT arrayFirstIndex(stop -> stop > ts, [{stops}]) AS bucket,
                count() AS views, uniqExact(visitor_id) AS visitors
         FROM {events} WHERE {scoped} AND kind = 'page_view'
         GROUP BY bucket",
        stops = stops.join(", "),
        events = events(db),
        scoped = scoped(db, scope),
    ))?;
    Ok(counted
        .into_iter()
        .filter_map(|c| {
            let bucket = buckets.get(usize::try_from(c.bucket).ok()?.checked_sub(1)?)?;
            Some((bucket.start, c.counts()))
        })
        .collect())
}
