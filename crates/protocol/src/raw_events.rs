//! `GET /api/raw-events`: a period's events as stored, one row each, for
//! a BI tool or a script (CSV or Parquet, streamed). The columns are the
//! server's (`crates/server/src/raw_events.rs`), listed in the README.

use serde::{Deserialize, Serialize};

/// The file a raw export is written as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RawEventsFormat {
    /// RFC 4180, a header line first; empty cells where a kind has no value.
    #[default]
    Csv,
    /// Apache Parquet, snappy-compressed, typed columns (NULL where a kind
    /// has no value).
    Parquet,
}

impl RawEventsFormat {
    pub fn extension(self) -> &'static str {
        match self {
            RawEventsFormat::Csv => "csv",
            RawEventsFormat::Parquet => "parquet",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            RawEventsFormat::Csv => "text/csv; charset=utf-8",
            RawEventsFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// `GET /api/raw-events?site=&from=&to=&format=csv|parquet`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RawEventsQuery {
    pub site: String,
    /// ms since the epoch, inclusive.
    pub from: i64,
    /// ms since the epoch, exclusive.
    pub to: i64,
    #[serde(default)]
    pub format: RawEventsFormat,
}
