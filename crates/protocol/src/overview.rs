//! The overview query: a site's key figures for a period, the same for the
//! period before, and its breakdowns (pages, entry and exit pages, sources,
//! campaigns, browsers, systems, devices).
//!
//! Definitions, for page views in the half-open range `[from, to)`:
//! - a *session* is a browser tab's session id (a page view without one, as
//!   when `usage` was granted without storage, is a session of its own);
//! - *visitors* counts distinct daily visitor ids, so a person who comes back
//!   on another day counts again (ids cannot be linked across days);
//! - *bounce rate* is the share of sessions with one page view;
//! - *visit duration* is a session's last page view minus its first;
//! - a session's *entry* and *exit* pages are its first and last page
//!   views; its source, referrer and campaign are as in [`crate::filters`].
//!
//! Filters select sessions (see [`crate::filters`]). Breakdown rows with fewer than `k`
//! visitors are not listed, only counted: a small group could point at a
//! person.

use serde::{Deserialize, Serialize};

/// What to look at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OverviewQuery {
    pub site: String,
    /// Start, ms since the Unix epoch (inclusive).
    pub from: i64,
    /// End, ms since the Unix epoch (exclusive).
    pub to: i64,
    #[serde(flatten)]
    pub filters: Filters,
    /// What `previous` covers: the period just before (the default) or
    /// `year_before` (the same weekdays 52 weeks back).
    #[serde(default)]
    pub versus: crate::Versus,
}

pub use crate::filters::Filters;

/// Key figures of one period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyFigures {
    pub visitors: u64,
    pub sessions: u64,
    pub pageviews: u64,
    /// Page views per session; 0 without sessions.
    pub views_per_session: f64,
    /// Share of sessions with one page view, 0 to 1.
    pub bounce_rate: f64,
    /// Mean visit duration, ms.
    pub avg_duration_ms: f64,
    /// Under a filter, fewer than k visitors: the figures are not shown
    /// (all zero), as a group this small could point at a person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fewer_than_k: bool,
}

/// One row of a breakdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakdownRow {
    /// The page, source, browser…
    pub label: String,
    pub visitors: u64,
    /// Sessions, or page views for the pages breakdown.
    pub count: u64,
}

/// The most common values of one dimension, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    /// Rows of at least `k` visitors, at most ten.
    pub rows: Vec<BreakdownRow>,
    /// Rows left out because each had fewer than `k` visitors.
    pub small_groups: u64,
}

/// The answer to an [`OverviewQuery`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverviewReport {
    pub current: KeyFigures,
    /// The period `versus` names.
    pub previous: KeyFigures,
    /// Breakdown rows need at least this many visitors.
    pub k: u64,
    pub pages: Breakdown,
    pub entry_pages: Breakdown,
    pub exit_pages: Breakdown,
    pub sources: Breakdown,
    #[serde(default)]
    pub referrers: Breakdown,
    pub campaigns: Breakdown,
    pub browsers: Breakdown,
    pub os: Breakdown,
    pub devices: Breakdown,
    /// Requests from bots turned away (counted, never stored), per day of
    /// the site's calendar in the period; days without any left out.
    #[serde(default)]
    pub bots: Vec<BotDay>,
    /// What `current` holds of imported days, with their pages, sources
    /// and devices, when any are in it (see [`crate::imported`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<crate::imported::ImportedFigures>,
}

/// The bots turned away on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotDay {
    /// The site's local day, `YYYY-MM-DD`.
    pub day: String,
    pub requests: u64,
}

impl KeyFigures {
    /// The relative change from `previous` to `self` of each figure, as a
    /// fraction (0.25 is +25 %); `None` where `previous` is zero.
    pub fn change(&self, previous: &KeyFigures) -> [Option<f64>; 6] {
        let rel = |now: f64, before: f64| (before != 0.0).then(|| (now - before) / before);
        [
            rel(self.visitors as f64, previous.visitors as f64),
            rel(self.sessions as f64, previous.sessions as f64),
            rel(self.pageviews as f64, previous.pageviews as f64),
            rel(self.views_per_session, previous.views_per_session),
            rel(self.bounce_rate, previous.bounce_rate),
            rel(self.avg_duration_ms, previous.avg_duration_ms),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_travel_as_flat_query_parameters() {
        let q: OverviewQuery =
            serde_json::from_str(r#"{"site":"shop","from":1,"to":2,"source":"news.example"}"#)
                .unwrap();
        assert_eq!(q.filters.source.as_deref(), Some("news.example"));
        assert_eq!(q.filters.page, None);
    }

    #[test]
    fn a_change_is_relative_and_absent_from_zero() {
        let now = KeyFigures {
            visitors: 15,
            sessions: 20,
            ..Default::default()
        };
        let before = KeyFigures {
            visitors: 10,
            ..Default::default()
        };
        let change = now.change(&before);
        assert_eq!(change[0], Some(0.5));
        assert_eq!(change[1], None);
    }
}
