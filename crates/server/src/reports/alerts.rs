//! When an alert fires: what a figure is expected to be, how far from it
//! counts as unusual, and how a rule's state moves from one evaluation to
//! the next.
//!
//! # The methods, and why
//!
//! - **Counts in an hour** (traffic; an error group's events) are judged
//!   against the same hour of the same weekday in the weeks before, which
//!   carries both the daily and the weekly rhythm of a site (Monday 9:00 is
//!   not Sunday 3:00). The expected value is the **median** of those hours
//!   and the band's half-width the larger of the median absolute deviation
//!   (scaled by 1.4826 to estimate a standard deviation) and the Poisson
//!   noise of a count (√expected), times the rule's sensitivity. The
//!   median and the MAD ignore one unusual week in the history (last
//!   month's spike does not widen this month's band, as it would a mean
//!   and a standard deviation); the Poisson floor keeps a perfectly steady
//!   history from giving a band of zero width, where one visit more would
//!   fire.
//! - **Shares** (a goal's conversion rate; the share of visitors who
//!   grant usage) are judged against the share over the weeks before,
//!   with the binomial standard error of the share observed now: a rate on
//!   40 visits may move much further by chance than one on 4,000.
//! - **A web vital's p75** is judged against its p75 over the weeks
//!   before, by a relative margin: a vital's spread depends on the page,
//!   not on a count, and "20 % slower than usual" is what an engineer acts
//!   on.
//!
//! Below a minimum of evidence (too few weeks of history, too few visits
//! or samples) nothing is judged: an alert that fires on noise is turned
//! off and then misses the real one.
//!
//! # What a store provides
//!
//! Nothing of its own: the figures of the reports (visitors per hour,
//! errors per group, conversions and visits, consents, a vital's p75 and
//! its samples). Which hours, and over which weeks, the evaluating service
//! says.

use sonde_protocol::UsagePoint;

/// What a figure was expected to be: `expected`, and the band within
/// which it counts as usual.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

/// Where an observed figure stands against its band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Within,
    Above,
    Below,
}

impl Band {
    pub fn judge(&self, observed: f64) -> Verdict {
        if observed > self.high {
            Verdict::Above
        } else if observed < self.low {
            Verdict::Below
        } else {
            Verdict::Within
        }
    }
}

/// Fewest past weeks a seasonal band is made from.
pub const MIN_WEEKS: usize = 3;

/// The band of an hour's count from the same hour of the weeks before
/// (`history`, one count a week), `sensitivity` half-widths wide; `None`
/// with fewer than [`MIN_WEEKS`] weeks of history.
pub fn seasonal_band(history: &[f64], sensitivity: f64) -> Option<Band> {
    if history.len() < MIN_WEEKS {
        return None;
    }
    let expected = median(history);
    let deviations: Vec<f64> = history.iter().map(|h| (h - expected).abs()).collect();
    let spread = (1.4826 * median(&deviations)).max(expected.sqrt()).max(1.0);
    Some(Band {
        expected,
        low: (expected - sensitivity * spread).max(0.0),
        high: expected + sensitivity * spread,
    })
}

/// The band of a count whose usual rate is `expected` (a mean over many
/// hours, as for an error group), by its Poisson noise alone.
pub fn poisson_band(expected: f64, sensitivity: f64) -> Band {
    let spread = expected.sqrt().max(1.0);
    Band {
        expected,
        low: (expected - sensitivity * spread).max(0.0),
        high: expected + sensitivity * spread,
    }
}

/// Fewest trials (visits, visitors) a share is judged on.
pub const MIN_TRIALS: u64 = 30;

/// The band of a share observed on `trials` trials whose usual value is
/// `baseline` (successes over trials in the weeks before); `None` below
/// [`MIN_TRIALS`] on either side.
pub fn share_band(baseline: (u64, u64), trials: u64, sensitivity: f64) -> Option<Band> {
    let (successes, base_trials) = baseline;
    if trials < MIN_TRIALS || base_trials < MIN_TRIALS {
        return None;
    }
    let expected = successes as f64 / base_trials as f64;
    // A baseline of exactly 0 or 1 has no binomial spread: one trial's
    // worth keeps the first different trial from firing on its own.
    let error = (expected * (1.0 - expected) / trials as f64)
        .sqrt()
        .max(1.0 / trials as f64);
    Some(Band {
        expected,
        low: (expected - sensitivity * error).max(0.0),
        high: (expected + sensitivity * error).min(1.0),
    })
}

