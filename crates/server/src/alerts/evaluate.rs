//! What each condition observes: the figures it reads from the reports'
//! store methods for the period judged and the weeks before, and the
//! verdict of [`crate::reports::alerts`] on them, with the evidence a
//! person needs to act (the figure, the band, the dashboard's view).

use std::collections::BTreeMap;

use sonde_protocol::alert::{AlertCondition, Evidence, SavedAlertRule, Unit, vital_name};
use sonde_protocol::usage::UsageQuery;
use sonde_protocol::{Filters, Granularity, Versus, Vital};

use crate::reports::Scope;
use crate::reports::alerts::{
    Band, Verdict, poisson_band, same_hour_in_weeks_before, seasonal_band, share_band, vital_band,
};
use crate::reports::buckets::buckets;
use crate::reports::errors::{fingerprint, normalise, top_frame};
use crate::reports::performance::p75;
use crate::site::Site;
use crate::store::{ReportStore, SavedStore, StoreError};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Weeks of history an hour's traffic is judged against.
pub const TRAFFIC_WEEKS: i64 = 5;
/// How far back an error group counts as seen before.
pub const ERROR_MEMORY: i64 = 30 * DAY;
/// A new error group's firing resolves after this long without an error.
pub const ERROR_QUIET: i64 = DAY;
/// Rates and vitals: the last day, against the four weeks before it.
pub const RECENT: i64 = DAY;
pub const BASELINE: i64 = 28 * DAY;

/// One subject of a rule as observed now.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// `traffic`, an error group's fingerprint, a goal's id, `usage`, a vital.
    pub subject: String,
    /// `None`: too little evidence to judge.
    pub unusual: Option<bool>,
    pub evidence: Evidence,
}

/// What an evaluation reads.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub reports: &'a dyn ReportStore,
    pub saved: &'a dyn SavedStore,
    /// Breakdown rows need this many visitors (the usage report asks it).
    pub min_group_size: u64,
    /// The dashboard's address, for the links (`https://sonde.example`).
    pub dashboard: &'a str,
}

/// The subjects of `rule` on `site` at `now`: every subject found unusual,
/// and each of `open` (the subjects firing) however it is now.
pub fn observe(
    sources: Sources<'_>,
    site: &Site,
    rule: &SavedAlertRule,
    open: &[String],
    now: i64,
) -> Result<Vec<Observation>, StoreError> {
    let link = |page: &str, range: &str| {
        format!(
            "{}{page}?range={range}&site={}",
            sources.dashboard.trim_end_matches('/'),
            rule.site
        )
    };
    match &rule.rule.condition {
        AlertCondition::Traffic { sensitivity } => {
            traffic(sources, site, *sensitivity, now, &link("/", "24h")).map(|o| vec![o])
        }
        AlertCondition::NewErrorGroup => {
            new_error_groups(sources, site, open, now, &link("/errors", "24h"))
        }
        AlertCondition::ErrorSpike { sensitivity } => error_spikes(
            sources,
            site,
            *sensitivity,
            open,
            now,
            &link("/errors", "24h"),
        ),
        AlertCondition::ConversionDrop { goal, sensitivity } => {
            let link = format!("{}&goal={goal}", link("/conversions", "30d"));
            conversion_drop(sources, site, goal, *sensitivity, now, &link)
                .map(|o| o.into_iter().collect())
        }
        AlertCondition::ConsentShare { sensitivity } => {
            consent_share(sources, site, *sensitivity, now, &link("/consent", "30d"))
                .map(|o| vec![o])
        }
        AlertCondition::VitalWorse { vital, margin } => vital_worse(
            sources,
            site,
            *vital,
            *margin,
            now,
            &link("/performance", "30d"),
        )
        .map(|o| vec![o]),
    }
}

fn evidence(
    (figure, unit): (f64, Unit),
    band: Option<Band>,
    (from, to): (i64, i64),
    link: &str,
    summary: String,
) -> Evidence {
    let band = band.unwrap_or(Band {
        expected: figure,
        low: figure,
        high: figure,
    });
    Evidence {
        figure,
        unit,
        expected: band.expected,
        low: band.low,
        high: band.high,
        from,
        to,
        link: link.to_owned(),
        summary,
    }
}

