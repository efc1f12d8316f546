//! The store's roles ([`crate::store`]) for [`DuckDbStore`]: each method
//! takes the connection and hands it to the file of its concern.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport};
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step, StepResult};
use sonde_protocol::goal::Goal;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{UsageQuery, UsageReport};
use sonde_protocol::{ConsentRecord, EraseReceipt, SiteSettings};

use super::counters::{self, Daily};
use super::visits;
use super::{
    DuckDbStore, consents, conversions, erase, funnels, inspect, overview, rollup, rows, sites,
    transfer, usage, vitals, write,
};
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::conversions::{ConversionTallies, GoalHit, VisitRow};
use crate::reports::errors::{ErrorRow, FunnelVisits};
use crate::reports::events::InteractionRow;
use crate::reports::funnel::Occurrence;
use crate::reports::performance::{LandingTally, VitalRow, VitalTallies};
use crate::store::transfer::{DailyCount, EventPosition, StoredConsent};
use crate::store::{
    FunnelBreakdown, FunnelRows, IngestStore, LifecycleStore, ReportStore, RetentionOutcome,
    RollupOutcome, SiteStore, StoreError, StoreInspection, StoredEvent, TransferStore,
    WriteOutcome,
};

impl IngestStore for DuckDbStore {
    fn write_batches(&self, batches: &[&[StoredEvent]]) -> Result<Vec<WriteOutcome>, StoreError> {
        write::write_batches(&self.conn(), &self.known_paths, super::now_ms(), batches)
    }

    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError> {
        consents::record_consent(&mut self.conn(), record, device)
    }

    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        counters::count_one(&self.conn(), Daily::BannerImpressions, site, day)
    }

    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        counters::count_one(&self.conn(), Daily::BotRequests, site, day)
    }
}

impl LifecycleStore for DuckDbStore {
    fn erase(
        &self,
        site: &str,
        visitor_id: i64,
        since_ms: i64,
        sessions: &[String],
        consent_id: Option<&str>,
    ) -> Result<EraseReceipt, StoreError> {
        // The copy of path numbers is dropped before the store is let go,
        // so no write in between numbers a path by a forgotten number.
        let mut conn = self.conn();
        let receipt = erase::erase(&mut conn, site, visitor_id, since_ms, sessions, consent_id);
        self.known_paths.forget_site(site);
        receipt
    }

    fn apply_retention(
        &self,
        site: &SiteSettings,
        now_ms: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        let mut conn = self.conn();
        write::forget_old_ids(&conn, now_ms)?;
        let outcome = erase::apply_retention(&mut conn, site, now_ms);
        self.known_paths.forget_site(&site.key);
        outcome
    }

    fn roll_up(
        &self,
        site: &SiteSettings,
        goals: &[Goal],
        now_ms: i64,
        max_days: usize,
    ) -> Result<RollupOutcome, StoreError> {
        rollup::roll_up(self, site, goals, now_ms, max_days)
    }
}

impl FunnelRows for DuckDbStore {
    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
        funnels::occurrences(&self.conn(), scope, funnel)
    }

    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: FunnelUnit,
        dimension: FunnelDimension,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        funnels::unit_dimension(&self.conn(), scope, unit, dimension)
    }
}

impl ReportStore for DuckDbStore {
    fn usage(&self, q: &UsageQuery, timezone: Tz, k: u64) -> Result<UsageReport, StoreError> {
        usage::usage(&self.conn(), q, timezone, k)
    }

    fn overview(
        &self,
        q: &OverviewQuery,
        timezone: Tz,
        k: u64,
    ) -> Result<OverviewReport, StoreError> {
        overview::overview(&self.conn(), q, timezone, k)
    }

