//! The performance report, apart from any store: percentiles and ratings
//! of web vitals per page, per bucket and by LCP against a goal's
//! conversion. The definitions are in [`sonde_protocol::performance`].
//!
//! # What a store provides
//!
//! The report is built ([`report`]) from what a store counts of the scope's
//! web vitals (the collector reports each metric once per page load):
//!
//! - [`VitalTallies`]: per metric, of the whole scope, of each page and of
//!   each bucket, the samples, their 75th percentile by nearest rank
//!   ([`p75`]) and how many rate good and poor; and each page's visits.
//!   [`tally`] defines them from the [`VitalRow`]s.
//! - With a goal, [`LandingTally`]s: each visit's first LCP (oldest first:
//!   time, then the stored sequence number) rated, and whether the visit
//!   reached the goal. [`landing_tally`] defines them.

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

/// Which samples a tally counts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VitalGroup {
    /// Every sample of the scope.
    Scope,
    /// The samples measured on one page.
    Page(String),
    /// The samples of one bucket of time, by its index in the buckets.
    Bucket(usize),
}

/// One metric's samples in one group.
#[derive(Clone, Debug, PartialEq)]
pub struct VitalTally {
    pub group: VitalGroup,
    pub metric: Vital,
    pub samples: u64,
    pub p75: f64,
    /// Samples rated good, and poor ([`Vital::rate`]).
    pub good: u64,
    pub poor: u64,
}

/// What the report reads of a scope's web vitals, sorted: tallies by
/// group, then metric in the order of [`Vital::ALL`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VitalTallies {
    pub tallies: Vec<VitalTally>,
    /// The distinct visits each page was measured in (any metric).
    pub page_visits: BTreeMap<String, u64>,
}

fn metric_order(metric: Vital) -> usize {
    Vital::ALL.iter().position(|m| *m == metric).unwrap_or(0)
}

impl VitalTallies {
    /// Sorts as the definition does, so that stores need not.
    pub fn sort(&mut self) {
        self.tallies.sort_by(|a, b| {
            (&a.group, metric_order(a.metric)).cmp(&(&b.group, metric_order(b.metric)))
        });
    }
}

/// The tallies of `rows` (any order), with buckets by `buckets`.
pub fn tally(rows: &[VitalRow], buckets: &[Bucket]) -> VitalTallies {
    let mut samples: HashMap<(VitalGroup, usize), Vec<f64>> = HashMap::new();
    let mut visits: HashMap<&str, HashSet<&str>> = HashMap::new();
    for row in rows {
        let metric = metric_order(row.metric);
        let mut groups = vec![VitalGroup::Scope, VitalGroup::Page(row.path.clone())];
        let bucket = buckets.partition_point(|b| b.stop <= row.ts);
        if bucket < buckets.len() && buckets[bucket].start <= row.ts {
            groups.push(VitalGroup::Bucket(bucket));
        }
        for group in groups {
            samples.entry((group, metric)).or_default().push(row.value);
        }
        visits.entry(&row.path).or_default().insert(&row.session);
    }
    let mut tallies = VitalTallies {
        tallies: samples
            .into_iter()
            .map(|((group, metric), mut values)| {
                let metric = Vital::ALL[metric];
                let rated = |rating| values.iter().filter(|v| metric.rate(**v) == rating).count();
                let (good, poor) = (rated(Rating::Good) as u64, rated(Rating::Poor) as u64);
                VitalTally {
                    group,
                    metric,
                    samples: values.len() as u64,
                    p75: p75(&mut values),
                    good,
                    poor,
                }
            })
            .collect(),
        page_visits: visits
            .into_iter()
            .map(|(path, sessions)| (path.to_owned(), sessions.len() as u64))
            .collect(),
    };
    tallies.sort();
    tallies
}

/// The visits whose first LCP got one rating, and those of them that
/// reached the goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LandingTally {
    pub rating: Rating,
    pub visits: u64,
    pub converted: u64,
}

