//! The performance report, apart from any store: percentiles and ratings
//! of web vitals ([`summarize`], [`report`]) per page, per bucket and by
//! LCP against a goal's conversion. The definitions are in
//! [`sonde_protocol::performance`].
//!
//! # What a store provides
//!
//! Every stored web vital of the scope as a [`VitalRow`] (the collector
//! reports each metric once per page load), oldest first (time, then the
//! stored sequence number); and, with a goal, its hits (see
//! [`super::conversions`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use sonde_protocol::Vital;
use sonde_protocol::errors::Conversion;
use sonde_protocol::performance::{
    LcpBucket, PagePerformance, PerformancePoint, PerformanceReport, Rating, VitalSummary,
};

use super::buckets::Bucket;

/// A web vital as the performance page reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct VitalRow {
    pub session: String,
    pub ts: i64,
    pub path: String,
    pub metric: sonde_protocol::Vital,
    pub value: f64,
}

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

pub fn summaries(rows: &[&VitalRow]) -> Vec<VitalSummary> {
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
        let days = crate::reports::buckets::buckets(
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
