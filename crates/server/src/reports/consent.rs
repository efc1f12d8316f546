//! The consent report's insights, apart from any store: decisions per day,
//! grant rates by device and by where the decision was made, coverage with
//! its Wilson interval, and the counted visits corrected for coverage. The
//! definitions are in [`sonde_protocol::consent_report`].
//!
//! # What a store provides
//!
//! The totals of [`ConsentReport`] (banners shown on the site's days of the
//! period, decisions and grant rates of the records decided in it), and the
//! period's decisions counted by alike records ([`DecisionTally`]): per day
//! of the site's calendar, where the decision was made, the device class
//! and the answer. [`tally`] is the definition, from the consent log (see
//! [`super::consent_log`]); a store may count in its own way and is held
//! equal to it.

use std::collections::BTreeMap;

use sonde_protocol::consent_report::{
    ConsentDay, ConsentLogEntry, ConsentReport, Estimate, GrantRates, GrantsBy,
};

/// The 95 % Wilson score interval of `successes` out of `trials`.
pub fn wilson(successes: u64, trials: u64) -> Option<Estimate> {
    if trials == 0 {
        return None;
    }
    let (n, z) = (trials as f64, 1.96_f64);
    let p = (successes as f64 / n).min(1.0);
    let denominator = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    Some(Estimate {
        value: p,
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    })
}

/// Decisions alike in everything the insights read, and how many.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DecisionTally {
    /// The day of the site's calendar it was decided on, `YYYY-MM-DD`.
    pub day: String,
    /// `banner` or `settings`.
    pub source: String,
    pub device: String,
    pub usage: bool,
    pub errors: bool,
    pub performance: bool,
    pub marketing: bool,
    pub gpc: bool,
    pub decisions: u64,
}

/// The day of the calendar of `timezone` that `ms` falls on, `YYYY-MM-DD`.
pub fn local_day(ms: i64, timezone: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&timezone)
        .format("%Y-%m-%d")
        .to_string()
}