/// Fewest samples a web vital's p75 is judged on.
pub const MIN_SAMPLES: u64 = 20;

/// The band of a vital's p75 now, from its p75 over `samples` page loads
/// in the weeks before (the performance report's figure, so that the one
/// an alert names is the one the dashboard shows): anything up to
/// `1 + margin` times the usual p75 is usual (a faster page never alerts).
/// `None` below [`MIN_SAMPLES`].
pub fn vital_band(usual_p75: f64, samples: u64, margin: f64) -> Option<Band> {
    if samples < MIN_SAMPLES {
        return None;
    }
    Some(Band {
        expected: usual_p75,
        low: 0.0,
        high: usual_p75 * (1.0 + margin),
    })
}

/// The hour judged (the last of `points`: hourly, oldest first, as the
/// usage report's series) and the visitors of the same hour of the same
/// weekday on the site's calendar in the weeks before, counted from the
/// site's first visitor on (a site is not judged against weeks before it
/// had any). `None` without points or visitors.
pub fn same_hour_in_weeks_before(points: &[UsagePoint]) -> Option<(&UsagePoint, Vec<f64>)> {
    let (observed, before) = points.split_last()?;
    let first_visit = points.iter().position(|p| p.visitors > 0)?;
    let hour = weekday_and_hour(&observed.local)?;
    let history = before
        .iter()
        .skip(first_visit)
        .filter(|p| weekday_and_hour(&p.local) == Some(hour))
        .map(|p| p.visitors as f64)
        .collect();
    Some((observed, history))
}

/// `2026-11-24T14:00` → (Tuesday, 14).
fn weekday_and_hour(local: &str) -> Option<(chrono::Weekday, u32)> {
    use chrono::{Datelike, Timelike};
    let at = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").ok()?;
    Some((at.weekday(), at.hour()))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// What one evaluation does with a rule's subject (the site's traffic, one
/// error group, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Unusual now and not firing: fire, and tell people.
    Fire,
    /// Usual again after firing: resolve, and tell people.
    Resolve,
    /// As before: still firing (no second message), or still quiet.
    Stay,
}

