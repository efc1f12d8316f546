//! Sonde's events on a ClickHouse cluster (issue 15, being built): the
//! HTTP client ([`client`]) and the schema's migrations ([`schema`]). See
//! ARCHITECTURE.md, "Past one machine", for how the store will meet each
//! role.
//!
//! The tests here run against a real cluster and are ignored by a plain
//! `cargo test`: `cargo xtask test` starts the local cluster (`cargo xtask
//! cluster up`) and runs them with `SONDE_TEST_CLICKHOUSE` naming its
//! servers.

pub mod client;
mod erase;
mod inspect;
mod overview;
mod retention;
mod rows;
pub mod schema;
mod scope;
mod sql;
pub mod topology;
mod transfer;
mod usage;
mod write;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono_tz::Tz;
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step};
use sonde_protocol::goal::Goal;
use sonde_protocol::overview::{BotDay, OverviewQuery, OverviewReport};
use sonde_protocol::usage::{UsageQuery, UsageReport};

pub use client::{ClickHouseError, Client};
pub use topology::{BadAddress, Topology};

use super::{FunnelRows, StoreError, StoredEvent, WriteOutcome};
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::conversions::{ConversionTallies, GoalHit, VisitRow};
use crate::reports::errors::ErrorRow;
use crate::reports::events::InteractionRow;
use crate::reports::funnel::Occurrence;
use crate::reports::performance::{LandingTally, VitalRow, VitalTallies};

/// Sonde's events on a ClickHouse cluster.
#[derive(Debug)]
pub struct ClickHouseStore {
    topology: Topology,
    writer: write::Writer,
}

impl ClickHouseStore {
    /// How long a write is retried before it fails, unless told otherwise:
    /// within a browser's patience for one delivery.
    pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);

    /// The store on the cluster at `address` (see [`topology`]), its schema
    /// brought to this version's.
    pub fn open(address: &str) -> Result<Self, StoreError> {
        Self::on(Topology::parse(address)?, Self::WRITE_DEADLINE)
    }

    /// The store on `topology`'s servers, each write retried for up to
    /// `write_deadline`.
    pub fn on(topology: Topology, write_deadline: Duration) -> Result<Self, StoreError> {
        schema::migrate(topology.any_server(), &topology.placement)?;
        Ok(ClickHouseStore {
            writer: write::Writer::new(topology.shards.len(), write_deadline),
            topology,
        })
    }

    /// Writes a group of batches: see [`super::IngestStore::write_batches`]
    /// for what it says, and [`write`] for what its success means here.
    pub fn write_batches(
        &self,
        batches: &[&[StoredEvent]],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        self.writer.write_batches(&self.topology, batches)
    }

    /// Takes out of every report, at once, the events of `visitor_id` of
    /// `site` at or after `since_ms` and those of `sessions` (see
    /// [`super::LifecycleStore::erase`]); says how many. They leave the
    /// disks at the next [`ClickHouseStore::purge_erased`].
    pub fn erase(
        &self,
        site: &str,
        visitor_id: i64,
        since_ms: i64,
        sessions: &[String],
    ) -> Result<u64, StoreError> {
        erase::erase(
            &self.topology,
            &self.writer,
            site,
            visitor_id,
            since_ms,
            sessions,
        )
    }

    /// Deletes what `site`'s retention no longer allows as of `now_ms` (see
    /// [`super::LifecycleStore::apply_retention`]), by mutations the
    /// cluster runs in the background.
    pub fn apply_retention(
        &self,
        site: &sonde_protocol::SiteSettings,
        now_ms: i64,
    ) -> Result<super::RetentionOutcome, StoreError> {
        retention::apply_retention(&self.topology, site, now_ms)
    }

    /// A page of `site`'s events, as [`super::TransferStore::events_after`]
    /// reads them.
    pub fn events_after(
        &self,
        site: &str,
        after: Option<&super::transfer::EventPosition>,
        limit: usize,
    ) -> Result<Vec<(super::transfer::EventPosition, StoredEvent)>, StoreError> {
        transfer::events_after(&self.topology, site, after, limit)
    }

    /// Whether a replica of every shard answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        inspect::ping(&self.topology)
    }

    /// Bytes Sonde's tables take on the cluster's disks, every replica's.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        inspect::size_on_disk(&self.topology)
    }

    /// Events of `site` in the reports, counted by kind.
    pub fn count_by_kind(
        &self,
        site: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        inspect::count_by_kind(&self.topology, site)
    }

    /// Every value of every stored row of `table`, erased or not, as text.
    pub fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
        inspect::dump_as_text(&self.topology, table)
    }

    /// One pass of removing erased events from the disks (see
    /// [`erase::purge_erased`]): returns how many it found removed.
    pub fn purge_erased(&self) -> Result<usize, StoreError> {
        erase::purge_erased(&self.topology)
    }
}

