//! Sonde past one machine: the events on a ClickHouse cluster
//! ([`ClickHouseStore`]), everything else (consent records, daily counts,
//! sites, accounts, saved funnels and goals) in the application's store
//! beside it ([`ApplicationStore`]): PostgreSQL, which every Sonde process
//! of the cluster shares, or this process's DuckDB file.
//!
//! [`ClusterStore`] plays the roles whose data is split between the two:
//! ingest, the lifecycle, the reports and inspection; the others are the
//! application store's alone (see [`ClusterStore::stores`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport};
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step};
use sonde_protocol::goal::Goal;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{UsageQuery, UsageReport};
use sonde_protocol::{ConsentRecord, EraseReceipt, SiteSettings};

use super::transfer::{DailyCount, EventPosition, StoredConsent};
use super::{
    ApplicationStore, ClickHouseStore, FunnelRows, IngestStore, LifecycleStore, ReportStore,
    RetentionOutcome, StoreError, StoreInspection, StoredEvent, Stores, TransferStore,
    WriteOutcome,
};
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::conversions::{ConversionTallies, GoalHit, VisitRow};
use crate::reports::errors::ErrorRow;
use crate::reports::events::InteractionRow;
use crate::reports::funnel::Occurrence;
use crate::reports::performance::{LandingTally, VitalRow, VitalTallies};

/// Events on the cluster, the application's data in `app`.
#[derive(Debug)]
pub struct ClusterStore {
    events: ClickHouseStore,
    app: Arc<dyn ApplicationStore>,
}

impl ClusterStore {
    pub fn new(events: ClickHouseStore, app: Arc<dyn ApplicationStore>) -> Self {
        ClusterStore { events, app }
    }

    /// Every role: the split ones played by the cluster store, the rest by
    /// the application's store.
    pub fn stores(self) -> Stores {
        let app = Arc::clone(&self.app);
        let split = Arc::new(self);
        Stores {
            ingest: split.clone(),
            lifecycle: split.clone(),
            reports: split.clone(),
            sites: app.clone(),
            accounts: app.clone(),
            saved: app.clone(),
            alerts: app.clone(),
            digests: app.clone(),
            imported: app,
            inspection: split.clone(),
            transfer: split,
        }
    }
}

impl IngestStore for ClusterStore {
    fn write_batches(&self, batches: &[&[StoredEvent]]) -> Result<Vec<WriteOutcome>, StoreError> {
        self.events.write_batches(batches)
    }

    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError> {
        self.app.record_consent(record, device)
    }

    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        self.app.count_banner_impression(site, day)
    }

    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        self.app.count_bot_request(site, day)
    }
}

impl LifecycleStore for ClusterStore {
    fn erase(
        &self,
        site: &str,
        visitor_id: i64,
        since_ms: i64,
        sessions: &[String],
        consent_id: Option<&str>,
    ) -> Result<EraseReceipt, StoreError> {
        let events_deleted = self.events.erase(site, visitor_id, since_ms, sessions)?;
        let consent_records_deleted = match consent_id {
            Some(id) => self.app.erase_consents(site, id)?,
            None => 0,
        };
        Ok(EraseReceipt {
            events_deleted,
            consent_records_deleted,
        })
    }

    fn purge_erased(&self) -> Result<usize, StoreError> {
        self.events.purge_erased()
    }

    fn apply_retention(
        &self,
        site: &SiteSettings,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        self.events.apply_retention(site, now_ms)
    }
}

impl FunnelRows for ClusterStore {
    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
        self.events.funnel_occurrences(scope, funnel)
    }

    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: FunnelUnit,
        dimension: FunnelDimension,
    ) -> Result<HashMap<String, String>, StoreError> {
        self.events.unit_dimension(scope, unit, dimension)
    }
}

impl ReportStore for ClusterStore {
    fn usage(&self, q: &UsageQuery, timezone: Tz, k: u64) -> Result<UsageReport, StoreError> {
        self.events.usage(q, timezone, k)
    }

    fn overview(
        &self,
        q: &OverviewQuery,
        timezone: Tz,
        k: u64,
    ) -> Result<OverviewReport, StoreError> {
        let bots = self.app.bots_per_day(q, timezone)?;
        self.events.overview(q, timezone, k, bots)
    }

    fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
        self.events.errors(scope)
    }

    fn interactions(&self, scope: &Scope) -> Result<Vec<InteractionRow>, StoreError> {
        self.events.interactions(scope)
    }

    fn visits(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VisitRow>, StoreError> {
        self.events.visits(scope, timezone)
    }

    fn goal_hits(
        &self,
        scope: &Scope,
        timezone: Tz,
        target: &Step,
    ) -> Result<Vec<GoalHit>, StoreError> {
        self.events.goal_hits(scope, timezone, target)
    }

    fn conversion_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
        buckets: &[Bucket],
    ) -> Result<ConversionTallies, StoreError> {
        self.events
            .conversion_tallies(scope, timezone, goal, buckets)
    }

    fn visit_count(&self, scope: &Scope, timezone: Tz) -> Result<u64, StoreError> {
        self.events.visit_count(scope, timezone)
    }

    fn vitals(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VitalRow>, StoreError> {
        self.events.vitals(scope, timezone)
    }

    fn vital_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        buckets: &[Bucket],
    ) -> Result<VitalTallies, StoreError> {
        self.events.vital_tallies(scope, timezone, buckets)
    }

    fn landing_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
    ) -> Result<[LandingTally; 3], StoreError> {
        self.events.landing_tallies(scope, timezone, goal)
    }

    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError> {
        self.app.consent_report(site, from, to, days)
    }

    fn consent_tallies(
        &self,
        site: &str,
        from: i64,
        to: i64,
        timezone: Tz,
    ) -> Result<Vec<crate::reports::consent::DecisionTally>, StoreError> {
        self.app.consent_tallies(site, from, to, timezone)
    }

    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        self.app.consent_log(site, from, to)
    }

    fn consent_chain(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        self.app.consent_chain(site, from, to)
    }
}

impl StoreInspection for ClusterStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.events.ping()?;
        self.app.ping()
    }

    fn size_on_disk(&self) -> u64 {
        let events = self.events.size_on_disk().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the cluster's size is unknown");
            0
        });
        events + self.app.size_on_disk()
    }

    fn event_count(&self, site: &str) -> Result<u64, StoreError> {
        Ok(self.events.count_by_kind(site)?.values().sum())
    }

    fn count_by_kind(&self, site: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        self.events.count_by_kind(site)
    }

    fn consent_count(&self, site: &str) -> Result<u64, StoreError> {
        self.app.consent_count(site)
    }

    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError> {
        self.app.banner_impressions(site)
    }

    fn bot_requests(&self, site: &str) -> Result<u64, StoreError> {
        self.app.bot_requests(site)
    }

    fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
        if table == "events" {
            return self.events.dump_as_text("events");
        }
        self.app.dump_as_text(table)
    }
}

impl TransferStore for ClusterStore {
    fn events_after(
        &self,
        site: &str,
        after: Option<&EventPosition>,
        limit: usize,
    ) -> Result<Vec<(EventPosition, StoredEvent)>, StoreError> {
        self.events.events_after(site, after, limit)
    }

    fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError> {
        self.app.stored_consents(site)
    }

    fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError> {
        self.app.put_stored_consents(links)
    }

    fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError> {
        self.app.daily_counts(site)
    }

    fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError> {
        self.app.add_daily_counts(counts)
    }
}