/// The ratings in the order the report lists them.
pub const RATINGS: [Rating; 3] = [Rating::Good, Rating::NeedsImprovement, Rating::Poor];

/// Each visit of `rows` (oldest first) rated by its first LCP, against the
/// visits that reached the goal.
pub fn landing_tally(rows: &[VitalRow], converted: &HashSet<String>) -> [LandingTally; 3] {
    let mut landing_lcp: HashMap<&str, f64> = HashMap::new();
    for row in rows.iter().filter(|r| r.metric == Vital::Lcp) {
        landing_lcp.entry(&row.session).or_insert(row.value);
    }
    RATINGS.map(|rating| {
        let visits: Vec<&str> = landing_lcp
            .iter()
            .filter(|(_, lcp)| Vital::Lcp.rate(**lcp) == rating)
            .map(|(session, _)| *session)
            .collect();
        LandingTally {
            rating,
            visits: visits.len() as u64,
            converted: visits.iter().filter(|s| converted.contains(**s)).count() as u64,
        }
    })
}

fn summary(t: &VitalTally) -> VitalSummary {
    let share = |count: u64| {
        if t.samples == 0 {
            0.0
        } else {
            count as f64 / t.samples as f64
        }
    };
    VitalSummary {
        metric: t.metric,
        samples: t.samples,
        p75: t.p75,
        rating: t.metric.rate(t.p75),
        good: share(t.good),
        needs_improvement: share(t.samples - t.good - t.poor),
        poor: share(t.poor),
    }
}

/// The summaries of one group, in the order of [`Vital::ALL`].
pub fn summaries(tallies: &VitalTallies, group: &VitalGroup) -> Vec<VitalSummary> {
    tallies
        .tallies
        .iter()
        .filter(|t| &t.group == group)
        .map(summary)
        .collect()
}

/// The report from the tallies: the scope, pages measured in at least `k`
/// visits (most visits first), each bucket of time (of the site's
/// calendar) with vitals in it, and, given a goal's name and the landing
/// tallies, the goal's conversion by the LCP of each visit's first page.
pub fn report(
    tallies: &VitalTallies,
    buckets: &[Bucket],
    k: u64,
    goal: Option<(String, [LandingTally; 3])>,
) -> PerformanceReport {
    let mut by_group: BTreeMap<&VitalGroup, Vec<VitalSummary>> = BTreeMap::new();
    for t in &tallies.tallies {
        by_group.entry(&t.group).or_default().push(summary(t));
    }
    let mut site = Vec::new();
    let mut pages = Vec::new();
    let mut series = Vec::new();
    for (group, vitals) in by_group {
        match group {
            VitalGroup::Scope => site = vitals,
            VitalGroup::Page(path) => {
                let visits = tallies.page_visits.get(path).copied().unwrap_or(0);
                if visits >= k {
                    let path = path.clone();
                    pages.push((visits, PagePerformance { path, vitals }));
                }
            }
            VitalGroup::Bucket(i) => {
                if let Some(bucket) = buckets.get(*i) {
                    series.push(PerformancePoint {
                        start: bucket.start,
                        local: bucket.local.clone(),
                        vitals,
                    });
                }
            }
        }
    }
    pages.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.path.cmp(&b.1.path)));
    let (goal, lcp_conversion) = match goal {
        None => (None, Vec::new()),
        Some((name, landing)) => (
            Some(name),
            landing
                .iter()
                .map(|t| LcpBucket {
                    rating: t.rating,
                    conversion: Conversion::new(t.visits, t.converted),
                })
                .collect(),
        ),
    };
    PerformanceReport {
        site,
        pages: pages.into_iter().map(|(_, p)| p).collect(),
        series,
        goal,
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
        let tallies = tally(&rows, &days);
        let landing = landing_tally(&rows, &converted);
        let r = report(&tallies, &days, 2, Some(("Purchase".into(), landing)));
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