/// Visitors in the last full hour of the site's calendar against the same
/// hour of the weekday in the weeks before.
fn traffic(
    sources: Sources<'_>,
    site: &Site,
    sensitivity: f64,
    now: i64,
    link: &str,
) -> Result<Observation, StoreError> {
    let hours: Vec<_> = buckets(
        now - TRAFFIC_WEEKS * WEEK - HOUR,
        now,
        Granularity::Hour,
        site.timezone,
    )
    .into_iter()
    .filter(|b| b.stop <= now)
    .collect();
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(nothing_to_judge("traffic", now, link));
    };
    let query = UsageQuery {
        site: site.key().to_owned(),
        from: first.start,
        to: last.stop,
        granularity: Granularity::Hour,
        filters: Filters::default(),
        compare: false,
        versus: Versus::Previous,
    };
    let report = sources
        .reports
        .usage(&query, site.timezone, sources.min_group_size)?;
    let window = (last.start, last.stop);
    let Some((observed, history)) = same_hour_in_weeks_before(&report.series) else {
        return Ok(nothing_to_judge("traffic", now, link));
    };
    let figure = observed.visitors as f64;
    let band = seasonal_band(&history, sensitivity);
    let hour = observed.local.replace('T', " ");
    let summary = match band {
        Some(b) => format!(
            "{figure:.0} visitors in the hour from {hour}, where the same hour of the {} weeks before brought {:.0} (usual: {:.0} to {:.0}).",
            history.len(),
            b.expected,
            b.low,
            b.high
        ),
        None => format!(
            "{figure:.0} visitors in the hour from {hour}; fewer than 3 weeks of history to judge it by."
        ),
    };
    Ok(Observation {
        subject: "traffic".into(),
        unusual: band.map(|b| b.judge(figure) != Verdict::Within),
        evidence: evidence((figure, Unit::Count), band, window, link, summary),
    })
}

fn nothing_to_judge(subject: &str, now: i64, link: &str) -> Observation {
    Observation {
        subject: subject.into(),
        unusual: None,
        evidence: evidence(
            (0.0, Unit::Count),
            None,
            (now, now),
            link,
            "Nothing to judge yet.".into(),
        ),
    }
}

/// Each error group's errors, first and last time, and example message.
#[derive(Default)]
struct GroupSeen {
    message: String,
    first: i64,
    last: i64,
    /// Errors in the last hour, and before it.
    recent: u64,
    before: u64,
}

fn error_groups(
    reports: &dyn ReportStore,
    site: &str,
    from: i64,
    now: i64,
) -> Result<BTreeMap<String, GroupSeen>, StoreError> {
    let filters = Filters::default();
    let rows = reports.errors(&Scope::new(site, from, now, &filters))?;
    let mut groups: BTreeMap<String, GroupSeen> = BTreeMap::new();
    for row in rows {
        let message = normalise(&row.message);
        let frame = top_frame(row.stack.as_deref(), row.source.as_deref());
        let seen = groups
            .entry(fingerprint(&message, frame.as_deref()))
            .or_insert_with(|| GroupSeen {
                message,
                first: row.ts,
                ..GroupSeen::default()
            });
        seen.first = seen.first.min(row.ts);
        seen.last = seen.last.max(row.ts);
        if row.ts >= now - HOUR {
            seen.recent += 1;
        } else {
            seen.before += 1;
        }
    }
    Ok(groups)
}

/// `once`, `3 times`.
fn times(n: u64) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("{n} times")
    }
}

