//! What the reports ask of a store: counts and rows only. The arithmetic
//! that turns them into a report is [`crate::reports`]'s, and each of its
//! modules says exactly what rows, in what order and with what ties, the
//! methods here must return, so that every engine gives the same answer.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport};
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step, StepResult};
use sonde_protocol::goal::Goal;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{UsageQuery, UsageReport};

use super::StoreError;
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::conversions::{ConversionTallies, GoalHit, VisitRow};
use crate::reports::errors::{ErrorRow, FunnelVisits};
use crate::reports::events::InteractionRow;
use crate::reports::funnel::Occurrence;
use crate::reports::performance::{LandingTally, VitalRow, VitalTallies};

/// The rows a funnel's figures are computed from by the reference
/// arithmetic ([`reference_funnel`] and the others below).
pub trait FunnelRows {
    /// Each unit's (session's or visitor's) key and events that some step
    /// of `funnel` may match, in the scope's period, in the order they were
    /// stored.
    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError>;

    /// Each unit's value of `dimension`, from its first event in the
    /// scope's period (`(none)` where it has none).
    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: FunnelUnit,
        dimension: FunnelDimension,
    ) -> Result<HashMap<String, String>, StoreError>;
}

/// Answers the dashboard's reports. Calls block, like
/// [`super::IngestStore`]'s.
pub trait ReportStore: FunnelRows + Send + Sync + std::fmt::Debug {
    /// Page views and unique visitors per bucket of the site's calendar in
    /// `timezone` (every bucket of the range, empty ones as zero), and the
    /// top pages.
    /// Pages seen by fewer than `k` visitors are counted, not listed.
    fn usage(&self, q: &UsageQuery, timezone: Tz, k: u64) -> Result<UsageReport, StoreError>;

    /// Key figures of the period and the one before, and the breakdowns,
    /// leaving out rows of fewer than `k` visitors (see
    /// [`sonde_protocol::overview`] for the definitions), of the sessions
    /// the filters select, days on the calendar of `timezone` (a session is
    /// cut at its midnight).
    fn overview(
        &self,
        q: &OverviewQuery,
        timezone: Tz,
        k: u64,
    ) -> Result<OverviewReport, StoreError>;

