//! The consent endpoint: one anonymous record per decision, under
//! `necessary`, on an endpoint of its own so it is never mixed with events.
//! No visitor id is computed here: the record is about a decision, not a
//! person.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use std::collections::BTreeMap;

use sonde_protocol::consent_report::{
    ConsentDay, ConsentLogEntry, ConsentReport, ConsentReportQuery, Estimate, GrantRates, GrantsBy,
};
use sonde_protocol::{ApiError, ConsentReceipt, ConsentRecord};

use crate::app::AppState;
use crate::auth::Reader;
use crate::browser_body;
use crate::error::AppError;
use crate::query::{self, Params};
use crate::store::Scope;
use crate::user_agent::Agent;

/// `POST /api/consent`
#[utoipa::path(
    post,
    path = "/api/consent",
    tag = "collection",
    request_body(content = ConsentRecord, description = "One anonymous consent decision"),
    responses(
        (status = 200, description = "Stored, or already stored by an earlier send", body = ConsentReceipt),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A field missing, mistyped or beyond a limit", body = ApiError),
    )
)]
pub async fn record(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ConsentReceipt>, AppError> {
    let mut record: ConsentRecord = browser_body::read(&headers, body).await?;
    record.validate(chrono::Utc::now().timestamp_millis())?;
    // A browser may send Global Privacy Control as a header without
    // exposing it to scripts; the record says it was on either way.
    record.gpc |= browser_body::global_privacy_control(&headers);
    browser_body::site_for(&app, &record.site, &headers)?;
    // The device class only: the grant rates by device need no more.
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .unwrap_or_default();
    let device = match app.user_agents().classify(user_agent) {
        Agent::Visitor(software) => software.device.as_str(),
        Agent::Bot => "unknown",
    };
    let store = app.store_handle();
    let stored =
        tokio::task::spawn_blocking(move || store.record_consent(&record, device)).await??;
    Ok(Json(ConsentReceipt { stored }))
}

/// `GET /api/consent-report?site=…&from=…&to=…`
#[utoipa::path(
    get,
    path = "/api/consent-report",
    tag = "dashboard",
    params(ConsentReportQuery),
    responses(
        (status = 200, description = "Banners shown, decisions, grant rates, GPC share", body = ConsentReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 403, description = "A share link for another site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn report(
    State(app): State<AppState>,
    reader: Reader,
    Params(q): Params<ConsentReportQuery>,
) -> Result<Json<ConsentReport>, AppError> {
    query::check_period(q.from, q.to)?;
    let site = query::site(&app, &reader, &q.site)?;
    // Banner impressions are counted per day of the site's calendar.
    let timezone = site.timezone;
    let day = move |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&timezone)
            .date_naive()
    };
    let days = (day(q.from), day(q.to - 1));
    let store = app.store_handle();
    let report = tokio::task::spawn_blocking(move || {
        let mut report = store.consent_report(&q.site, q.from, q.to, days)?;
        let log = store.consent_log(&q.site, q.from, q.to)?;
        let counted = store.session_count(&Scope::unfiltered(&q.site, q.from, q.to))?;
        add_insights(&mut report, &log, counted, site.timezone);
        if q.compare {
            let (from, to) = (q.from - (q.to - q.from), q.from);
            let mut before = store.consent_report(&q.site, from, to, (day(from), day(to - 1)))?;
            let log = store.consent_log(&q.site, from, to)?;
            let counted = store.session_count(&Scope::unfiltered(&q.site, from, to))?;
            add_insights(&mut before, &log, counted, site.timezone);
            report.previous = Some(before.totals());
        }
        Ok::<_, AppError>(report)
    })
    .await??;
    Ok(Json(report))
}

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