/// The reports' rows, as [`super::ReportStore`] defines them (see there
/// for each), and the tallies the reports' arithmetic makes of them.
impl ClickHouseStore {
    pub fn usage(&self, q: &UsageQuery, timezone: Tz, k: u64) -> Result<UsageReport, StoreError> {
        usage::usage(&self.topology, q, timezone, k)
    }

    /// The overview, with the bots turned away on each of its days, which
    /// the cluster does not count.
    pub fn overview(
        &self,
        q: &OverviewQuery,
        timezone: Tz,
        k: u64,
        bots: Vec<BotDay>,
    ) -> Result<OverviewReport, StoreError> {
        overview::overview(&self.topology, q, timezone, k, bots)
    }

    pub fn errors(&self, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
        rows::errors(&self.topology, scope)
    }

    pub fn interactions(&self, scope: &Scope) -> Result<Vec<InteractionRow>, StoreError> {
        rows::interactions(&self.topology, scope)
    }

    pub fn visits(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VisitRow>, StoreError> {
        rows::visits(&self.topology, scope, timezone)
    }

    pub fn visit_count(&self, scope: &Scope, timezone: Tz) -> Result<u64, StoreError> {
        Ok(self.visits(scope, timezone)?.len() as u64)
    }

    pub fn goal_hits(
        &self,
        scope: &Scope,
        timezone: Tz,
        target: &Step,
    ) -> Result<Vec<GoalHit>, StoreError> {
        rows::goal_hits(&self.topology, scope, timezone, target)
    }

    pub fn conversion_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
        buckets: &[Bucket],
    ) -> Result<ConversionTallies, StoreError> {
        let visits = self.visits(scope, timezone)?;
        let hits = self.goal_hits(scope, timezone, &goal.target)?;
        Ok(crate::reports::conversions::tally(
            goal, &visits, &hits, buckets,
        ))
    }

    pub fn vitals(&self, scope: &Scope, timezone: Tz) -> Result<Vec<VitalRow>, StoreError> {
        rows::vitals(&self.topology, scope, timezone)
    }

    pub fn vital_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        buckets: &[Bucket],
    ) -> Result<VitalTallies, StoreError> {
        Ok(crate::reports::performance::tally(
            &self.vitals(scope, timezone)?,
            buckets,
        ))
    }

    pub fn landing_tallies(
        &self,
        scope: &Scope,
        timezone: Tz,
        goal: &Goal,
    ) -> Result<[LandingTally; 3], StoreError> {
        let converted: HashSet<(String, i64)> = self
            .goal_hits(scope, timezone, &goal.target)?
            .into_iter()
            .map(|hit| (hit.session, hit.day_start))
            .collect();
        Ok(crate::reports::performance::landing_tally(
            &self.vitals(scope, timezone)?,
            &converted,
        ))
    }
}

impl FunnelRows for ClickHouseStore {
    fn funnel_occurrences(
        &self,
        scope: &Scope,
        funnel: &FunnelDefinition,
    ) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
        rows::funnel_occurrences(&self.topology, scope, funnel)
    }

    fn unit_dimension(
        &self,
        scope: &Scope,
        unit: FunnelUnit,
        dimension: FunnelDimension,
    ) -> Result<HashMap<String, String>, StoreError> {
        rows::unit_dimension(&self.topology, scope, unit, dimension)
    }
}

