//! Figures imported from another analytics tool, kept apart from what
//! Sonde counted (see [`sonde_protocol::imported`]): reading Plausible
//! CE's CSV export ([`plausible`]) and keeping its days in the store,
//! without the days Sonde counted itself, so that no visit is counted
//! twice. How imported days join a report is in
//! [`crate::reports::imported`].

pub mod plausible;

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use sonde_protocol::usage::UsageQuery;
use sonde_protocol::{Filters, Granularity};

use sonde_protocol::imported::{ImportedDay, ImportedRow};

use crate::reports;
use crate::store::imported::DayRow;
use crate::store::{ImportedStore, StoreError, Stores};
pub use plausible::{ImportError, PlausibleExport};

/// The site's imported days that belong to `[from, to)` (see
/// [`reports::imported::within`]).
pub fn days_within(
    store: &dyn ImportedStore,
    site: &str,
    (from, to): (i64, i64),
    timezone: Tz,
) -> Result<Vec<ImportedDay>, StoreError> {
    let (first, last) = reports::imported::calendar_days(from, to, timezone);
    let days = store.imported_days(site, &first, &last)?;
    Ok(reports::imported::within(days, from, to, timezone))
}

/// The pages, sources and devices of those days, summed.
pub fn rows_of(
    store: &dyn ImportedStore,
    site: &str,
    days: &[ImportedDay],
) -> Result<Vec<ImportedRow>, StoreError> {
    match (days.first(), days.last()) {
        (Some(first), Some(last)) => store.imported_rows(site, &first.day, &last.day),
        _ => Ok(Vec::new()),
    }
}

/// What an import kept, and what it left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReceipt {
    /// Days kept, and the first and last of them.
    pub days: u64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub visitors: u64,
    pub pageviews: u64,
    /// Days of the export Sonde had counted itself, left out.
    pub days_sonde_counted: u64,
}

/// Keeps the export's days for `site` (replacing what an earlier import
/// held for them), but not the days on which Sonde has page views of its
/// own.
pub fn keep(
    stores: &Stores,
    site: &str,
    timezone: Tz,
    export: PlausibleExport,
) -> Result<ImportReceipt, StoreError> {
    let counted = days_sonde_counted(stores, site, timezone, &export)?;
    let (days, skipped): (Vec<_>, Vec<_>) = export
        .days
        .into_iter()
        .partition(|d| !counted.contains(&d.day));
    let rows: Vec<DayRow> = export
        .rows
        .into_iter()
        .filter(|r| !counted.contains(&r.day))
        .collect();
    stores.imported.put_imported(site, &days, &rows)?;
    Ok(ImportReceipt {
        days: days.len() as u64,
        first_day: days.first().map(|d| d.day.clone()),
        last_day: days.last().map(|d| d.day.clone()),
        visitors: days.iter().map(|d| d.visitors).sum(),
        pageviews: days.iter().map(|d| d.pageviews).sum(),
        days_sonde_counted: skipped.len() as u64,
    })
}

/// The export's days on which Sonde counted page views, read a year at a
/// time (the reports' longest period).
fn days_sonde_counted(
    stores: &Stores,
    site: &str,
    timezone: Tz,
    export: &PlausibleExport,
) -> Result<BTreeSet<String>, StoreError> {
    let (Some(first), Some(last)) = (export.days.first(), export.days.last()) else {
        return Ok(BTreeSet::new());
    };
    let start = |day: &str| -> i64 {
        let day: NaiveDate = day.parse().unwrap_or_default();
        timezone
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    };
    let (from, to) = (start(&first.day), start(&last.day) + 26 * 3_600_000);
    let mut counted = BTreeSet::new();
    let year = 365 * 24 * 3_600_000;
    let mut chunk = from;
    while chunk < to {
        let query = UsageQuery {
            site: site.to_owned(),
            from: chunk,
            to: (chunk + year).min(to),
            granularity: Granularity::Day,
            filters: Filters::default(),
            ..UsageQuery::default()
        };
        let usage = stores.reports.usage(&query, timezone, 1)?;
        counted.extend(
            usage
                .series
                .into_iter()
                .filter(|p| p.pageviews > 0)
                .map(|p| p.local),
        );
        chunk += year;
    }
    Ok(counted)
}