/// The records of `log` counted by alike records, sorted.
pub fn tally(log: &[ConsentLogEntry], timezone: chrono_tz::Tz) -> Vec<DecisionTally> {
    let mut counts: BTreeMap<DecisionTally, u64> = BTreeMap::new();
    for e in log {
        let key = DecisionTally {
            day: local_day(e.decided_at, timezone),
            source: e.source.clone(),
            device: e.device.clone(),
            usage: e.usage,
            errors: e.errors,
            performance: e.performance,
            marketing: e.marketing,
            gpc: e.gpc,
            decisions: 0,
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(key, decisions)| DecisionTally { decisions, ..key })
        .collect()
}

/// Adds what the privacy owner reads beside the totals: decisions per day,
/// grant rates by device and by where the decision was made, coverage, and
/// the counted visits corrected for coverage (see
/// [`sonde_protocol::consent_report`] for the method), from the period's
/// decisions counted by alike records.
pub fn add_insights(report: &mut ConsentReport, decisions: &[DecisionTally], counted_visits: u64) {
    let banner: Vec<&DecisionTally> = decisions.iter().filter(|t| t.source == "banner").collect();
    let mut days: BTreeMap<&str, ConsentDay> = BTreeMap::new();
    for t in &banner {
        let d = days.entry(t.day.as_str()).or_insert_with(|| ConsentDay {
            day: t.day.clone(),
            ..ConsentDay::default()
        });
        let optional = [t.usage, t.errors, t.performance];
        if optional.iter().all(|g| *g) && (t.marketing || t.gpc) {
            d.accept_all += t.decisions;
        } else if !(optional.contains(&true) || t.marketing) {
            d.reject_all += t.decisions;
        } else {
            d.custom += t.decisions;
        }
    }
    report.per_day = days.into_values().collect();
    let grants_by = |label: &dyn Fn(&DecisionTally) -> String, tallies: &[&DecisionTally]| {
        let mut groups: BTreeMap<String, Vec<&DecisionTally>> = BTreeMap::new();
        for t in tallies {
            groups.entry(label(t)).or_default().push(t);
        }
        groups
            .into_iter()
            .map(|(label, group)| {
                let n: u64 = group.iter().map(|t| t.decisions).sum();
                let share = |f: fn(&DecisionTally) -> bool| {
                    let granted: u64 = group.iter().filter(|t| f(t)).map(|t| t.decisions).sum();
                    granted as f64 / n as f64
                };
                GrantsBy {
                    label,
                    decisions: n,
                    grant_rates: GrantRates {
                        usage: share(|t| t.usage),
                        errors: share(|t| t.errors),
                        performance: share(|t| t.performance),
                        marketing: share(|t| t.marketing),
                    },
                }
            })
            .collect::<Vec<_>>()
    };
    report.by_device = grants_by(&|t| t.device.clone(), &banner);
    let everything: Vec<&DecisionTally> = decisions.iter().collect();
    report.by_decision_source = grants_by(&|t| t.source.clone(), &everything);
    let granted: u64 = banner.iter().filter(|t| t.usage).map(|t| t.decisions).sum();
    let decided: u64 = banner.iter().map(|t| t.decisions).sum();
    // A decision without a counted banner (a cached banner) still counts.
    let shown = report.banners_shown.max(decided);
    report.coverage = wilson(granted, shown);
    report.counted_visits = counted_visits;
    report.estimated_visits = report
        .coverage
        .filter(|c| c.value > 0.0 && c.low > 0.0)
        .map(|c| Estimate {
            value: counted_visits as f64 / c.value,
            low: counted_visits as f64 / c.high,
            high: counted_visits as f64 / c.low,
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(id: &str, at: i64, grants: [bool; 4], device: &str) -> ConsentLogEntry {
        ConsentLogEntry {
            seq: 0,
            site: "shop".into(),
            consent_id: id.into(),
            decided_at: at,
            policy_version: 1,
            source: "banner".into(),
            gpc: false,
            usage: grants[0],
            errors: grants[1],
            performance: grants[2],
            marketing: grants[3],
            device: device.into(),
            prev_hash: String::new(),
            hash: String::new(),
            erased: false,
        }
    }

    #[test]
    fn the_wilson_interval_narrows_with_more_banners() {
        let few = wilson(5, 10).unwrap();
        let many = wilson(500, 1000).unwrap();
        assert!((few.value - 0.5).abs() < 1e-9);
        assert!((few.low - 0.2366).abs() < 1e-3 && (few.high - 0.7634).abs() < 1e-3);
        assert!(many.high - many.low < few.high - few.low);
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn insights_count_days_devices_coverage_and_the_corrected_visits() {
        const DAY: i64 = 86_400_000;
        let all = [true; 4];
        let none = [false; 4];
        let log = vec![
            decision("a", 10, all, "mobile"),
            decision("b", 20, none, "mobile"),
            decision("c", DAY + 5, [true, false, false, false], "desktop"),
            decision("d", DAY + 6, all, "desktop"),
            decision("e", DAY + 7, all, "desktop"),
        ];
        // Records alike are counted together.
        let tallies = tally(&log, chrono_tz::UTC);
        assert_eq!(tallies.len(), 4);
        assert_eq!(tallies[3].decisions, 2);
        let mut report = ConsentReport {
            banners_shown: 8,
            ..ConsentReport::default()
        };
        add_insights(&mut report, &tally(&log, chrono_tz::UTC), 30);
        let days: Vec<(u64, u64, u64)> = report
            .per_day
            .iter()
            .map(|d| (d.accept_all, d.reject_all, d.custom))
            .collect();
        assert_eq!(days, [(1, 1, 0), (2, 0, 1)]);
        let mobile = report
            .by_device
            .iter()
            .find(|g| g.label == "mobile")
            .unwrap();
        assert_eq!(mobile.decisions, 2);
        assert!((mobile.grant_rates.usage - 0.5).abs() < 1e-9);
        let desktop = report
            .by_device
            .iter()
            .find(|g| g.label == "desktop")
            .unwrap();
        assert_eq!(desktop.decisions, 3);
        assert!((desktop.grant_rates.errors - 2.0 / 3.0).abs() < 1e-9);
        // 4 of 8 banners granted usage: 30 counted visits stand for about 60.
        let coverage = report.coverage.unwrap();
        assert!((coverage.value - 0.5).abs() < 1e-9);
        let estimate = report.estimated_visits.unwrap();
        assert!((estimate.value - 60.0).abs() < 1e-9);
        assert!(estimate.low < 60.0 && estimate.high > 60.0);
    }
}
