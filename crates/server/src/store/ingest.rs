//! What arrives from browsers and is written as it comes: events, consent
//! records, and the daily counts of banners shown and bots turned away.

use chrono::NaiveDate;
use sonde_protocol::ConsentRecord;

use super::{StoreError, StoredEvent, WriteOutcome};

/// Writes what ingest accepted. Calls block: use them from a blocking task
/// or the writer thread, never on the async executor.
pub trait IngestStore: Send + Sync + std::fmt::Debug {
    /// Writes several batches in one transaction (a group commit), skipping
    /// ids already stored and repeats, and says for each batch how many of
    /// its events were new: an id sent twice counts as new in the first batch
    /// that carried it only. Returns once everything is durable.
    fn write_batches(&self, batches: &[&[StoredEvent]]) -> Result<Vec<WriteOutcome>, StoreError>;

    /// One batch; see [`IngestStore::write_batches`].
    fn write(&self, events: &[StoredEvent]) -> Result<WriteOutcome, StoreError> {
        let outcomes = self.write_batches(&[events])?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    /// Stores a consent record with the device class of the browser that
    /// sent it; `false` when it was stored before.
    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError>;

    /// Counts one banner shown for `site` on `day` (a download of its
    /// banner settings, see [`crate::http::embed`]).
    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;

    /// Counts one request from a bot for `site` on `day`.
    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;
}

/// Each batch's events whose id no earlier event of the group carried,
/// in order: what a group of batches may store, before any engine looks
/// at the ids it holds.
pub(crate) fn first_sightings<'e>(batches: &[&'e [StoredEvent]]) -> Vec<Vec<&'e StoredEvent>> {
    let mut seen = std::collections::HashSet::new();
    batches
        .iter()
        .map(|batch| {
            batch
                .iter()
                .filter(|e| seen.insert(e.id.as_str()))
                .collect()
        })
        .collect()
}

/// What a group's write did for each batch, given its
/// [`first_sightings`] and the ids that were new to the store (`None`:
/// all of them were).
pub(crate) fn outcomes(
    batches: &[&[StoredEvent]],
    firsts: &[Vec<&StoredEvent>],
    new_ids: Option<&std::collections::HashSet<String>>,
) -> Vec<WriteOutcome> {
    batches
        .iter()
        .zip(firsts)
        .map(|(batch, firsts)| {
            let inserted = match new_ids {
                None => firsts.len(),
                Some(ids) => firsts.iter().filter(|e| ids.contains(&e.id)).count(),
            };
            WriteOutcome {
                inserted,
                duplicates: batch.len() - inserted,
            }
        })
        .collect()
}
