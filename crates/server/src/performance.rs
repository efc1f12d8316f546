//! The performance report: percentiles and ratings of web vitals
//! ([`summarize`], [`report`]), apart from any store, then the endpoint.
//! The definitions are in [`sonde_protocol::performance`].

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use sonde_protocol::errors::Conversion;
use sonde_protocol::performance::{
    LcpBucket, PagePerformance, PerformancePoint, PerformanceQuery, PerformanceReport, Rating,
    VitalSummary,
};
use sonde_protocol::{ApiError, Vital};

use crate::app::AppState;
use crate::auth::Reader;
use crate::buckets::Bucket;
use crate::error::AppError;
use crate::query::{self, Params};
use crate::store::{Scope, VitalRow};

/// The 75th percentile by nearest rank: the smallest sample that at least
/// 75 % of the samples do not exceed.
pub fn p75(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (values.len() * 3).div_ceil(4);
    values[rank - 1]
}

/// One metric's samples: p75, its rating, and the share of each rating.
pub fn summarize(metric: Vital, mut values: Vec<f64>) -> VitalSummary {
    let n = values.len() as f64;
    let share = |rating: Rating| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().filter(|v| metric.rate(**v) == rating).count() as f64 / n
        }
    };
    let (good, needs_improvement, poor) = (
        share(Rating::Good),
        share(Rating::NeedsImprovement),
        share(Rating::Poor),
    );
    let p75 = p75(&mut values);
    VitalSummary {
        metric,
        samples: values.len() as u64,
        p75,
        rating: metric.rate(p75),
        good,
        needs_improvement,
        poor,
    }
}

fn summaries(rows: &[&VitalRow]) -> Vec<VitalSummary> {
    let mut by_metric: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for row in rows {
        let order = Vital::ALL
            .iter()
            .position(|m| *m == row.metric)
            .unwrap_or(0);
        by_metric.entry(order).or_default().push(row.value);
    }
    by_metric
        .into_iter()
        .map(|(order, values)| summarize(Vital::ALL[order], values))
        .collect()
}

/// The report from the vitals (oldest first): the site, pages measured in
/// at least `k` visits, each bucket of time (of the site's calendar) with
/// vitals in it, and, given the visits that reached a goal, the goal's
/// conversion by the LCP of each visit's first page.
pub fn report(
    rows: &[VitalRow],
    buckets: &[Bucket],
    k: u64,
    goal: Option<(String, &HashSet<String>)>,
) -> PerformanceReport {
    let all: Vec<&VitalRow> = rows.iter().collect();
    let mut by_page: HashMap<&str, Vec<&VitalRow>> = HashMap::new();
    let mut by_bucket: BTreeMap<usize, Vec<&VitalRow>> = BTreeMap::new();
    let mut landing_lcp: HashMap<&str, f64> = HashMap::new();
    for row in rows {
        by_page.entry(&row.path).or_default().push(row);
        let bucket = buckets.partition_point(|b| b.stop <= row.ts);
        if bucket < buckets.len() {
            by_bucket.entry(bucket).or_default().push(row);
        }
        if row.metric == Vital::Lcp {
            landing_lcp.entry(&row.session).or_insert(row.value);
        }
    }
    let mut pages: Vec<(usize, PagePerformance)> = by_page
        .into_iter()
        .filter_map(|(path, rows)| {
            let visits: HashSet<&str> = rows.iter().map(|r| r.session.as_str()).collect();
            (visits.len() as u64 >= k).then(|| {
                (
                    visits.len(),
                    PagePerformance {
                        path: path.to_owned(),
                        vitals: summaries(&rows),
                    },
                )
            })
        })
        .collect();
    pages.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.path.cmp(&b.1.path)));
    let (goal_name, lcp_conversion) = match goal {
        None => (None, Vec::new()),
        Some((name, converted)) => {
            let buckets = [Rating::Good, Rating::NeedsImprovement, Rating::Poor].map(|rating| {
                let visits: Vec<&&str> = landing_lcp
                    .iter()
                    .filter(|(_, lcp)| Vital::Lcp.rate(**lcp) == rating)
                    .map(|(session, _)| session)
                    .collect();
                let won = visits.iter().filter(|s| converted.contains(***s)).count();
                LcpBucket {
                    rating,
                    conversion: Conversion::new(visits.len() as u64, won as u64),
                }
            });
            (Some(name), buckets.to_vec())
        }
    };
    PerformanceReport {
        site: summaries(&all),
        pages: pages.into_iter().map(|(_, p)| p).collect(),
        series: by_bucket
            .into_iter()
            .map(|(i, rows)| PerformancePoint {
                start: buckets[i].start,
                local: buckets[i].local.clone(),
                vitals: summaries(&rows),
            })
            .collect(),
        goal: goal_name,
        lcp_conversion,
        k,
        previous: None,
    }
}

