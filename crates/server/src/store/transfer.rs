//! What moving a store's data to another store reads and writes beyond
//! the other roles: events page by page in the order they were stored,
//! consent records as stored (with their place and hashes in the chain,
//! erased ones as the link they left), and the daily counts. Sites,
//! accounts and saved items move through their own roles; see
//! [`crate::transfer`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sonde_protocol::consent_report::ConsentLogEntry;

use super::{StoreError, StoredEvent};

/// Where a page of events ended: its last event's time, place in the
/// order of storing, and id. Events move in this order, so that those of
/// one millisecond keep the order they were stored in (which reports
/// break ties by) and a store can read a page from its time index. The
/// default is before every event (none is before the epoch, none has an
/// empty id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPosition {
    pub ts: i64,
    pub seq: u64,
    pub id: String,
}

/// A consent record as stored: its link in the chain (its content gone if
/// it was erased), and when it was received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConsent {
    #[serde(flatten)]
    pub link: ConsentLogEntry,
    /// ms since the epoch, on the server.
    pub received_at: i64,
    /// When it was erased (ms since the epoch), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<i64>,
}

/// What a daily count counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DailyCounter {
    BannerImpressions,
    BotRequests,
}

/// One day's count of a site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    pub site: String,
    pub counter: DailyCounter,
    pub day: NaiveDate,
    pub count: u64,
}

/// Reading out and writing in what a store holds, as stored. Calls block,
/// like [`super::IngestStore`]'s.
pub trait TransferStore: Send + Sync + std::fmt::Debug {
    /// Up to `limit` of `site`'s events in the reports (erased ones not),
    /// by time, then in the order they were stored, from after `after`;
    /// each with its position.
    fn events_after(
        &self,
        site: &str,
        after: Option<&EventPosition>,
        limit: usize,
    ) -> Result<Vec<(EventPosition, StoredEvent)>, StoreError>;

    /// `site`'s consent chain, every link in order.
    fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError>;

    /// Stores the links of a chain as they are (after any the site has),
    /// the last one becoming the chain's head.
    fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError>;

    /// `site`'s daily counts, every day that has one.
    fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError>;

    /// Adds each count to its day's.
    fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError>;
}

impl DailyCounter {
    /// Its table, on every engine.
    pub(crate) fn table(self) -> &'static str {
        match self {
            DailyCounter::BannerImpressions => "banner_impressions",
            DailyCounter::BotRequests => "bot_requests",
        }
    }

    pub(crate) const ALL: [DailyCounter; 2] =
        [DailyCounter::BannerImpressions, DailyCounter::BotRequests];
}

/// Every day a store may hold a count for (what every engine can read as
/// a date), for reading all of a site's counts.
pub(crate) fn all_days() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date"),
        NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
    )
}