/// A group first seen in the last hour (of the last 30 days) fires; it
/// resolves after a day without an error.
fn new_error_groups(
    sources: Sources<'_>,
    site: &Site,
    open: &[String],
    now: i64,
    link: &str,
) -> Result<Vec<Observation>, StoreError> {
    let groups = error_groups(sources.reports, site.key(), now - ERROR_MEMORY, now)?;
    let mut out = Vec::new();
    for (subject, seen) in &groups {
        let firing = open.contains(subject);
        let unusual = if firing {
            seen.last >= now - ERROR_QUIET
        } else {
            seen.first >= now - HOUR
        };
        if unusual || firing {
            let summary = if unusual && !firing {
                format!(
                    "A new error, first seen in the last hour ({}): {}",
                    times(seen.recent),
                    seen.message
                )
            } else if unusual {
                format!(
                    "Still happening ({} in the last hour): {}",
                    seen.recent, seen.message
                )
            } else {
                format!("No error for a day: {}", seen.message)
            };
            out.push(Observation {
                subject: subject.clone(),
                unusual: Some(unusual),
                evidence: evidence(
                    (seen.recent as f64, Unit::Count),
                    Some(Band {
                        expected: 0.0,
                        low: 0.0,
                        high: 0.0,
                    }),
                    (now - HOUR, now),
                    link,
                    summary,
                ),
            });
        }
    }
    // A firing group with no error left in the 30 days is quiet too.
    for subject in open.iter().filter(|s| !groups.contains_key(*s)) {
        out.push(Observation {
            subject: subject.clone(),
            unusual: Some(false),
            evidence: evidence(
                (0.0, Unit::Count),
                None,
                (now - HOUR, now),
                link,
                "No error for a day.".into(),
            ),
        });
    }
    Ok(out)
}

/// Each group's errors in the last hour against its hourly mean of the
/// week before.
fn error_spikes(
    sources: Sources<'_>,
    site: &Site,
    sensitivity: f64,
    open: &[String],
    now: i64,
    link: &str,
) -> Result<Vec<Observation>, StoreError> {
    let groups = error_groups(sources.reports, site.key(), now - WEEK - HOUR, now)?;
    let hours_before = (WEEK / HOUR) as f64;
    let mut out = Vec::new();
    for subject in groups
        .keys()
        .chain(open.iter().filter(|s| !groups.contains_key(*s)))
    {
        let (recent, before, message) = groups
            .get(subject)
            .map(|g| (g.recent, g.before, g.message.as_str()))
            .unwrap_or((0, 0, "(no longer seen)"));
        let band = poisson_band(before as f64 / hours_before, sensitivity);
        let figure = recent as f64;
        let unusual = band.judge(figure) == Verdict::Above;
        if unusual || open.contains(subject) {
            let summary = format!(
                "{recent} errors in the last hour, against {:.1} an hour in the week before (usual: up to {:.0}): {message}",
                band.expected, band.high
            );
            out.push(Observation {
                subject: subject.clone(),
                unusual: Some(unusual),
                evidence: evidence(
                    (figure, Unit::Count),
                    Some(band),
                    (now - HOUR, now),
                    link,
                    summary,
                ),
            });
        }
    }
    Ok(out)
}

/// A goal's conversion rate over the last day against the four weeks
/// before; `None` for a goal that no longer exists.
fn conversion_drop(
    sources: Sources<'_>,
    site: &Site,
    goal_id: &str,
    sensitivity: f64,
    now: i64,
    link: &str,
) -> Result<Option<Observation>, StoreError> {
    let Some(goal) = sources.saved.goal(goal_id)? else {
        tracing::warn!(site = %site.key(), goal = goal_id, "an alert names a goal that no longer exists");
        return Ok(None);
    };
    let filters = Filters::default();
    let tally = |from: i64, to: i64| {
        sources
            .reports
            .conversion_tallies(
                &Scope::new(site.key(), from, to, &filters),
                site.timezone,
                &goal.goal,
                &[],
            )
            .map(|t| t.totals)
    };
    let recent = tally(now - RECENT, now)?;
    let before = tally(now - RECENT - BASELINE, now - RECENT)?;
    let band = share_band(
        (before.conversions, before.visits),
        recent.visits,
        sensitivity,
    );
    let rate = if recent.visits == 0 {
        0.0
    } else {
        recent.conversions as f64 / recent.visits as f64
    };
    let summary = match band {
        Some(b) => format!(
            "{}: {:.1} % of {} visits converted in the last 24 hours, against {:.1} % in the 4 weeks before (usual: {:.1} % or more).",
            goal.goal.name,
            rate * 100.0,
            recent.visits,
            b.expected * 100.0,
            b.low * 100.0
        ),
        None => format!(
            "{}: {} visits in the last 24 hours, {} in the 4 weeks before; too few to judge.",
            goal.goal.name, recent.visits, before.visits
        ),
    };
    Ok(Some(Observation {
        subject: goal_id.to_owned(),
        unusual: band.map(|b| b.judge(rate) == Verdict::Below),
        evidence: evidence(
            (rate, Unit::Share),
            band,
            (now - RECENT, now),
            link,
            summary,
        ),
    }))
}