/// `GET /api/performance?site=…&from=…&to=…[&goal=…]`
#[utoipa::path(
    get,
    path = "/api/performance",
    tag = "dashboard",
    params(PerformanceQuery),
    responses(
        (status = 200, description = "Web vitals at p75 with rating shares, per page and per day, and conversion by LCP", body = PerformanceReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 404, description = "Unknown site or goal", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn performance(
    State(app): State<AppState>,
    reader: Reader,
    Params(q): Params<PerformanceQuery>,
) -> Result<Json<PerformanceReport>, AppError> {
    query::check_period(q.from, q.to)?;
    query::check_length(q.from, q.to, crate::errors::MAX_DAYS)?;
    crate::usage::check_buckets(q.from, q.to, q.granularity)?;
    let site = query::site(&app, &reader, &q.site)?;
    let goal = match q.goal.clone() {
        Some(id) => {
            let goal: sonde_protocol::goal::SavedGoal =
                crate::saved::load(&app, &reader, id).await?;
            Some(goal.goal)
        }
        None => None,
    };
    let (store, k) = (app.store_handle(), app.min_group_size());
    let report = tokio::task::spawn_blocking(move || {
        let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
        let rows = store.vitals(&scope)?;
        // A visit converted when some event of it reached the goal.
        let converted: HashSet<String> = match &goal {
            Some(goal) => store
                .goal_hits(&scope, &goal.target)?
                .into_iter()
                .map(|(session, _)| session)
                .collect(),
            None => HashSet::new(),
        };
        let buckets = crate::buckets::buckets(q.from, q.to, q.granularity, site.timezone);
        let mut report = report(&rows, &buckets, k, goal.map(|g| (g.name, &converted)));
        if q.compare {
            let before = store.vitals(&scope.previous())?;
            report.previous = Some(summaries(&before.iter().collect::<Vec<_>>()));
        }
        Ok::<_, AppError>(report)
    })
    .await??;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p75_is_the_nearest_rank() {
        assert_eq!(p75(&mut [4.0, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(p75(&mut [5.0]), 5.0);
        assert_eq!(p75(&mut [1.0, 2.0, 3.0, 4.0, 5.0]), 4.0);
        assert_eq!(p75(&mut []), 0.0);
    }

    fn lcp(session: &str, path: &str, value: f64) -> VitalRow {
        VitalRow {
            session: session.into(),
            ts: 0,
            path: path.into(),
            metric: Vital::Lcp,
            value,
        }
    }

    #[test]
    fn vitals_are_rated_per_page_and_slow_landings_convert_worse() {
        let rows = vec![
            lcp("a", "/", 1_000.0),
            lcp("a", "/cart", 5_000.0),
            lcp("b", "/", 2_000.0),
            lcp("c", "/", 3_000.0),
            lcp("d", "/", 4_500.0),
            lcp("e", "/", 6_000.0),
        ];
        let converted: HashSet<String> = ["a", "b", "c"].map(String::from).into();
        let days = crate::buckets::buckets(
            0,
            2 * 86_400_000,
            sonde_protocol::Granularity::Day,
            chrono_tz::UTC,
        );
        let r = report(&rows, &days, 2, Some(("Purchase".into(), &converted)));
        assert_eq!(r.pages.len(), 1, "/cart was measured in one visit only");
        let home = &r.pages[0].vitals[0];
        assert_eq!((home.samples, home.p75), (5, 4_500.0));
        assert_eq!(home.rating, Rating::Poor);
        assert!((home.good - 0.4).abs() < 1e-9 && (home.poor - 0.4).abs() < 1e-9);
        let by: Vec<(Rating, u64, u64)> = r
            .lcp_conversion
            .iter()
            .map(|b| (b.rating, b.conversion.entered, b.conversion.converted))
            .collect();
        assert_eq!(
            by,
            [
                (Rating::Good, 2, 2),
                (Rating::NeedsImprovement, 1, 1),
                (Rating::Poor, 2, 0)
            ]
        );
        assert_eq!(r.site[0].samples, 6);
        // Every row is at time 0: one point, the first day's.
        assert_eq!(r.series.len(), 1);
        assert_eq!(
            (r.series[0].local.as_str(), r.series[0].vitals[0].samples),
            ("1970-01-01", 6)
        );
    }
}