    fn funnel(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<StepResult>, StoreError> {
        if funnels::needs_props(funnel) {
            return crate::store::reference_funnel(self, scope, funnel);
        }
        funnels::funnel_in_sql(&self.conn(), scope, funnel)
    }

    fn funnel_visits(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<FunnelVisits, StoreError> {
        if funnels::needs_props(funnel) || funnel.unit != FunnelUnit::Session {
            return crate::store::reference_funnel_visits(self, scope, funnel);
        }
        funnels::funnel_visits_in_sql(&self.conn(), scope, funnel)
    }

    fn funnel_breakdown(
        &self,
        scope: &Scope,
        timezone: Tz,
        funnel: &FunnelDefinition,
        dimension: FunnelDimension,
    ) -> Result<FunnelBreakdown, StoreError> {
        if funnels::needs_props(funnel) {
            return crate::store::reference_funnel_breakdown(self, scope, funnel, dimension);
        }
        funnels::funnel_breakdown_in_sql(&self.conn(), scope, timezone, funnel, dimension)
    }

    fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
        rows::errors(&self.conn(), scope)
    }

    fn interactions(&self, scope: &Scope) -> Result<Vec<InteractionRow>, StoreError> {
        rows::interactions(&self.conn(), scope)
    }

    fn visits(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VisitRow>, StoreError> {
        rows::visits(&self.conn(), scope, timezone)
    }

    fn goal_hits(
        &self,
        scope: &Scope,
        timezone: Tz,
        target: &Step,
    ) -> Result<Vec<GoalHit>, StoreError> {
        rows::goal_hits(&self.conn(), scope, timezone, target)
    }

    fn conversion_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
        buckets: &[Bucket],
    ) -> Result<ConversionTallies, StoreError> {
        conversions::conversion_tallies(&self.conn(), scope, timezone, goal, buckets)
    }

    fn visit_count(&self, scope: &Scope, timezone: Tz) -> Result<u64, StoreError> {
        visits::visit_count(&self.conn(), scope, timezone)
    }

    fn vitals(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VitalRow>, StoreError> {
        vitals::vitals(&self.conn(), scope, timezone)
    }

    fn vital_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        buckets: &[Bucket],
    ) -> Result<VitalTallies, StoreError> {
        vitals::vital_tallies(&self.conn(), scope, timezone, buckets)
    }

    fn landing_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
    ) -> Result<[LandingTally; 3], StoreError> {
        vitals::landing_tallies(&self.conn(), scope, timezone, goal)
    }

    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError> {
        consents::consent_report(&self.conn(), site, from, to, days)
    }

    fn consent_tallies(
        &self,
        site: &str,
        from: i64,
        to: i64,
        timezone: Tz,
    ) -> Result<Vec<crate::reports::consent::DecisionTally>, StoreError> {
        consents::consent_tallies(&self.conn(), site, from, to, timezone)
    }

    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        consents::consent_log(&self.conn(), site, from, to)
    }

    fn consent_chain(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        consents::consent_chain(&self.conn(), site, from, to)
    }
}

impl SiteStore for DuckDbStore {
    fn sites(&self) -> Result<Vec<SiteSettings>, StoreError> {
        sites::sites(&self.conn())
    }

    fn put_site(&self, site: &SiteSettings) -> Result<(), StoreError> {
        sites::put_site(&self.conn(), site)
    }

    fn remove_site(&self, key: &str) -> Result<bool, StoreError> {
        sites::remove_site(&self.conn(), key)
    }
}

impl StoreInspection for DuckDbStore {
    fn ping(&self) -> Result<(), StoreError> {
        inspect::ping(&self.conn())
    }

    fn size_on_disk(&self) -> u64 {
        inspect::size_on_disk(self.path.as_deref())
    }

    fn event_count(&self, site: &str) -> Result<u64, StoreError> {
        inspect::event_count(&self.conn(), site)
    }

    fn count_by_kind(
        &self,
        site: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        inspect::count_by_kind(&self.conn(), site)
    }

    fn consent_count(&self, site: &str) -> Result<u64, StoreError> {
        inspect::consent_count(&self.conn(), site)
    }

    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError> {
        counters::total(&self.conn(), Daily::BannerImpressions, site)
    }

    fn bot_requests(&self, site: &str) -> Result<u64, StoreError> {
        counters::total(&self.conn(), Daily::BotRequests, site)
    }

    fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
        inspect::dump_as_text(&self.conn(), table)
    }
}

impl TransferStore for DuckDbStore {
    fn events_after(
        &self,
        site: &str,
        after: Option<&EventPosition>,
        limit: usize,
    ) -> Result<Vec<(EventPosition, StoredEvent)>, StoreError> {
        transfer::events_after(&self.conn(), site, after, limit)
    }

    fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError> {
        transfer::stored_consents(&self.conn(), site)
    }

    fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError> {
        transfer::put_stored_consents(&mut self.conn(), links)
    }

    fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError> {
        transfer::daily_counts(&self.conn(), site)
    }

    fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError> {
        transfer::add_daily_counts(&mut self.conn(), counts)
    }
}
