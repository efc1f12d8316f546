//! Goals: what counts as a conversion for marketing (a page reached, or an
//! event), and the conversions report.
//!
//! Definitions: a visit is a session's page views on one day of the
//! site's calendar (the overview's visits: a visitor's id changes at the
//! site's midnight). A visit converts when its session has at least one
//! event matching the goal on that day, in the period; its value is the sum
//! of the matching events' values (custom events carry one), or the goal's
//! fixed value per converting visit when it has one. The conversion rate is
//! converting visits over all visits of the same group. Visits are
//! attributed to the source, medium, campaign, referrer and landing page of
//! their first page view; a group's visitors are counted per day and added
//! up, as everywhere in Sonde.

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::funnel::Step;

/// A goal as a marketer defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Goal {
    pub name: String,
    /// A page (with `*` wildcards) or an event (with an optional property).
    pub target: Step,
    /// A fixed value per conversion; without it, the events' own values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Goal {
    pub fn validate(&self) -> Result<(), Rejection> {
        if self.name.trim().is_empty() {
            return Err(Rejection::Empty {
                field: "name".into(),
            });
        }
        let (field, text) = match &self.target {
            Step::Page { path } => ("target.path", path),
            Step::Event { name, .. } => ("target.name", name),
        };
        if text.trim().is_empty() {
            return Err(Rejection::Empty {
                field: field.into(),
            });
        }
        Ok(())
    }
}

/// A goal kept for a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedGoal {
    pub id: String,
    pub site: String,
    pub goal: Goal,
    pub updated_at: i64,
}

/// `GET /api/conversions`: a saved goal over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct ConversionsQuery {
    pub site: String,
    pub goal: String,
    pub from: i64,
    pub to: i64,
    #[serde(default)]
    pub granularity: crate::Granularity,
    /// Sessions to count: see [`crate::filters`].
    #[serde(flatten)]
    pub filters: crate::Filters,
    /// Also answer for the compared period (see `versus`).
    #[serde(default)]
    pub compare: bool,
    /// What `compare` compares with: `previous` (the default) or
    /// `year_before` (the same weekdays 52 weeks back).
    #[serde(default)]
    pub versus: crate::Versus,
}

/// Conversions in one bucket of time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionPoint {
    pub start: i64,
    /// The bucket's start on the site's calendar.
    pub local: String,
    pub visits: u64,
    pub conversions: u64,
    pub value: f64,
}

/// Conversions of one group (a source, a campaign…).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionRow {
    pub label: String,
    pub visitors: u64,
    pub visits: u64,
    pub conversions: u64,
    /// conversions / visits, 0 to 1.
    pub rate: f64,
    pub value: f64,
}

/// The conversions report of a goal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionsReport {
    pub goal: Goal,
    pub visits: u64,
    pub conversions: u64,
    pub rate: f64,
    pub value: f64,
    pub series: Vec<ConversionPoint>,
    /// Rows of fewer than `k` visitors are counted in `small_groups`.
    pub sources: ConversionBreakdown,
    pub mediums: ConversionBreakdown,
    pub campaigns: ConversionBreakdown,
    pub referrers: ConversionBreakdown,
    pub landing_pages: ConversionBreakdown,
    pub k: u64,
    /// The period just before, when `compare` was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ConversionTotals>,
}

impl ConversionsReport {
    /// The figures [`ConversionTotals`] keeps.
    pub fn totals(&self) -> ConversionTotals {
        ConversionTotals {
            visits: self.visits,
            conversions: self.conversions,
            rate: self.rate,
            value: self.value,
        }
    }
}

/// A goal's totals over one period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionTotals {
    pub visits: u64,
    pub conversions: u64,
    pub rate: f64,
    pub value: f64,
}

/// A breakdown of conversions, largest first, small groups left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionBreakdown {
    pub rows: Vec<ConversionRow>,
    /// Rows left out for having fewer than `k` visitors.
    pub small_groups: u64,
}
