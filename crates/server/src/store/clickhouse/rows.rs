//! The rows the errors, conversions, performance and funnel reports read,
//! as the [`crate::store::ReportStore`] contract defines them: the same
//! rows, in the same order, as DuckDB's.
//!
//! Which events a step matches is decided in Rust, by the protocol's own
//! [`Step::matches_page`] and [`Step::matches_event`]; SQL only narrows
//! the events to those that may match.

use std::collections::HashMap;

use chrono_tz::Tz;
use serde::Deserialize;
use sonde_protocol::Vital;
use sonde_protocol::events_report::InteractionKind;
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step};

use super::scope::{day_start, events, first, matching_sessions, period, scoped, sessions_sql};
use super::sql::quoted;
use super::topology::Topology;
use crate::reports::Scope;
use crate::reports::conversions::{GoalHit, VisitRow};
use crate::reports::errors::ErrorRow;
use crate::reports::events::InteractionRow;
use crate::reports::funnel::{Happened, Occurrence};
use crate::reports::performance::VitalRow;
use crate::store::StoreError;
use crate::store::event_row::props_as_text;

/// The errors in the scope, oldest first (the first stored first among
/// equal times).
pub(super) fn errors(topology: &Topology, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        session: String,
        ts: i64,
        message: String,
        stack: Option<String>,
        source: Option<String>,
        browser: String,
        path: String,
        visitor: i64,
    }
    let db = &topology.placement.database;
    let rows: Vec<Row> = topology.rows(&format!(
        "SELECT toString(session_key) AS session, ts, ifNull(error_message, '') AS message,
                error_stack AS stack, error_source AS source,
                ifNull(browser, 'unknown') AS browser, path, visitor_id AS visitor
         FROM {events}
         WHERE {scoped} AND kind = 'error'
         ORDER BY ts, seq",
        events = events(db),
        scoped = scoped(db, scope),
    ))?;
    Ok(rows
        .into_iter()
        .map(|r| ErrorRow {
            session: r.session,
            ts: r.ts,
            message: r.message,
            stack: r.stack,
            source: r.source,
            browser: r.browser,
            path: r.path,
            visitor: r.visitor,
        })
        .collect())
}

/// The scope's interactions (custom events, clicks, forms, outbound links
/// and downloads), as the events report reads them.
pub(super) fn interactions(
    topology: &Topology,
    scope: &Scope,
) -> Result<Vec<InteractionRow>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        kind: String,
        name: String,
        visitor: i64,
        ts: i64,
        value: Option<f64>,
        props: Option<String>,
    }
    let db = &topology.placement.database;
    let rows: Vec<Row> = topology.rows(&format!(
        "SELECT kind,
                ifNull(if(kind IN ('outbound', 'download'), href, name), '') AS name,
                visitor_id AS visitor, ts, value, props
         FROM {events}
         WHERE {scoped} AND kind IN ('custom', 'click', 'form_submit', 'outbound', 'download')",
        events = events(db),
        scoped = scoped(db, scope),
    ))?;
    rows.into_iter()
        .map(|r| {
            let kind = InteractionKind::parse(&r.kind).ok_or_else(|| {
                StoreError::Corrupt(format!("an interaction of kind {:?}", r.kind))
            })?;
            Ok(InteractionRow {
                kind,
                name: r.name,
                visitor: r.visitor,
                ts: r.ts,
                value: r.value,
                props: r.props.as_deref().map(props_as_text).unwrap_or_default(),
            })
        })
        .collect()
}

