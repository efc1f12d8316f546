//! What a digest says: the site's figures of the period and the period of
//! the same length before, read through the same store methods and report
//! semantics as the dashboard's pages, so that a digest and the dashboard
//! never disagree.

use chrono::NaiveDate;
use sonde_protocol::consent_report::Estimate;
use sonde_protocol::overview::{BreakdownRow, KeyFigures, OverviewQuery};
use sonde_protocol::usage::UsageQuery;
use sonde_protocol::{Filters, Granularity, Versus};

use crate::reports::Scope;
use crate::reports::buckets::{Bucket, buckets};
use crate::reports::consent::add_insights;
use crate::reports::errors::{compare, group};
use crate::site::Site;
use crate::store::{ReportStore, SavedStore, StoreError};

/// Rows of each top list.
pub const TOP: usize = 5;

/// A site's figures over a period, against the one before.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub site_key: String,
    pub site_name: String,
    /// The period: `[from, to)`, its first and last day on the site's calendar.
    pub from: i64,
    pub to: i64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub current: KeyFigures,
    pub previous: KeyFigures,
    /// Visitors on each day of the period, and on the same day of the
    /// period before.
    pub days: Vec<Day>,
    pub pages: Vec<BreakdownRow>,
    pub sources: Vec<BreakdownRow>,
    pub goals: Vec<GoalFigures>,
    pub errors: ErrorFigures,
    pub consent: ConsentFigures,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub day: String,
    pub visitors: u64,
    pub previous_visitors: u64,
    pub errors: u64,
}

/// A saved goal's visits and conversions in both periods.
#[derive(Clone, Debug, PartialEq)]
pub struct GoalFigures {
    pub name: String,
    pub visits: u64,
    pub conversions: u64,
    pub previous_visits: u64,
    pub previous_conversions: u64,
}

impl GoalFigures {
    pub fn rate(&self) -> Option<f64> {
        rate(self.conversions, self.visits)
    }