    /// A funnel's figures in the scope's period: by default
    /// [`reference_funnel`]; a store may compute the same in its own engine.
    fn funnel(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<StepResult>, StoreError> {
        reference_funnel(self, scope, funnel)
    }

    /// A session funnel's visits over the scope: how many entered it and
    /// reached its end, and which sessions with an error in the scope did.
    /// By default [`reference_funnel_visits`].
    fn funnel_visits(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<FunnelVisits, StoreError> {
        reference_funnel_visits(self, scope, funnel)
    }

    /// A funnel's figures over every unit of the scope, and per value of
    /// `dimension` (each unit's from its first event in the scope): by
    /// default [`reference_funnel_breakdown`].
    fn funnel_breakdown(
        &self,
        scope: &Scope,
        timezone: Tz,
        funnel: &FunnelDefinition,
        dimension: FunnelDimension,
    ) -> Result<FunnelBreakdown, StoreError> {
        // Only where it reads rolled-up days does a store need the site's
        // calendar.
        let _ = timezone;
        reference_funnel_breakdown(self, scope, funnel, dimension)
    }

    /// The errors in the scope, oldest first.
    fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError>;

    /// The interactions of the scope, in any order (see
    /// [`crate::reports::events`]).
    fn interactions(&self, scope: &Scope) -> Result<Vec<InteractionRow>, StoreError>;

    /// Each visit of the scope (a session's page views on one day of the
    /// calendar of `timezone`), with where it came from, counted from the
    /// events.
    fn visits(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VisitRow>, StoreError>;

    /// Every event of the scope's period that reached `target` (a page or
    /// an event), with its day in `timezone` and its value; the scope's
    /// filters are the visits' to apply.
    fn goal_hits(
        &self,
        scope: &Scope,
        timezone: Tz,
        target: &Step,
    ) -> Result<Vec<GoalHit>, StoreError>;

    /// The scope's visits (days in `timezone`) tallied against `goal` by
    /// [`crate::reports::conversions::tally`] (buckets by `buckets`; none
    /// when empty).
    fn conversion_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
        buckets: &[Bucket],
    ) -> Result<ConversionTallies, StoreError>;

    /// How many visits the scope has (days in `timezone`), as
    /// [`ReportStore::visits`] lists them.
    fn visit_count(&self, scope: &Scope, timezone: Tz) -> Result<u64, StoreError>;

    /// Web vitals in the scope: one row per page load and metric, oldest
    /// first, each with its day in `timezone`.
    fn vitals(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VitalRow>, StoreError>;

    /// The scope's web vitals tallied by
    /// [`crate::reports::performance::tally`] (days in `timezone`, buckets
    /// by `buckets`; none when empty), sorted as it sorts them.
    fn vital_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        buckets: &[Bucket],
    ) -> Result<VitalTallies, StoreError>;

    /// The scope's visits (days in `timezone`) rated by their first LCP,
    /// against the visits that reached `goal`'s target, as
    /// [`crate::reports::performance::landing_tally`] defines them.
    fn landing_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
    ) -> Result<[LandingTally; 3], StoreError>;

    /// The consent report of `site` for decisions in `[from, to)`, with the
    /// banner impressions of the site's days `first_day..=last_day` (see
    /// [`sonde_protocol::consent_report`] for the definitions).
    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError>;

    /// The records of `site` decided in `[from, to)`, counted by alike
    /// records, as [`crate::reports::consent::tally`] defines them on the
    /// calendar of `timezone`, sorted.
    fn consent_tallies(
        &self,
        site: &str,
        from: i64,
        to: i64,
        timezone: chrono_tz::Tz,
    ) -> Result<Vec<crate::reports::consent::DecisionTally>, StoreError>;

    /// The consent records of `site` decided in `[from, to)`, in order
    /// (decision time, then consent id), numbered from 1, without hashes:
    /// for the consent report's figures.
    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError>;

    /// The links of `site`'s consent chain stored in `[from, to)`, as
    /// [`crate::reports::consent_log`] says: for the export and its
    /// verification.
    fn consent_chain(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError>;
}

/// A funnel's figures by the reference arithmetic
/// ([`crate::reports::funnel`]) over the store's
/// [`ReportStore::funnel_occurrences`]: what [`ReportStore::funnel`] does
/// unless a store computes the same in its own engine, and what such a
/// store falls back on for what its engine does not compute.
pub fn reference_funnel<S: FunnelRows + ?Sized>(
    store: &S,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<StepResult>, StoreError> {
    let units = store.funnel_occurrences(scope, funnel)?;
    let progresses: Vec<Vec<i64>> = units
        .iter()
        .map(|(_, events)| {
            crate::reports::funnel::progress(&funnel.steps, events, funnel.window_ms)
        })
        .collect();
    Ok(crate::reports::funnel::summarize(
        funnel.steps.len(),
        &progresses,
    ))
}

/// A funnel's figures over every unit and per value of a breakdown's
/// dimension, by label.
pub type FunnelBreakdown = (Vec<StepResult>, Vec<(String, Vec<StepResult>)>);

/// A funnel broken down ([`ReportStore::funnel_breakdown`]) by the
/// reference arithmetic, over the units' occurrences and values
/// ([`crate::reports::funnel::break_down`]).
pub fn reference_funnel_breakdown<S: FunnelRows + ?Sized>(
    store: &S,
    scope: &Scope,
    funnel: &FunnelDefinition,
    dimension: FunnelDimension,
) -> Result<FunnelBreakdown, StoreError> {
    let units = store.funnel_occurrences(scope, funnel)?;
    let values = store.unit_dimension(scope, funnel.unit, dimension)?;
    Ok(crate::reports::funnel::break_down(
        &funnel.steps,
        funnel.window_ms,
        &units,
        &values,
    ))
}

/// A session funnel's visits ([`ReportStore::funnel_visits`]) from the
/// funnel's figures and the occurrences of only the sessions with errors
/// ([`crate::reports::errors::funnel_visits`]).
pub fn reference_funnel_visits<S: FunnelRows + ?Sized>(
    store: &S,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<FunnelVisits, StoreError> {
    let steps = reference_funnel(store, scope, funnel)?;
    let with_errors = store.funnel_occurrences(&scope.with_errors(), funnel)?;
    Ok(crate::reports::errors::funnel_visits(
        funnel,
        &steps,
        with_errors,
    ))
}