/// The scope's visits: each session's page views on one day of the
/// calendar of `timezone` that pass the scope's filters.
pub(super) fn visits(
    topology: &Topology,
    scope: &Scope,
    timezone: Tz,
) -> Result<Vec<VisitRow>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        session: String,
        day_start: i64,
        visitor: i64,
        start_ms: i64,
        entry: String,
        referrer: String,
        source: String,
        medium: Option<String>,
        campaign: Option<String>,
    }
    let db = &topology.placement.database;
    // A condition on each page view, so that the shards test it against
    // their own sessions.
    let with_errors = if scope.with_errors {
        format!(
            " AND session_key IN (SELECT session_key FROM {db}.events_local
                                  WHERE {period} AND kind = 'error')",
            period = period(db, scope),
        )
    } else {
        String::new()
    };
    let rows: Vec<Row> = topology.rows(&format!(
        "SELECT toString(session) AS session, day_start, visitor, start_ms, entry, referrer,
                source, medium, campaign
         FROM ({sessions})
         WHERE {matching}
         ORDER BY start_ms, session, day_start",
        sessions = sessions_sql(
            &events(db),
            &format!("{} AND kind = 'page_view'{with_errors}", period(db, scope)),
            &day_start(timezone),
            scope.filters.page.is_some(),
        ),
        matching = matching_sessions(scope.filters),
    ))?;
    Ok(rows
        .into_iter()
        .map(|r| VisitRow {
            session: r.session,
            day_start: r.day_start,
            visitor: r.visitor,
            start: r.start_ms,
            landing: r.entry,
            referrer: r.referrer,
            source: r.source,
            medium: r.medium,
            campaign: r.campaign,
        })
        .collect())
}

/// Web vitals in the scope, one row per page load and metric, oldest
/// first, each with its day in `timezone`.
pub(super) fn vitals(
    topology: &Topology,
    scope: &Scope,
    timezone: Tz,
) -> Result<Vec<VitalRow>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        session: String,
        day_start: i64,
        ts: i64,
        path: String,
        name: String,
        value: f64,
    }
    let db = &topology.placement.database;
    let rows: Vec<Row> = topology.rows(&format!(
        "SELECT toString(session_key) AS session, {day} AS day_start, ts, path,
                assumeNotNull(name) AS name, assumeNotNull(value) AS value
         FROM {events}
         WHERE {scoped} AND kind = 'vital' AND value IS NOT NULL AND name IS NOT NULL
         ORDER BY ts, seq",
        day = day_start(timezone),
        events = events(db),
        scoped = scoped(db, scope),
    ))?;
    rows.into_iter()
        .map(|r| {
            let metric = Vital::from_name(&r.name)
                .ok_or_else(|| StoreError::Corrupt(format!("a web vital named {:?}", r.name)))?;
            Ok(VitalRow {
                session: r.session,
                day_start: r.day_start,
                ts: r.ts,
                path: r.path,
                metric,
                value: r.value,
            })
        })
        .collect()
}

/// Every event of the scope's period that reached `target`, with its day
/// on the calendar of `timezone`; the scope's filters select visits, not
/// hits.
pub(super) fn goal_hits(
    topology: &Topology,
    scope: &Scope,
    timezone: Tz,
    target: &Step,
) -> Result<Vec<GoalHit>, StoreError> {
    let db = &topology.placement.database;
    let candidates: Vec<Candidate> = topology.rows(&format!(
        "SELECT toString(session_key) AS unit, {day} AS day_start, ts, kind, path, name, props,
                value
         FROM {events}
         WHERE {period} AND ({narrowed})",
        day = day_start(timezone),
        events = events(db),
        period = period(db, scope),
        narrowed = may_match(target),
    ))?;
    Ok(candidates
        .into_iter()
        .filter(|c| c.reaches(target))
        .map(|c| GoalHit {
            session: c.unit,
            day_start: c.day_start,
            value: c.value,
        })
        .collect())
}

