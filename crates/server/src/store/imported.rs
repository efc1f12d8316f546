//! What the store keeps of imports from other tools (see
//! [`sonde_protocol::imported`]): a row per site and day, and the day's
//! pages, sources and devices, apart from the events Sonde counted.

use std::collections::BTreeSet;

use sonde_protocol::imported::{ImportedDay, ImportedDimension, ImportedRow};

use super::StoreError;

/// One page, source or device of an imported day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub row: ImportedRow,
}

/// From the first day to the last one: every day an import can name.
pub const EVERY_DAY: (&str, &str) = ("0000-01-01", "9999-12-31");

/// Every day `days` and `rows` name, once: the days an import replaces.
pub(crate) fn days_of<'a>(days: &'a [ImportedDay], rows: &'a [DayRow]) -> BTreeSet<&'a str> {
    days.iter()
        .map(|d| d.day.as_str())
        .chain(rows.iter().map(|r| r.day.as_str()))
        .collect()
}

/// A stored row's dimension.
pub(crate) fn dimension_of(text: &str) -> Result<ImportedDimension, StoreError> {
    ImportedDimension::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("imported dimension {text:?}")))
}

/// The imported days. Calls block, like [`super::IngestStore`]'s.
pub trait ImportedStore: Send + Sync + std::fmt::Debug {
    /// Keeps `days` and their `rows` for `site`, replacing what was
    /// imported for those days before (importing a file again changes
    /// nothing).
    fn put_imported(
        &self,
        site: &str,
        days: &[ImportedDay],
        rows: &[DayRow],
    ) -> Result<(), StoreError>;

    /// The site's imported days from `first` to `last` (`YYYY-MM-DD`, both
    /// included), oldest first.
    fn imported_days(
        &self,
        site: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<ImportedDay>, StoreError>;

    /// Every imported day's pages, sources and devices of `site`, one row
    /// per day and label, by day (for moving a store).
    fn imported_day_rows(&self, site: &str) -> Result<Vec<DayRow>, StoreError>;

    /// Those days' pages, sources and devices, summed per dimension and
    /// label, in no order.
    fn imported_rows(
        &self,
        site: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<ImportedRow>, StoreError>;
}
