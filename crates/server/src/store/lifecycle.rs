//! What happens to stored data after it arrived: a visitor's erasure, each
//! site's retention, and the rollup of days that are over.

use sonde_protocol::goal::Goal;
use sonde_protocol::{EraseReceipt, SiteSettings};

use super::{RetentionOutcome, RollupOutcome, StoreError};

/// Removes and condenses stored data. Calls block, like
/// [`super::IngestStore`]'s.
pub trait LifecycleStore: Send + Sync + std::fmt::Debug {
    /// Deletes what can still be linked to one visitor of `site`: events of
    /// `visitor_id` at or after `since_ms` (the start of the salt's day),
    /// events of the given sessions, and the consent records of `consent_id`.
    fn erase(
        &self,
        site: &str,
        visitor_id: i64,
        since_ms: i64,
        sessions: &[String],
        consent_id: Option<&str>,
    ) -> Result<EraseReceipt, StoreError>;

    /// Removes from the disks what erasures took out of the reports, for a
    /// store whose erasure does not delete at once; returns how many
    /// events it removed.
    fn purge_erased(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// Deletes what `site`'s retention no longer allows, as of `now_ms`:
    /// events of each category older than its period, and the campaign
    /// parameters of page views older than the marketing period.
    fn apply_retention(
        &self,
        site: &SiteSettings,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StoreError>;

    /// Rolls up to `max_days` of `site`'s days that are over as of
    /// `now_ms` into per-day figures (usage, visits, and their conversions
    /// for each of the site's saved `goals`), which reports then add up
    /// instead of counting events; a store without a rollup does nothing.
    fn roll_up(
        &self,
        _site: &SiteSettings,
        _goals: &[Goal],
        _now_ms: i64,
        _max_days: usize,
    ) -> Result<RollupOutcome, StoreError> {
        Ok(RollupOutcome::default())
    }
}