/// Each unit's key and the events some step of `funnel` matches, oldest
/// first (the first stored first among equal times), units in the order
/// of their keys.
pub(super) fn funnel_occurrences(
    topology: &Topology,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    let db = &topology.placement.database;
    let narrowed: Vec<String> = funnel
        .steps
        .iter()
        .map(|step| format!("({})", may_match(step)))
        .collect();
    let candidates: Vec<Candidate> = topology.rows(&format!(
        "SELECT {unit} AS unit, 0 AS day_start, ts, kind, path, name, props, value
         FROM {events}
         WHERE {scoped} AND ({narrowed})
         ORDER BY unit, ts, seq",
        unit = unit_key(funnel.unit),
        events = events(db),
        scoped = scoped(db, scope),
        narrowed = narrowed.join(" OR "),
    ))?;
    let mut units: Vec<(String, Vec<Occurrence>)> = Vec::new();
    for c in candidates {
        if !funnel.steps.iter().any(|step| c.reaches(step)) {
            continue;
        }
        let what = if c.kind == "page_view" {
            Happened::Page(c.path)
        } else {
            Happened::Event {
                name: c.name.unwrap_or_default(),
                props: c.props.as_deref().map(props_as_text).unwrap_or_default(),
            }
        };
        let occurrence = Occurrence { ts: c.ts, what };
        match units.last_mut() {
            Some((unit, events)) if *unit == c.unit => events.push(occurrence),
            _ => units.push((c.unit, vec![occurrence])),
        }
    }
    Ok(units)
}

/// Each unit's value of `dimension`, from its first event in the scope
/// that carries it (`(none)` where that has none).
pub(super) fn unit_dimension(
    topology: &Topology,
    scope: &Scope,
    unit: FunnelUnit,
    dimension: FunnelDimension,
) -> Result<HashMap<String, String>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        unit: String,
        value: String,
    }
    // Source and campaign belong to a visit's first page view.
    let (column, only) = match dimension {
        FunnelDimension::Browser => ("browser", ""),
        FunnelDimension::Os => ("os", ""),
        FunnelDimension::Device => ("device", ""),
        FunnelDimension::Source => (
            "coalesce(utm_source, referrer_host, 'direct')",
            "AND kind = 'page_view'",
        ),
        FunnelDimension::Campaign => ("utm_campaign", "AND kind = 'page_view'"),
    };
    let db = &topology.placement.database;
    let rows: Vec<Row> = topology.rows(&format!(
        "SELECT {unit} AS unit,
                ifNull({first}, '(none)') AS value
         FROM {events}
         WHERE {scoped} {only}
         GROUP BY unit",
        unit = unit_key(unit),
        first = first(column),
        events = events(db),
        scoped = scoped(db, scope),
    ))?;
    Ok(rows.into_iter().map(|r| (r.unit, r.value)).collect())
}

/// The name of a funnel's unit, in SQL: a session by its key, a visitor by
/// its id, both in decimal as DuckDB names them.
fn unit_key(unit: FunnelUnit) -> &'static str {
    match unit {
        FunnelUnit::Session => "toString(session_key)",
        FunnelUnit::Visitor => "toString(visitor_id)",
    }
}

/// An event that may reach a step, as read for Rust to decide.
#[derive(Deserialize)]
struct Candidate {
    unit: String,
    day_start: i64,
    ts: i64,
    kind: String,
    path: String,
    name: Option<String>,
    props: Option<String>,
    value: Option<f64>,
}

impl Candidate {
    /// Whether this event is `step`, by the protocol's definition.
    fn reaches(&self, step: &Step) -> bool {
        match step {
            Step::Page { .. } => self.kind == "page_view" && step.matches_page(&self.path),
            Step::Event { .. } => {
                matches!(self.kind.as_str(), "custom" | "click" | "form_submit")
                    && self.name.as_deref().is_some_and(|name| {
                        let props = self.props.as_deref().map(props_as_text).unwrap_or_default();
                        step.matches_event(name, |key| {
                            props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
                        })
                    })
            }
        }
    }
}

/// A condition every event that is `step` meets (fewer may meet it than
/// match): a page's path up to its first wildcard, an event's name.
fn may_match(step: &Step) -> String {
    match step {
        Step::Page { path } => {
            let prefix = path.split('*').next().unwrap_or_default();
            if prefix.len() == path.len() {
                format!("kind = 'page_view' AND path = {}", quoted(path))
            } else {
                format!(
                    "kind = 'page_view' AND startsWith(path, {})",
                    quoted(prefix)
                )
            }
        }
        Step::Event { name, .. } => format!(
            "kind IN ('custom', 'click', 'form_submit') AND name = {}",
            quoted(name)
        ),
    }
}