/// The share of consent decisions granting usage, the last day against
/// the four weeks before, either way.
fn consent_share(
    sources: Sources<'_>,
    site: &Site,
    sensitivity: f64,
    now: i64,
    link: &str,
) -> Result<Observation, StoreError> {
    let granted = |from: i64, to: i64| -> Result<(u64, u64), StoreError> {
        let tallies = sources
            .reports
            .consent_tallies(site.key(), from, to, site.timezone)?;
        Ok(tallies.iter().fold((0, 0), |(yes, all), t| {
            (
                yes + if t.usage { t.decisions } else { 0 },
                all + t.decisions,
            )
        }))
    };
    let (yes, decisions) = granted(now - RECENT, now)?;
    let before = granted(now - RECENT - BASELINE, now - RECENT)?;
    let band = share_band(before, decisions, sensitivity);
    let share = if decisions == 0 {
        0.0
    } else {
        yes as f64 / decisions as f64
    };
    let summary = match band {
        Some(b) => format!(
            "{:.1} % of {decisions} visitors granted usage in the last 24 hours, against {:.1} % in the 4 weeks before (usual: {:.1} to {:.1} %).",
            share * 100.0,
            b.expected * 100.0,
            b.low * 100.0,
            b.high * 100.0
        ),
        None => format!(
            "{decisions} consent decisions in the last 24 hours, {} in the 4 weeks before; too few to judge.",
            before.1
        ),
    };
    Ok(Observation {
        subject: "usage".into(),
        unusual: band.map(|b| b.judge(share) != Verdict::Within),
        evidence: evidence(
            (share, Unit::Share),
            band,
            (now - RECENT, now),
            link,
            summary,
        ),
    })
}

/// A vital's p75 over the last day against its p75 over the four weeks
/// before.
fn vital_worse(
    sources: Sources<'_>,
    site: &Site,
    vital: Vital,
    margin: f64,
    now: i64,
    link: &str,
) -> Result<Observation, StoreError> {
    let filters = Filters::default();
    let samples = |from: i64, to: i64| -> Result<Vec<f64>, StoreError> {
        Ok(sources
            .reports
            .vitals(&Scope::new(site.key(), from, to, &filters), site.timezone)?
            .into_iter()
            .filter(|row| row.metric == vital)
            .map(|row| row.value)
            .collect())
    };
    let mut recent = samples(now - RECENT, now)?;
    let mut before = samples(now - RECENT - BASELINE, now - RECENT)?;
    let name = vital_name(vital);
    let unit = if vital == Vital::Cls { "" } else { " ms" };
    let vital_unit = if vital == Vital::Cls {
        Unit::Score
    } else {
        Unit::Milliseconds
    };
    let band = vital_band(p75(&mut before), before.len() as u64, margin)
        .filter(|_| recent.len() as u64 >= crate::reports::alerts::MIN_SAMPLES);
    let figure = p75(&mut recent);
    let summary = match band {
        Some(b) => format!(
            "{name} p75 was {figure:.precision$}{unit} over {} page loads in the last 24 hours, against {:.precision$}{unit} in the 4 weeks before (usual: up to {:.precision$}{unit}).",
            recent.len(),
            b.expected,
            b.high,
            precision = if vital == Vital::Cls { 3 } else { 0 }
        ),
        None => format!(
            "{name}: {} page loads measured in the last 24 hours, {} in the 4 weeks before; too few to judge.",
            recent.len(),
            before.len()
        ),
    };
    Ok(Observation {
        subject: vital.as_str().to_owned(),
        unusual: band.map(|b| b.judge(figure) == Verdict::Above),
        evidence: evidence(
            (figure, vital_unit),
            band,
            (now - RECENT, now),
            link,
            summary,
        ),
    })
}