    pub fn previous_rate(&self) -> Option<f64> {
        rate(self.previous_conversions, self.previous_visits)
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Errors of both periods, and the groups that matter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorFigures {
    pub count: u64,
    pub previous_count: u64,
    /// Groups not seen in the period before, most visits affected first.
    pub new_groups: Vec<ErrorLine>,
    /// The groups that affected the most visits.
    pub top_groups: Vec<ErrorLine>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErrorLine {
    pub message: String,
    pub count: u64,
    pub previous_count: u64,
    /// Of the period's visits, 0 to 1.
    pub session_share: f64,
}

/// Consent decisions of both periods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsentFigures {
    pub decisions: u64,
    pub previous_decisions: u64,
    /// Decisions granting usage, 0 to 1; `None` without decisions.
    pub usage_granted: Option<f64>,
    pub previous_usage_granted: Option<f64>,
    /// The share of visits counted (see [`sonde_protocol::consent_report`]).
    pub coverage: Option<Estimate>,
}

/// The figures of `site` over `period`, a bucket of whole days.
pub fn gather(
    reports: &dyn ReportStore,
    saved: &dyn SavedStore,
    site: &Site,
    period: &Bucket,
    k: u64,
) -> Result<Figures, StoreError> {
    let key = site.key();
    let tz = site.timezone;
    let (from, to) = (period.start, period.stop);
    let before = from - (to - from);
    let filters = Filters::default();
    let overview = reports.overview(
        &OverviewQuery {
            site: key.to_owned(),
            from,
            to,
            filters: filters.clone(),
            versus: Versus::Previous,
        },
        tz,
        k,
    )?;
    let daily = |from: i64, to: i64| {
        reports.usage(
            &UsageQuery {
                site: key.to_owned(),
                from,
                to,
                granularity: Granularity::Day,
                filters: filters.clone(),
                compare: false,
                versus: Versus::Previous,
            },
            tz,
            k,
        )
    };
    let current_days = daily(from, to)?.series;
    let previous_days = daily(before, from)?.series;

    let scope = Scope::new(key, from, to, &filters);
    let day_buckets = buckets(from, to, Granularity::Day, tz);
    let error_rows = reports.errors(&scope)?;
    let visits = reports.visit_count(&scope, tz)?;
    let mut groups = group(&error_rows, k, visits, tz, &day_buckets, &[]);
    let previous_rows = reports.errors(&scope.previous())?;
    compare(&mut groups, &previous_rows);
    let line = |g: &sonde_protocol::errors::ErrorGroup| ErrorLine {
        message: g.message.clone(),
        count: g.count,
        previous_count: g.previous_count.unwrap_or(0),
        session_share: g.session_share,
    };
    let errors = ErrorFigures {
        count: error_rows.len() as u64,
        previous_count: previous_rows.len() as u64,
        new_groups: groups
            .iter()
            .filter(|g| g.previous_count == Some(0))
            .take(TOP)
            .map(line)
            .collect(),
        top_groups: groups.iter().take(TOP).map(line).collect(),
    };
    let mut errors_per_day = vec![0; day_buckets.len()];
    for g in &groups {
        for d in &g.per_day {
            if let Some(i) = day_buckets.iter().position(|b| b.local == d.label) {
                errors_per_day[i] += d.count;
            }
        }
    }
    let days = current_days
        .iter()
        .enumerate()
        .map(|(i, p)| Day {
            day: p.local.clone(),
            visitors: p.visitors,
            previous_visitors: previous_days.get(i).map_or(0, |p| p.visitors),
            errors: errors_per_day.get(i).copied().unwrap_or(0),
        })
        .collect();

    let mut goals = Vec::new();
    for goal in saved.goals(key)? {
        let tally = |scope: &Scope| {
            reports
                .conversion_tallies(scope, tz, &goal.goal, &[])
                .map(|t| t.totals)
        };
        let now = tally(&scope)?;
        let then = tally(&scope.previous())?;
        goals.push(GoalFigures {
            name: goal.goal.name.clone(),
            visits: now.visits,
            conversions: now.conversions,
            previous_visits: then.visits,
            previous_conversions: then.conversions,
        });
    }

    let consent_of = |from: i64, to: i64| -> Result<_, StoreError> {
        let day = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .with_timezone(&tz)
                .date_naive()
        };
        let mut report = reports.consent_report(key, from, to, (day(from), day(to - 1)))?;
        let decisions = reports.consent_tallies(key, from, to, tz)?;
        let counted = reports.visit_count(&Scope::unfiltered(key, from, to), tz)?;
        add_insights(&mut report, &decisions, counted);
        Ok(report.totals())
    };
    let now = consent_of(from, to)?;
    let then = consent_of(before, from)?;
    let granted = |t: &sonde_protocol::consent_report::ConsentTotals| {
        (t.decisions > 0).then_some(t.grant_rates.usage)
    };
    let consent = ConsentFigures {
        decisions: now.decisions,
        previous_decisions: then.decisions,
        usage_granted: granted(&now),
        previous_usage_granted: granted(&then),
        coverage: now.coverage,
    };

    let top = |b: &sonde_protocol::overview::Breakdown| b.rows.iter().take(TOP).cloned().collect();
    let first_day = NaiveDate::parse_from_str(&period.local, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("a period's first day: {e}")))?;
    let last_day = day_buckets
        .last()
        .and_then(|b| NaiveDate::parse_from_str(&b.local, "%Y-%m-%d").ok())
        .unwrap_or(first_day);
    Ok(Figures {
        site_key: key.to_owned(),
        site_name: site.name().to_owned(),
        from,
        to,
        first_day,
        last_day,
        current: overview.current,
        previous: overview.previous,
        days,
        pages: top(&overview.pages),
        sources: top(&overview.sources),
        goals,
        errors,
        consent,
    })
}
