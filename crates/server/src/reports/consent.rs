//! The consent report's insights, apart from any store: decisions per day,
//! grant rates by device and by where the decision was made, coverage with
//! its Wilson interval, and the counted visits corrected for coverage. The
//! definitions are in [`sonde_protocol::consent_report`].
//!
//! # What a store provides
//!
//! The totals of [`ConsentReport`] (banners shown on the site's days of the
//! period, decisions and grant rates of the records decided in it), and the
//! consent log of the period (see [`super::consent_log`]): each record once,
//! ordered by decision time, then consent id.

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

/// Adds what the privacy owner reads beside the totals: decisions per day,
/// grant rates by device and by where the decision was made, coverage, and
/// the counted visits corrected for coverage (see
/// [`sonde_protocol::consent_report`] for the method).
pub fn add_insights(
    report: &mut ConsentReport,
    log: &[ConsentLogEntry],
    counted_visits: u64,
    timezone: chrono_tz::Tz,
) {
    let banner: Vec<&ConsentLogEntry> = log.iter().filter(|e| e.source == "banner").collect();
    let mut days: BTreeMap<String, ConsentDay> = BTreeMap::new();
    for e in &banner {
        let day = chrono::DateTime::from_timestamp_millis(e.decided_at)
            .unwrap_or_default()
            .with_timezone(&timezone)
            .format("%Y-%m-%d")
            .to_string();
        let d = days.entry(day.clone()).or_insert_with(|| ConsentDay {
            day,
            ..ConsentDay::default()
        });
        let optional = [e.usage, e.errors, e.performance];
        if optional.iter().all(|g| *g) && (e.marketing || e.gpc) {
            d.accept_all += 1;
        } else if !(optional.contains(&true) || e.marketing) {
            d.reject_all += 1;
        } else {
            d.custom += 1;
        }
    }
    report.per_day = days.into_values().collect();
    let grants_by = |label: &dyn Fn(&ConsentLogEntry) -> String, entries: &[&ConsentLogEntry]| {
        let mut groups: BTreeMap<String, Vec<&ConsentLogEntry>> = BTreeMap::new();
        for e in entries {
            groups.entry(label(e)).or_default().push(e);
        }
        groups
            .into_iter()
            .map(|(label, group)| {
                let n = group.len() as f64;
                let share = |f: fn(&ConsentLogEntry) -> bool| {
                    group.iter().filter(|e| f(e)).count() as f64 / n
                };
                GrantsBy {
                    label,
                    decisions: group.len() as u64,
                    grant_rates: GrantRates {
                        usage: share(|e| e.usage),
                        errors: share(|e| e.errors),
                        performance: share(|e| e.performance),
                        marketing: share(|e| e.marketing),
                    },
                }
            })
            .collect::<Vec<_>>()
    };
    report.by_device = grants_by(&|e| e.device.clone(), &banner);
    let everything: Vec<&ConsentLogEntry> = log.iter().collect();
    report.by_decision_source = grants_by(&|e| e.source.clone(), &everything);
    let granted = banner.iter().filter(|e| e.usage).count() as u64;
    // A decision without a counted banner (a cached banner) still counts.
    let shown = report.banners_shown.max(banner.len() as u64);
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
        ];
        let mut report = ConsentReport {
            banners_shown: 8,
            ..ConsentReport::default()
        };
        add_insights(&mut report, &log, 30, chrono_tz::UTC);
        let days: Vec<(u64, u64, u64)> = report
            .per_day
            .iter()
            .map(|d| (d.accept_all, d.reject_all, d.custom))
            .collect();
        assert_eq!(days, [(1, 1, 0), (1, 0, 1)]);
        let mobile = report
            .by_device
            .iter()
            .find(|g| g.label == "mobile")
            .unwrap();
        assert_eq!(mobile.decisions, 2);
        assert!((mobile.grant_rates.usage - 0.5).abs() < 1e-9);
        // 3 of 8 banners granted usage: 30 counted visits stand for about 80.
        let coverage = report.coverage.unwrap();
        assert!((coverage.value - 0.375).abs() < 1e-9);
        let estimate = report.estimated_visits.unwrap();
        assert!((estimate.value - 80.0).abs() < 1e-9);
        assert!(estimate.low < 80.0 && estimate.high > 80.0);
    }
}
