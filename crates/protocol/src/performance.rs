//! The performance report: web vitals at the 75th percentile, rated by the
//! thresholds web.dev publishes, per page and per day, and the conversion
//! of visits by how fast their landing page's largest paint was.

use serde::{Deserialize, Serialize};

use crate::Vital;
use crate::errors::Conversion;

/// `GET /api/performance?site=…&from=…&to=…[&goal=…]`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct PerformanceQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    /// A saved goal's id: conversion by LCP bucket is computed for it.
    #[serde(default)]
    pub goal: Option<String>,
    /// The width of each bucket of `series`.
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

/// Good, needs improvement, poor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub fn label(self) -> &'static str {
        match self {
            Rating::Good => "Good",
            Rating::NeedsImprovement => "Needs improvement",
            Rating::Poor => "Poor",
        }
    }
}

impl Vital {
    /// The largest good value and the largest that needs improvement
    /// (web.dev's thresholds); above the second is poor.
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Vital::Lcp => (2_500.0, 4_000.0),
            Vital::Inp => (200.0, 500.0),
            Vital::Cls => (0.1, 0.25),
            Vital::Fcp => (1_800.0, 3_000.0),
            Vital::Ttfb => (800.0, 1_800.0),
        }
    }

    pub fn rate(self, value: f64) -> Rating {
        let (good, fair) = self.thresholds();
        if value <= good {
            Rating::Good
        } else if value <= fair {
            Rating::NeedsImprovement
        } else {
            Rating::Poor
        }
    }

    /// The unit a value is in: "ms", or "" for layout shift.
    pub fn unit(self) -> &'static str {
        match self {
            Vital::Cls => "",
            _ => "ms",
        }
    }
}

/// One metric over some page loads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VitalSummary {
    pub metric: Vital,
    pub samples: u64,
    /// The 75th percentile, within 1 % of the sample of nearest rank: the
    /// samples are counted in bins that add up over days.
    pub p75: f64,
    /// The rating of the 75th percentile, exact (the percentile's
    /// value may lie across a threshold by less than 1 %).
    pub rating: Rating,
    /// Shares of the samples, 0 to 1.
    pub good: f64,
    pub needs_improvement: f64,
    pub poor: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PagePerformance {
    pub path: String,
    pub vitals: Vec<VitalSummary>,
}

/// The site's vitals in one bucket of time (an hour, day, week or month
/// of its calendar).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformancePoint {
    /// The bucket's start, ms since the epoch.
    pub start: i64,
    /// The bucket's start on the site's calendar: `2026-11-24`, or
    /// `2026-11-24T14:00` for an hour.
    pub local: String,
    pub vitals: Vec<VitalSummary>,
}

/// Visits whose landing page's LCP had a rating, and how many converted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LcpBucket {
    pub rating: Rating,
    pub conversion: Conversion,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceReport {
    /// Every vital over the whole site.
    pub site: Vec<VitalSummary>,
    /// Pages with at least `k` page loads measured, most measured first.
    pub pages: Vec<PagePerformance>,
    /// Each bucket of the query's granularity that has vitals, oldest first.
    pub series: Vec<PerformancePoint>,
    /// The goal conversion by LCP bucket, when a goal was asked for.
    pub goal: Option<String>,
    pub lcp_conversion: Vec<LcpBucket>,
    pub k: u64,
    /// Every vital over the whole site in the period just before, when
    /// `compare` was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Vec<VitalSummary>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_on_a_threshold_take_the_better_rating() {
        assert_eq!(Vital::Lcp.rate(2_500.0), Rating::Good);
        assert_eq!(Vital::Lcp.rate(2_501.0), Rating::NeedsImprovement);
        assert_eq!(Vital::Lcp.rate(4_000.1), Rating::Poor);
        assert_eq!(Vital::Cls.rate(0.1), Rating::Good);
        assert_eq!(Vital::Inp.rate(501.0), Rating::Poor);
    }
}