#[cfg(test)]
pub(crate) mod differential;

#[cfg(test)]
pub(crate) mod tests {
    use super::schema::{self, Placement};
    use super::*;

    /// The local cluster's servers, by shard then replica, from
    /// `SONDE_TEST_CLICKHOUSE` (comma-separated URLs).
    pub(crate) fn cluster() -> Vec<Client> {
        let urls = std::env::var("SONDE_TEST_CLICKHOUSE").expect(
            "SONDE_TEST_CLICKHOUSE names the cluster's servers: run `cargo xtask cluster up`, \
             or let `cargo xtask test` do it",
        );
        let servers: Vec<Client> = urls.split(',').map(Client::new).collect();
        assert_eq!(servers.len(), 4, "2 shards x 2 replicas: {urls}");
        servers
    }

    /// A database of its own for each test, dropped after.
    pub(crate) struct Scratch<'a> {
        client: &'a Client,
        at: Placement,
    }

    impl<'a> Scratch<'a> {
        pub(crate) fn new(client: &'a Client, name: &str) -> Self {
            let at = Placement {
                database: format!("test_{name}_{}", std::process::id()),
                cluster: "sonde".into(),
            };
            let scratch = Scratch { client, at };
            scratch.drop_database();
            scratch
        }

        /// The cluster's servers (two shards of two), with the scratch
        /// database for Sonde's tables.
        pub(crate) fn topology(&self, servers: &[Client]) -> Topology {
            Topology {
                shards: servers.chunks(2).map(<[Client]>::to_vec).collect(),
                placement: self.at.clone(),
            }
        }

        fn drop_database(&self) {
            self.client
                .run(&format!(
                    "DROP DATABASE IF EXISTS {} ON CLUSTER {}",
                    self.at.database, self.at.cluster
                ))
                .expect("the scratch database is dropped");
        }
    }

    impl Drop for Scratch<'_> {
        fn drop(&mut self) {
            self.drop_database();
        }
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn migrations_create_the_tables_on_every_server_once() {
        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "migrations");
        let at = &scratch.at;
        assert_eq!(
            schema::migrate(&servers[0], at).unwrap(),
            (1..=schema::VERSION).collect::<Vec<_>>()
        );
        // From another server, and again: nothing left to apply.
        assert_eq!(schema::migrate(&servers[3], at).unwrap(), Vec::<u32>::new());
        for server in &servers {
            assert_eq!(
                schema::current_version(server, at).unwrap(),
                schema::VERSION
            );
            let tables = server
                .run(&format!(
                    "SELECT groupArray(name) FROM (SELECT name FROM system.tables
                     WHERE database = '{}' ORDER BY name)",
                    at.database
                ))
                .unwrap();
            assert_eq!(
                tables.trim(),
                "['erased_events_local','events','events_local','retention_cutoffs','sonde_schema']"
            );
        }
    }

    /// Two Sonde processes started at once on a new database (the
    /// cluster's two processes after `cargo xtask cluster up`).
    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn two_processes_migrating_at_once_both_start() {
        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "migrations_at_once");
        let at = &scratch.at;
        std::thread::scope(|s| {
            let starts: Vec<_> = [&servers[0], &servers[2]]
                .into_iter()
                .map(|server| s.spawn(move || schema::migrate(server, at)))
                .collect();
            for start in starts {
                start.join().unwrap().expect("both processes start");
            }
        });
        for server in &servers {
            assert_eq!(
                schema::current_version(server, at).unwrap(),
                schema::VERSION
            );
        }
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn an_event_written_with_a_quorum_is_on_both_replicas_and_read_from_any_shard() {
        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "quorum");
        let at = &scratch.at;
        schema::migrate(&servers[0], at).unwrap();
        let insert = format!(
            "INSERT INTO {}.events_local (id, site, kind, ts, visitor_id, session_key, seq, path)
             VALUES ('e1', 'shop', 'page_view', 1764633600000, 7, 42, 1, '/')",
            at.database
        );
        servers[0]
            .run_with(&insert, &[("insert_quorum", "2")])
            .unwrap();
        // Sent again as the same bytes (a resend after a failure): the
        // block is recognised and stored once.
        servers[0]
            .run_with(&insert, &[("insert_quorum", "2")])
            .unwrap();
        let count = |server: &Client, table: &str| {
            server
                .run(&format!("SELECT count() FROM {}.{table}", at.database))
                .unwrap()
                .trim()
                .to_owned()
        };
        // The quorum: shard 1's other replica has it when the insert returns.
        assert_eq!(count(&servers[1], "events_local"), "1");
        // Shard 2 does not hold it, and reads it through `events`.
        assert_eq!(count(&servers[2], "events_local"), "0");
        assert_eq!(count(&servers[2], "events"), "1");
    }

    /// A busy moment's group commit: thousands of events with ids as long
    /// as browsers make them, whose check against the stored ids would not
    /// fit in one query; stored once, and recognised when sent again.
    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn a_large_group_is_written_and_its_retry_recognised() {
        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "large_group");
        let store =
            ClickHouseStore::on(scratch.topology(&servers), Duration::from_secs(10)).unwrap();
        let mut events = differential::generated(
            &mut <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(3),
            1_000,
        );
        for e in &mut events {
            e.id = format!("{}-{:0>48}", e.id, e.ts);
        }
        assert!(events.len() > 3_000, "{}", events.len());
        let batches: Vec<&[StoredEvent]> = events.chunks(50).collect();
        let written = store.write_batches(&batches).unwrap();
        assert_eq!(
            written.iter().map(|o| o.inserted).sum::<usize>(),
            events.len()
        );
        let again = store.write_batches(&[&events]).unwrap();
        assert_eq!(
            again,
            vec![WriteOutcome {
                inserted: 0,
                duplicates: events.len()
            }]
        );
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn an_erasure_is_out_of_every_report_at_once_and_off_the_disks_after_the_purge() {
        use crate::store::FunnelRows as _;
        use sonde_protocol::EventData;
        use sonde_protocol::funnel::{FunnelDefinition, FunnelUnit, Step};

        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "erase");
        let store =
            ClickHouseStore::on(scratch.topology(&servers), Duration::from_secs(10)).unwrap();
        let event = |id: &str, visitor: i64, session: &str, ts: i64| StoredEvent {
            id: id.into(),
            site: "shop".into(),
            ts,
            visitor_id: visitor,
            session_id: Some(session.into()),
            path: "/".into(),
            software: crate::user_agent::Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: crate::user_agent::Device::Desktop,
            },
            data: EventData::PageView {
                referrer: None,
                title: None,
                campaign: Default::default(),
            },
        };
        let day = 1_792_627_200_000;
        // Visitor 1 today in two sessions, and yesterday (another salt's
        // id, in a session the erasure names); visitor 2 today.
        let events: Vec<StoredEvent> = (0..40)
            .map(|i| {
                let (visitor, session, ts) = match i % 4 {
                    0 => (1, "a", day + i),
                    1 => (1, "b", day + i),
                    2 => (9, "old", day - 1_000 + i),
                    _ => (2, "c", day + i),
                };
                event(&format!("e{i}"), visitor, session, ts)
            })
            .collect();
        store.write_batches(&[&events]).unwrap();
        let everything = Scope::unfiltered("shop", day - 86_400_000, day + 86_400_000);
        let funnel = FunnelDefinition {
            name: "home".into(),
            steps: vec![Step::Page { path: "/".into() }],
            window_ms: 60_000,
            unit: FunnelUnit::Session,
        };
        let sessions = |store: &ClickHouseStore| -> Vec<String> {
            let mut names: Vec<String> = store
                .funnel_occurrences(&everything, &funnel)
                .unwrap()
                .into_iter()
                .map(|(unit, _)| unit)
                .collect();
            names.sort();
            names
        };
        let key = |s: &str| crate::store::event_row::session_key(s).to_string();
        assert_eq!(sessions(&store).len(), 4);

        let erased = store.erase("shop", 1, day, &["old".to_owned()]).unwrap();
        assert_eq!(erased, 30, "sessions a, b and old");
        assert_eq!(sessions(&store), [key("c")], "out of the reports at once");
        assert_eq!(store.visit_count(&everything, chrono_tz::UTC).unwrap(), 1);
        assert_eq!(
            store.erase("shop", 1, day, &["old".to_owned()]).unwrap(),
            0,
            "erased once"
        );
        let on_disk = |server: &Client| -> u64 {
            server
                .run(&format!(
                    "SELECT count() FROM {}.events",
                    scratch.at.database
                ))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        assert_eq!(
            on_disk(&servers[0]),
            40,
            "still on the disks before the purge"
        );

        // The first pass sets the mutations going; 18.16 runs one once its
        // shard has taken a later write, which a live site always sends.
        let mut struck = store.purge_erased().unwrap();
        let started = std::time::Instant::now();
        for round in 0.. {
            if struck == 30 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{struck} of 30 struck"
            );
            let later: Vec<StoredEvent> = ["a", "b", "c", "old"]
                .iter()
                .map(|s| {
                    let mut e = event(&format!("later-{s}-{round}"), 3, &format!("later-{s}"), day);
                    e.path = "/later".into();
                    e
                })
                .collect();
            store.write_batches(&[&later]).unwrap();
            std::thread::sleep(Duration::from_millis(500));
            struck += store.purge_erased().unwrap();
        }
        assert_eq!(struck, 30);
        let left = |server: &Client| -> u64 {
            server
                .run(&format!(
                    "SELECT count() FROM {}.events WHERE id NOT LIKE 'later-%'",
                    scratch.at.database
                ))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        for server in &servers {
            assert_eq!(left(server), 10, "{}", server.url());
        }
        assert_eq!(sessions(&store), [key("c")]);
        assert_eq!(store.purge_erased().unwrap(), 0, "nothing left to strike");
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn events_past_their_retention_are_out_of_the_reports_at_once() {
        use sonde_protocol::{EventData, SiteSettings};

        let servers = cluster();
        let scratch = Scratch::new(&servers[0], "retention");
        let store =
            ClickHouseStore::on(scratch.topology(&servers), Duration::from_secs(10)).unwrap();
        let now = 1_796_256_000_000; // 2026-12-03T00:00:00Z
        let day = 86_400_000;
        let at = |id: &str, days_ago: i64, data: EventData| StoredEvent {
            id: id.into(),
            site: "shop".into(),
            ts: now - days_ago * day,
            visitor_id: 1,
            session_id: Some(id.into()),
            path: "/".into(),
            software: crate::user_agent::Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: crate::user_agent::Device::Desktop,
            },
            data,
        };
        let view = || EventData::PageView {
            referrer: None,
            title: None,
            campaign: Default::default(),
        };
        let error = || {
            EventData::Error(sonde_protocol::ErrorReport {
                message: "Total is NaN".into(),
                source: None,
                line: None,
                column: None,
                stack: None,
                rejection: false,
            })
        };
        let events = [
            at("old-view", 40, view()),
            at("new-view", 10, view()),
            at("old-error", 40, error()),
        ];
        store.write_batches(&[&events]).unwrap();
        let all_time = Scope::unfiltered("shop", now - 100 * day, now);
        let counted = |store: &ClickHouseStore| {
            (
                store.visit_count(&all_time, chrono_tz::UTC).unwrap(),
                store.errors(&all_time).unwrap().len(),
            )
        };
        assert_eq!(counted(&store), (2, 1));

        // Page views kept 30 days, errors 60.
        let mut site = SiteSettings::new("shop", vec!["https://shop.example".into()]);
        site.retention.usage = 30;
        site.retention.errors = 60;
        let outcome = store.apply_retention(&site, now).unwrap();
        assert_eq!(outcome.events_deleted, 1, "the page view of 40 days ago");
        assert_eq!(counted(&store), (1, 1), "out of the reports at once");
        // A shorter period later cuts the error too.
        site.retention.errors = 30;
        store.apply_retention(&site, now + 1).unwrap();
        assert_eq!(counted(&store), (1, 0));
    }
}
