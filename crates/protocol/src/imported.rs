//! Figures imported from another analytics tool: Plausible CE's CSV
//! export, a day at a time. They are kept apart from what Sonde counted
//! (Sonde never saw these visits, their consent or their events), and the
//! reports add them only where a day's figures are all that is asked: the
//! key figures and the series by day, week or month, without filters.
//! Hourly series and filtered views show Sonde's own counts alone, and the
//! report says when imported figures are in it ([`ImportedFigures`]).

use serde::{Deserialize, Serialize};

/// One imported day of a site: its visitors (distinct that day), visits,
/// page views, one-page visits and the visits' summed duration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedDay {
    /// `2025-11-30`, on the site's calendar as the exporting tool kept it.
    pub day: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub bounces: u64,
    /// Seconds, summed over the day's visits.
    pub visit_duration_s: u64,
}

/// What a breakdown row of an import counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportedDimension {
    Page,
    Source,
    Device,
}

impl ImportedDimension {
    pub const ALL: [ImportedDimension; 3] = [
        ImportedDimension::Page,
        ImportedDimension::Source,
        ImportedDimension::Device,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportedDimension::Page => "page",
            ImportedDimension::Source => "source",
            ImportedDimension::Device => "device",
        }
    }

    pub fn parse(text: &str) -> Option<ImportedDimension> {
        ImportedDimension::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// One page, source or device of an import, on one day (as stored) or
/// summed over a period (as reported).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedRow {
    pub dimension: ImportedDimension,
    pub label: String,
    /// Visitors summed over the days (each day's distinct visitors).
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
}

/// The imported part of a report: where it came from, the days it covers
/// in the period, and what it added.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedFigures {
    /// The tool the figures came from: "Plausible CE".
    pub source: String,
    /// The first and last imported day in the period.
    pub first_day: String,
    pub last_day: String,
    pub days: u64,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    /// The period's imported pages, sources and devices, most visitors
    /// first (rows of fewer than k visitors left out, as Sonde's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<ImportedRow>,
}

/// The tool Sonde imports from, as reports name it.
pub const PLAUSIBLE: &str = "Plausible CE";
