//! The usage query: page views and unique visitors over time, and top pages.
//!
//! Visitor ids rotate at the site's midnight (nobody can link two days of
//! one person), so *visitors* are counted per day of the site's calendar
//! and added up: a period's visitors (a week's, a page's over a month) are
//! the sum over its days of each day's distinct visitor ids, and an hour's
//! are the distinct ids in that hour.

use serde::{Deserialize, Serialize};

/// The width of one bucket of a time series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    #[default]
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl Granularity {
    /// The bucket width in ms, for limits and estimates: buckets follow the
    /// site's calendar, where days, weeks and months vary in length.
    pub fn approx_millis(self) -> i64 {
        const HOUR: i64 = 60 * 60 * 1000;
        match self {
            Granularity::Hour => HOUR,
            Granularity::Day => 24 * HOUR,
            Granularity::Week => 7 * 24 * HOUR,
            Granularity::Month => 30 * 24 * HOUR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }
}

/// A usage question: one site, the half-open range `[from, to)` in ms since
/// the Unix epoch, bucketed by `granularity` on the site's calendar (its
/// timezone's hours, days, weeks from Monday, and months).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct UsageQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    #[serde(default)]
    pub granularity: Granularity,
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

/// The answer to a [`UsageQuery`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// One point per bucket in the range, empty buckets included, oldest first.
    pub series: Vec<UsagePoint>,
    /// The most viewed pages in the range, most viewed first; a page seen
    /// by fewer than k visitors is not listed, only counted in
    /// `top_pages_hidden` (a small group could point at a person).
    pub top_pages: Vec<PageStat>,
    #[serde(default)]
    pub top_pages_hidden: u64,
    pub total_pageviews: u64,
    pub total_visitors: u64,
    /// Under a filter, fewer than k visitors: totals, series and pages are
    /// not shown (all zero), as a group this small could point at a person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fewer_than_k: bool,
    /// The period just before, when `compare` was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<UsageTotals>,
    /// What the totals and series hold of imported days, when any are in
    /// them (see [`crate::imported`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<crate::imported::ImportedFigures>,
}

/// A period's page views and unique visitors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageTotals {
    pub pageviews: u64,
    pub visitors: u64,
}

/// Page views and unique visitors in the bucket starting at `start` (ms
/// since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsagePoint {
    pub start: i64,
    /// The bucket's start on the site's calendar: `2026-11-24`, or
    /// `2026-11-24T14:00` for an hour.
    #[serde(default)]
    pub local: String,
    pub pageviews: u64,
    pub visitors: u64,
}

/// One page's page views and unique visitors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageStat {
    pub path: String,
    pub pageviews: u64,
    pub visitors: u64,
}

/// `GET /api/realtime?site=…`: who is on the site now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RealtimeQuery {
    pub site: String,
}

/// The last 30 minutes: unique visitors, page views, and the pages they
/// are on (pages of fewer than k visitors only counted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RealtimeReport {
    /// Start of the window, ms since the epoch.
    pub since: i64,
    pub visitors: u64,
    pub pageviews: u64,
    pub pages: Vec<PageStat>,
    pub pages_hidden: u64,
}

/// The realtime window: 30 minutes.
pub const REALTIME_WINDOW_MS: i64 = 30 * 60 * 1000;
