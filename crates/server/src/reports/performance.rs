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
//!   each bucket, the samples, their 75th percentile ([`p75`]) and how many
//!   rate good and poor; and each page's visits. [`tally`] defines them
//!   from the [`VitalRow`]s.
//! - With a goal, [`LandingTally`]s: each visit's first LCP (oldest first:
//!   time, then the stored sequence number) rated, and whether the visit
//!   reached the goal. [`landing_tally`] defines them.
//!
//! A visit is a session's day on the site's calendar, as everywhere else
//! in Sonde: a finished day's figures never change, so a store can keep
//! them ([`crate::store`]'s rollup) and add them up over a period.
//!
//! # Percentiles from bins
//!
//! A percentile does not add up over days, but a count of samples per bin
//! does. Samples are therefore counted in bins that grow by a constant
//! factor ([`bin`]): the 75th percentile is the value that stands for the
//! bin of the sample of nearest rank ([`bin_value`]), within
//! [`RELATIVE_ACCURACY`] of that sample (the scheme of DDSketch). The
//! rating and the shares of good and poor samples are counted from the
//! samples themselves, so they are exact: the 75th percentile rates good
//! exactly when three quarters of the samples do ([`rating_of_p75`]).

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
    /// The start of the row's day on the site's calendar: with the
    /// session, its visit.
    pub day_start: i64,
    pub ts: i64,
    pub path: String,
    pub metric: sonde_protocol::Vital,
    pub value: f64,
}

/// How far the value of a bin may be from any sample in it, relative to
/// the sample.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Samples below this share one bin, whose value is 0 (a layout shift of
/// less than a thousandth, a paint in less than a microsecond).
pub const SMALLEST_SAMPLE: f64 = 0.001;

/// The bin of the samples below [`SMALLEST_SAMPLE`].
pub const ZERO_BIN: i32 = -100_000;

/// The logarithm of the factor by which each bin's upper edge exceeds the
/// one before: bin `i` holds the samples in `(γ^(i-1), γ^i]`, with
/// `γ = (1 + a) / (1 - a)` for the accuracy `a`. A store that bins in SQL
/// divides by this same number.
pub fn ln_bin_growth() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// The bin a sample is counted in.
pub fn bin(value: f64) -> i32 {
    if value < SMALLEST_SAMPLE {
        ZERO_BIN
    } else {
        (value.ln() / ln_bin_growth()).ceil() as i32
    }
}

/// The value a bin stands for: `2γ^i / (γ + 1)`, within
/// [`RELATIVE_ACCURACY`] of both its edges.
pub fn bin_value(bin: i32) -> f64 {
    if bin == ZERO_BIN {
        return 0.0;
    }
    let growth = ln_bin_growth().exp();
    2.0 * (f64::from(bin) * ln_bin_growth()).exp() / (growth + 1.0)
}

/// The rank of the 75th percentile among `samples` sorted samples (from
/// 1): the smallest that at least 75 % of them do not exceed.
pub fn p75_rank(samples: u64) -> u64 {
    (samples * 3).div_ceil(4)
}

/// The 75th percentile of samples (any order): the value of the bin of
/// the sample of nearest rank ([`p75_rank`]); 0 without samples.
pub fn p75(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = p75_rank(values.len() as u64) as usize;
    bin_value(bin(values[rank - 1]))
}