/// The next step of a subject that is `firing` or not, now found
/// `unusual` or not; `None` (too little evidence to judge) changes
/// nothing, so that a quiet night does not resolve an alert it cannot see.
pub fn transition(firing: bool, unusual: Option<bool>) -> Transition {
    match (firing, unusual) {
        (false, Some(true)) => Transition::Fire,
        (true, Some(false)) => Transition::Resolve,
        _ => Transition::Stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seasonal_band_needs_three_weeks() {
        assert_eq!(seasonal_band(&[100.0, 110.0], 3.0), None);
        assert!(seasonal_band(&[100.0, 110.0, 90.0], 3.0).is_some());
    }

    #[test]
    fn one_unusual_week_does_not_move_the_band() {
        let steady = seasonal_band(&[100.0, 104.0, 96.0, 100.0], 3.0).unwrap();
        let with_spike = seasonal_band(&[100.0, 104.0, 96.0, 900.0], 3.0).unwrap();
        assert_eq!(steady.expected, 100.0);
        assert_eq!(with_spike.expected, 102.0);
        // A mean would expect 300 and a standard deviation span 0..1,000.
        assert!(with_spike.high < 160.0, "{with_spike:?}");
        assert_eq!(with_spike.judge(400.0), Verdict::Above);
    }

    #[test]
    fn a_steady_history_still_allows_poisson_noise() {
        let band = seasonal_band(&[100.0, 100.0, 100.0, 100.0], 3.0).unwrap();
        assert_eq!(band.expected, 100.0);
        assert_eq!((band.low, band.high), (70.0, 130.0));
        assert_eq!(band.judge(125.0), Verdict::Within);
        assert_eq!(band.judge(131.0), Verdict::Above);
        assert_eq!(band.judge(69.0), Verdict::Below);
    }

    #[test]
    fn a_quiet_hour_is_not_judged_on_one_visit() {
        let band = seasonal_band(&[0.0, 1.0, 0.0], 3.0).unwrap();
        assert_eq!(band.judge(1.0), Verdict::Within);
        assert_eq!(band.judge(3.0), Verdict::Within);
        assert_eq!(band.judge(4.0), Verdict::Above);
        assert_eq!(band.low, 0.0);
    }

    #[test]
    fn a_poisson_band_grows_with_the_square_root() {
        let band = poisson_band(25.0, 3.0);
        assert_eq!((band.low, band.high), (10.0, 40.0));
        assert_eq!(poisson_band(0.0, 3.0).high, 3.0);
    }

    #[test]
    fn a_share_on_few_trials_is_not_judged() {
        assert_eq!(share_band((50, 1000), 29, 3.0), None);
        assert_eq!(share_band((5, 20), 500, 3.0), None);
    }

    #[test]
    fn a_share_band_narrows_with_more_trials() {
        let few = share_band((100, 1000), 100, 3.0).unwrap();
        let many = share_band((100, 1000), 10_000, 3.0).unwrap();
        assert!((few.expected - 0.1).abs() < 1e-12);
        assert!((few.low - 0.01).abs() < 1e-9, "{few:?}");
        assert!((many.low - 0.091).abs() < 1e-9, "{many:?}");
        // 5 % on 10,000 visits is a real drop; on 100 it may be chance.
        assert_eq!(few.judge(0.05), Verdict::Within);
        assert_eq!(many.judge(0.05), Verdict::Below);
    }

    #[test]
    fn a_share_of_everyone_still_has_a_width() {
        let band = share_band((1000, 1000), 100, 3.0).unwrap();
        assert_eq!(band.high, 1.0);
        assert_eq!(band.judge(0.98), Verdict::Within);
        assert_eq!(band.judge(0.9), Verdict::Below);
    }

    #[test]
    fn a_vital_alerts_only_when_slower_by_the_margin() {
        let band = vital_band(750.0, 100, 0.2).unwrap();
        assert_eq!(band.high, 900.0);
        assert_eq!(band.judge(900.0), Verdict::Within);
        assert_eq!(band.judge(901.0), Verdict::Above);
        assert_eq!(band.judge(10.0), Verdict::Within);
        assert_eq!(vital_band(750.0, 19, 0.2), None);
    }

    fn hour(local: &str, visitors: u64) -> UsagePoint {
        UsagePoint {
            start: 0,
            local: local.into(),
            pageviews: visitors,
            visitors,
        }
    }

    #[test]
    fn the_same_hour_of_the_weekday_from_the_first_visit_on() {
        let points = [
            hour("2026-11-03T14:00", 0), // a Tuesday before the site had visitors
            hour("2026-11-05T09:00", 2), // its first visitor
            hour("2026-11-10T14:00", 40),
            hour("2026-11-10T15:00", 90), // another hour
            hour("2026-11-11T14:00", 70), // another weekday
            hour("2026-11-17T14:00", 44),
            hour("2026-11-24T14:00", 400),
        ];
        let (observed, history) = same_hour_in_weeks_before(&points).unwrap();
        assert_eq!(observed.local, "2026-11-24T14:00");
        assert_eq!(history, [40.0, 44.0]);
        assert_eq!(
            same_hour_in_weeks_before(&[hour("2026-11-24T14:00", 0)]),
            None
        );
        assert_eq!(same_hour_in_weeks_before(&[]), None);
    }

    #[test]
    fn a_rule_fires_once_and_resolves_once() {
        let evaluations = [
            Some(false),
            Some(true),
            Some(true),
            None,
            Some(true),
            Some(false),
            Some(false),
        ];
        let mut firing = false;
        let mut steps = Vec::new();
        for unusual in evaluations {
            let step = transition(firing, unusual);
            match step {
                Transition::Fire => firing = true,
                Transition::Resolve => firing = false,
                Transition::Stay => {}
            }
            steps.push(step);
        }
        use Transition::*;
        assert_eq!(steps, [Stay, Fire, Stay, Stay, Stay, Resolve, Stay]);
    }

    #[test]
    fn too_little_evidence_resolves_nothing() {
        assert_eq!(transition(true, None), Transition::Stay);
        assert_eq!(transition(false, None), Transition::Stay);
    }
}
