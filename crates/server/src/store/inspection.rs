//! What can be read about the store itself rather than a site's reports:
//! whether it answers and its size (for `/readyz` and `/metrics`), and raw
//! counts and dumps (for the demo's "is it empty" and for tests, the
//! privacy tests above all, which must prove something is stored nowhere).

use std::collections::BTreeMap;

use super::StoreError;

/// The store seen from outside the reports. Calls block, like
/// [`super::IngestStore`]'s.
pub trait StoreInspection: Send + Sync + std::fmt::Debug {
    /// Whether the store answers a query.
    fn ping(&self) -> Result<(), StoreError>;

    /// Bytes the store takes on disk.
    fn size_on_disk(&self) -> u64;

    /// Number of events stored for `site`.
    fn event_count(&self, site: &str) -> Result<u64, StoreError>;

    /// Events stored for `site`, counted by kind.
    fn count_by_kind(&self, site: &str) -> Result<BTreeMap<String, u64>, StoreError>;

    /// Consent records stored for `site`.
    fn consent_count(&self, site: &str) -> Result<u64, StoreError>;

    /// Banner impressions counted for `site`, all days.
    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError>;

    /// Bot requests counted for `site`, all days.
    fn bot_requests(&self, site: &str) -> Result<u64, StoreError>;

    /// Every value of every stored row of `table` rendered as text, for
    /// privacy checks that must prove something is stored nowhere.
    fn dump_as_text(&self, table: &str) -> Result<String, StoreError>;
}