/// The rating of the 75th percentile of `samples`, of which `good` rate
/// good and `poor` poor: good when at least its rank of them are, poor
/// when fewer than its rank are not. The same as rating the exact
/// percentile, which the bin's value only approaches.
pub fn rating_of_p75(samples: u64, good: u64, poor: u64) -> Rating {
    let rank = p75_rank(samples);
    if good >= rank {
        Rating::Good
    } else if samples - poor >= rank {
        Rating::NeedsImprovement
    } else {
        Rating::Poor
    }
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
    /// The visits each page was measured in (any metric).
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
    let mut visits: HashMap<&str, HashSet<(&str, i64)>> = HashMap::new();
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
        visits
            .entry(&row.path)
            .or_default()
            .insert((&row.session, row.day_start));
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
/// visits (session and day) that reached the goal.
pub fn landing_tally(rows: &[VitalRow], converted: &HashSet<(String, i64)>) -> [LandingTally; 3] {
    let mut landing_lcp: HashMap<(&str, i64), f64> = HashMap::new();
    for row in rows.iter().filter(|r| r.metric == Vital::Lcp) {
        landing_lcp
            .entry((&row.session, row.day_start))
            .or_insert(row.value);
    }
    RATINGS.map(|rating| {
        let visits: Vec<(&str, i64)> = landing_lcp
            .iter()
            .filter(|(_, lcp)| Vital::Lcp.rate(**lcp) == rating)
            .map(|(visit, _)| *visit)
            .collect();
        LandingTally {
            rating,
            visits: visits.len() as u64,
            converted: visits
                .iter()
                .filter(|(session, day)| converted.contains(&((*session).to_owned(), *day)))
                .count() as u64,
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
        rating: rating_of_p75(t.samples, t.good, t.poor),
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

    /// Within 1 % of the sample of nearest rank.
    fn near(estimate: f64, sample: f64) -> bool {
        (estimate - sample).abs() <= sample * RELATIVE_ACCURACY * (1.0 + 1e-9)
    }

    #[test]
    fn p75_is_the_bin_of_the_nearest_rank() {
        for (mut values, rank) in [
            (vec![4.0, 1.0, 3.0, 2.0], 3.0),
            (vec![5.0], 5.0),
            (vec![1.0, 2.0, 3.0, 4.0, 5.0], 4.0),
            (vec![0.05, 0.0, 0.3, 0.0002], 0.05),
        ] {
            let estimate = p75(&mut values);
            assert_eq!(estimate, bin_value(bin(rank)), "{values:?}");
            assert!(near(estimate, rank), "{estimate} for {rank}");
        }
        assert_eq!(p75(&mut []), 0.0);
        assert_eq!(p75(&mut [0.0, 0.0005]), 0.0, "below the smallest sample");
    }

    /// Every sample's bin stands for a value within the accuracy, and
    /// larger samples never fall in smaller bins.
    #[test]
    fn a_bins_value_is_within_the_accuracy_of_its_samples() {
        let mut value = SMALLEST_SAMPLE;
        let mut last = bin(value);
        while value < 1e7 {
            let b = bin(value);
            assert!(b >= last, "{value}");
            assert!(near(bin_value(b), value), "{value}: {}", bin_value(b));
            last = b;
            value *= 1.000_7;
        }
        // The thresholds and whole milliseconds, where ties are.
        for vital in sonde_protocol::Vital::ALL {
            let (good, fair) = vital.thresholds();
            for v in [good, fair] {
                assert!(near(bin_value(bin(v)), v), "{vital:?} {v}");
            }
        }
        for ms in 1..20_000 {
            let v = f64::from(ms);
            assert!(near(bin_value(bin(v)), v), "{v}");
        }
    }

    /// Rated from counts, the percentile gets the rating of the exact
    /// sample of nearest rank, also where the bin's value lies across a
    /// threshold.
    #[test]
    fn the_rating_of_p75_is_the_exact_samples() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for _ in 0..2_000 {
            let vital = Vital::ALL[rng.random_range(0..Vital::ALL.len())];
            let (good, fair) = vital.thresholds();
            let around = [good, fair][rng.random_range(0..2)];
            let mut values: Vec<f64> = (0..rng.random_range(1..30))
                .map(|_| around * rng.random_range(0.97..1.03))
                .collect();
            let rated = |r| values.iter().filter(|v| vital.rate(**v) == r).count() as u64;
            let (good_n, poor_n) = (rated(Rating::Good), rated(Rating::Poor));
            values.sort_by(f64::total_cmp);
            let exact = values[p75_rank(values.len() as u64) as usize - 1];
            assert_eq!(
                rating_of_p75(values.len() as u64, good_n, poor_n),
                vital.rate(exact),
                "{vital:?} {values:?}"
            );
        }
        assert_eq!(rating_of_p75(0, 0, 0), Rating::Good);
    }

    fn lcp(session: &str, path: &str, value: f64) -> VitalRow {
        VitalRow {
            session: session.into(),
            day_start: 0,
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
        let converted: HashSet<(String, i64)> = ["a", "b", "c"].map(|s| (s.to_owned(), 0)).into();
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
        assert_eq!((home.samples, home.p75), (5, bin_value(bin(4_500.0))));
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
