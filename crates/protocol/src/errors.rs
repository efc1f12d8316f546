//! The errors report, for support and engineering.
//!
//! Errors are grouped by a fingerprint: the message with its variable parts
//! (numbers, quoted text, long hex ids) replaced, plus the top frame of the
//! stack without its line and column. Per group: how often, in how many
//! visits and what share of all visits of the period (a visit is a
//! session's page views on one day of the site's calendar, as the overview
//! counts them; an error reaches its session's visit of its day), first
//! and last seen,
//! a count per day of the site's calendar, the browsers and pages, an
//! example stack, and for each saved funnel the conversion of the visits
//! that entered it with the error against those without.

use serde::{Deserialize, Serialize};

/// `GET /api/errors?site=…&from=…&to=…`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct ErrorsQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    /// The width of each group's `series` bucket.
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorsReport {
    /// The period's visits.
    pub sessions: u64,
    /// Most visits affected first.
    pub groups: Vec<ErrorGroup>,
    /// The period's errors and the visits they reached.
    #[serde(default)]
    pub totals: ErrorTotals,
    /// The period just before, when `compare` was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ErrorTotals>,
    /// A group's browsers and pages need at least this many visitors to
    /// be named.
    #[serde(default)]
    pub k: u64,
}

/// A period's errors, and the visits they reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorTotals {
    pub errors: u64,
    /// Visits with at least one error.
    pub sessions_affected: u64,
    /// The period's visits.
    pub sessions: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorGroup {
    pub fingerprint: String,
    /// The message with its variable parts replaced (`<n>`, `<s>`, `<hex>`).
    pub message: String,
    pub top_frame: Option<String>,
    pub count: u64,
    pub sessions: u64,
    /// `sessions` over all visits of the period, 0 to 1.
    pub session_share: f64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Errors per day of the site's calendar (`YYYY-MM-DD`), days with none left out.
    pub per_day: Vec<LabelCount>,
    /// Browsers the group happened in, each seen by at least `k` visitors
    /// (see [`ErrorsReport::k`]), most errors first.
    pub browsers: Vec<LabelCount>,
    /// Errors in browsers seen by fewer than `k` visitors: counted, not
    /// named, as a small group could point at a person.
    #[serde(default)]
    pub browsers_hidden: u64,
    /// Pages, as `browsers`.
    pub pages: Vec<LabelCount>,
    /// Errors on pages seen by fewer than `k` visitors.
    #[serde(default)]
    pub pages_hidden: u64,
    pub example_stack: Option<String>,
    /// One per saved funnel that some visit entered.
    pub funnels: Vec<FunnelImpact>,
    /// Errors in each bucket of the period at the query's granularity, on
    /// the site's calendar, empty buckets included.
    #[serde(default)]
    pub series: Vec<LabelCount>,
    /// This group's errors in the period just before, when `compare` was
    /// asked (0: it is new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_count: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

/// A saved funnel's conversion (entered step 1, reached the last step) for
/// the visits that hit an error and for those that did not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelImpact {
    pub funnel: String,
    pub with_error: Conversion,
    pub without_error: Conversion,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversion {
    pub entered: u64,
    pub converted: u64,
    /// `converted / entered`, 0 when no visit entered.
    pub rate: f64,
}

impl Conversion {
    pub fn new(entered: u64, converted: u64) -> Self {
        Conversion {
            entered,
            converted,
            rate: if entered == 0 {
                0.0
            } else {
                converted as f64 / entered as f64
            },
        }
    }
}
