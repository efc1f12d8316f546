//! The application's data on a cluster: everything but the events. Sites,
//! accounts and saved items (their own roles), and the consent records
//! and daily counts the [`super::ClusterStore`] reads beside the cluster's
//! events. PostgreSQL ([`super::PostgresStore`]) keeps them for every
//! Sonde process of a cluster; the DuckDB file ([`super::DuckDbStore`])
//! does for a single process.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sonde_protocol::ConsentRecord;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport};
use sonde_protocol::overview::{BotDay, OverviewQuery};

use super::transfer::{DailyCount, StoredConsent};
use super::{
    AccountStore, AlertStore, DigestStore, ImportedStore, SavedStore, SiteStore, StoreError,
};
use crate::reports::consent::DecisionTally;

/// The application's data, with the meaning the traits of the same
/// methods give them ([`super::IngestStore`], [`super::ReportStore`],
/// [`super::StoreInspection`]).
pub trait ApplicationStore:
    SiteStore + AccountStore + SavedStore + AlertStore + DigestStore + ImportedStore
{
    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError>;
    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;
    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError>;

    /// Removes the consent records of `consent_id` on `site` (their links
    /// stay in the chain); says how many.
    fn erase_consents(&self, site: &str, consent_id: &str) -> Result<u64, StoreError>;

    /// The bots turned away on each of the period's days that had any.
    fn bots_per_day(&self, q: &OverviewQuery, timezone: Tz) -> Result<Vec<BotDay>, StoreError>;
    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError>;
    fn consent_tallies(
        &self,
        site: &str,
        from: i64,
        to: i64,
        timezone: Tz,
    ) -> Result<Vec<DecisionTally>, StoreError>;
    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError>;
    fn consent_chain(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError>;

    /// See [`super::TransferStore`].
    fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError>;
    fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError>;
    fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError>;
    fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError>;

    fn ping(&self) -> Result<(), StoreError>;
    fn size_on_disk(&self) -> u64;
    fn consent_count(&self, site: &str) -> Result<u64, StoreError>;
    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError>;
    fn bot_requests(&self, site: &str) -> Result<u64, StoreError>;
    fn dump_as_text(&self, table: &str) -> Result<String, StoreError>;
}

/// The DuckDB file as the application's store of one process: its own
/// roles' methods, with no events in it.
mod on_duckdb {
    use super::*;
    use crate::store::{
        DuckDbStore, IngestStore, LifecycleStore, ReportStore, StoreInspection, TransferStore,
    };

    impl ApplicationStore for DuckDbStore {
        fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError> {
            IngestStore::record_consent(self, record, device)
        }

        fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
            IngestStore::count_banner_impression(self, site, day)
        }

        fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
            IngestStore::count_bot_request(self, site, day)
        }

        fn erase_consents(&self, site: &str, consent_id: &str) -> Result<u64, StoreError> {
            // No visitor id or session matches: only the consent records go.
            let receipt = LifecycleStore::erase(self, site, 0, i64::MAX, &[], Some(consent_id))?;
            Ok(receipt.consent_records_deleted)
        }

        fn bots_per_day(&self, q: &OverviewQuery, timezone: Tz) -> Result<Vec<BotDay>, StoreError> {
            DuckDbStore::bots_per_day(self, q, timezone)
        }

        fn consent_report(
            &self,
            site: &str,
            from: i64,
            to: i64,
            days: (NaiveDate, NaiveDate),
        ) -> Result<ConsentReport, StoreError> {
            ReportStore::consent_report(self, site, from, to, days)
        }

        fn consent_tallies(
            &self,
            site: &str,
            from: i64,
            to: i64,
            timezone: Tz,
        ) -> Result<Vec<DecisionTally>, StoreError> {
            ReportStore::consent_tallies(self, site, from, to, timezone)
        }

        fn consent_log(
            &self,
            site: &str,
            from: i64,
            to: i64,
        ) -> Result<Vec<ConsentLogEntry>, StoreError> {
            ReportStore::consent_log(self, site, from, to)
        }

        fn consent_chain(
            &self,
            site: &str,
            from: i64,
            to: i64,
        ) -> Result<Vec<ConsentLogEntry>, StoreError> {
            ReportStore::consent_chain(self, site, from, to)
        }

        fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError> {
            TransferStore::stored_consents(self, site)
        }

        fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError> {
            TransferStore::put_stored_consents(self, links)
        }

        fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError> {
            TransferStore::daily_counts(self, site)
        }

        fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError> {
            TransferStore::add_daily_counts(self, counts)
        }

        fn ping(&self) -> Result<(), StoreError> {
            StoreInspection::ping(self)
        }

        fn size_on_disk(&self) -> u64 {
            StoreInspection::size_on_disk(self)
        }

        fn consent_count(&self, site: &str) -> Result<u64, StoreError> {
            StoreInspection::consent_count(self, site)
        }

        fn banner_impressions(&self, site: &str) -> Result<u64, StoreError> {
            StoreInspection::banner_impressions(self, site)
        }

        fn bot_requests(&self, site: &str) -> Result<u64, StoreError> {
            StoreInspection::bot_requests(self, site)
        }

        fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
            StoreInspection::dump_as_text(self, table)
        }
    }
}
