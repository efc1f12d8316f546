//! The application's data in PostgreSQL, shared by every Sonde process of
//! a cluster: sites, accounts, sign-in sessions, share links, API keys,
//! saved funnels, goals and annotations, alert rules and firings, digest
//! subscriptions, consent records and their chain, the daily counts,
//! and the day's salts ([`crate::visitor::SaltKeeper`]). The events are on
//! the ClickHouse cluster ([`super::ClickHouseStore`]).
//!
//! Calls block (a pool of PostgreSQL's blocking clients); like every
//! store, call it from a blocking task.

mod accounts;
mod alerts;
mod consents;
mod counters;
mod digests;
mod imported;
mod salts;
mod saved;
mod schema;
mod sites;
mod transfer;

use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use sonde_protocol::ConsentRecord;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport};
use sonde_protocol::overview::{BotDay, OverviewQuery};

pub use self::salts::SharedSalts;
use super::transfer::{DailyCount, StoredConsent};
use super::{ApplicationStore, StoreError};
use crate::reports::consent::DecisionTally;

/// A pool of connections, closed off the async runtime when its last
/// handle goes: PostgreSQL's blocking client ends a connection by blocking
/// on a runtime of its own, which panics on a runtime's thread (a server
/// shutting down drops its stores there).
#[derive(Clone)]
pub(super) struct Pool(Option<r2d2::Pool<PostgresConnectionManager<NoTls>>>);

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<PostgresConnectionManager<NoTls>>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("a pool until it is dropped")
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            std::thread::scope(|s| {
                s.spawn(move || drop(pool));
            });
        }
    }
}
type Client = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// The tables [`ApplicationStore::dump_as_text`] may show.
const TABLES: &[&str] = &[
    "sites",
    "users",
    "sessions",
    "share_links",
    "api_keys",
    "saved",
    "consents",
    "consent_erasures",
    "consent_chain",
    "banner_impressions",
    "bot_requests",
    "daily_salts",
];

/// A connection pool on the application's database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    address: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `address` (`postgres://user@host:port/db`)
    /// and brings its schema up to date.
    pub fn open(address: &str) -> Result<Self, StoreError> {
        let config: postgres::Config = address
            .parse()
            .map_err(|e| StoreError::BadAppAddress(format!("{address:?}: {e}")))?;
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let store = PostgresStore {
            pool: Pool(Some(pool)),
            address: address.to_owned(),
        };
        schema::migrate(&mut *store.client()?)?;
        Ok(store)
    }

    fn client(&self) -> Result<Client, StoreError> {
        Ok(self.pool.get()?)
    }

    /// The day's salts kept in this database, for every process.
    pub fn salts(&self) -> SharedSalts {
        SharedSalts::new(self.pool.clone())
    }
}

impl ApplicationStore for PostgresStore {
    fn record_consent(&self, record: &ConsentRecord, device: &str) -> Result<bool, StoreError> {
        consents::record_consent(&mut *self.client()?, record, device)
    }

    fn count_banner_impression(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        counters::count_one(
            &mut *self.client()?,
            counters::Daily::BannerImpressions,
            site,
            day,
        )
    }

    fn count_bot_request(&self, site: &str, day: NaiveDate) -> Result<(), StoreError> {
        counters::count_one(
            &mut *self.client()?,
            counters::Daily::BotRequests,
            site,
            day,
        )
    }

    fn erase_consents(&self, site: &str, consent_id: &str) -> Result<u64, StoreError> {
        consents::erase(&mut *self.client()?, site, consent_id)
    }

    fn bots_per_day(&self, q: &OverviewQuery, timezone: Tz) -> Result<Vec<BotDay>, StoreError> {
        let day = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .with_timezone(&timezone)
                .date_naive()
        };
        let days = counters::per_day(
            &mut *self.client()?,
            counters::Daily::BotRequests,
            &q.site,
            day(q.from),
            day(q.to - 1),
        )?;
        Ok(days
            .into_iter()
            .map(|(day, requests)| BotDay {
                day: day.to_string(),
                requests,
            })
            .collect())
    }

    fn consent_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        days: (NaiveDate, NaiveDate),
    ) -> Result<ConsentReport, StoreError> {
        consents::consent_report(&mut *self.client()?, site, from, to, days)
    }

    fn consent_tallies(
        &self,
        site: &str,
        from: i64,
        to: i64,
        timezone: Tz,
    ) -> Result<Vec<DecisionTally>, StoreError> {
        consents::consent_tallies(&mut *self.client()?, site, from, to, timezone)
    }

    fn consent_log(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        consents::consent_log(&mut *self.client()?, site, from, to)
    }

    fn consent_chain(
        &self,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConsentLogEntry>, StoreError> {
        consents::consent_chain(&mut *self.client()?, site, from, to)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.client()?.simple_query("SELECT 1")?;
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        let size = self.client().and_then(|mut c| {
            Ok(
                c.query_one("SELECT pg_database_size(current_database())", &[])?
                    .get::<_, i64>(0),
            )
        });
        size.map(|bytes| bytes.max(0) as u64).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the application database's size is unknown");
            0
        })
    }

    fn consent_count(&self, site: &str) -> Result<u64, StoreError> {
        let row = self
            .client()?
            .query_one("SELECT count(*) FROM consents WHERE site = $1", &[&site])?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn banner_impressions(&self, site: &str) -> Result<u64, StoreError> {
        counters::total(
            &mut *self.client()?,
            counters::Daily::BannerImpressions,
            site,
        )
    }

    fn bot_requests(&self, site: &str) -> Result<u64, StoreError> {
        counters::total(&mut *self.client()?, counters::Daily::BotRequests, site)
    }

    fn stored_consents(&self, site: &str) -> Result<Vec<StoredConsent>, StoreError> {
        transfer::stored_consents(&mut *self.client()?, site)
    }

    fn put_stored_consents(&self, links: &[StoredConsent]) -> Result<(), StoreError> {
        transfer::put_stored_consents(&mut *self.client()?, links)
    }

    fn daily_counts(&self, site: &str) -> Result<Vec<DailyCount>, StoreError> {
        transfer::daily_counts(&mut *self.client()?, site)
    }

    fn add_daily_counts(&self, counts: &[DailyCount]) -> Result<(), StoreError> {
        transfer::add_daily_counts(&mut *self.client()?, counts)
    }

    fn dump_as_text(&self, table: &str) -> Result<String, StoreError> {
        if !TABLES.contains(&table) {
            return Err(StoreError::Corrupt(format!("no table {table:?}")));
        }
        // Every column as text, whatever its type.
        let rows = self.client()?.query(
            &format!("SELECT (SELECT string_agg(coalesce(v, ''), E'\\t') FROM json_each_text(row_to_json(t)) AS j(k, v)) FROM {table} t"),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|row| {
                format!(
                    "{}\t\n",
                    row.get::<_, Option<String>>(0).unwrap_or_default()
                )
            })
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh database on the local cluster's PostgreSQL for each test.

    use super::PostgresStore;

    /// A store on a new, empty database `sonde_test_{name}` of the
    /// PostgreSQL that `SONDE_TEST_POSTGRES` names (`cargo xtask test`
    /// sets it).
    pub fn fresh_store(name: &str) -> PostgresStore {
        let address = std::env::var("SONDE_TEST_POSTGRES").expect(
            "SONDE_TEST_POSTGRES names the cluster's PostgreSQL: run `cargo xtask cluster up`, \
             or let `cargo xtask test` do it",
        );
        let mut admin = postgres::Client::connect(&address, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot reach {address}: {e}"));
        let database = format!("sonde_test_{name}");
        for statement in [
            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            format!("CREATE DATABASE {database}"),
        ] {
            admin.batch_execute(&statement).unwrap();
        }
        let (base, _) = address.rsplit_once('/').expect("a database in the address");
        PostgresStore::open(&format!("{base}/{database}")).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use rand::{Rng, SeedableRng};
    use sonde_protocol::account::{Role, ShareLink};
    use sonde_protocol::funnel::{FunnelDefinition, SavedFunnel, Step};
    use sonde_protocol::goal::{Goal, SavedGoal};
    use sonde_protocol::{DecisionSource, Grants, SiteSettings};

    use super::testing::fresh_store;
    use super::*;
    use crate::reports::consent_log::verify_whole;
    use crate::store::imported::DayRow;
    use crate::store::{DuckDbStore, StoredUser};
    use crate::visitor::{DailySalt, visitor_id};
    use sonde_protocol::imported::{ImportedDay, ImportedDimension, ImportedRow};

    const DAY: i64 = 86_400_000;
    /// 2026-03-27 00:00 UTC: the period crosses Berlin's change to summer
    /// time.
    const START: i64 = 1_774_569_600_000;
    /// Later than any record is stored.
    const YEAR_2100: i64 = 4_102_444_800_000;

    fn decision(rng: &mut rand::rngs::SmallRng, site: &str, i: usize) -> ConsentRecord {
        ConsentRecord {
            site: site.into(),
            // Ids that sort differently byte by byte than by a locale.
            consent_id: format!("{}c{i}", ["a", "B", "_", "z"][i % 4]),
            grants: Grants {
                usage: rng.random_bool(0.6),
                errors: rng.random_bool(0.5),
                performance: rng.random_bool(0.4),
                marketing: rng.random_bool(0.2),
            },
            policy_version: 2,
            gpc: rng.random_bool(0.1),
            source: if rng.random_bool(0.8) {
                DecisionSource::Banner
            } else {
                DecisionSource::Settings
            },
            // Some at the same millisecond.
            decided_at: START + rng.random_range(0..40) * DAY / 4 + (i as i64 % 3),
        }
    }

    /// Every kind of application data written the same way to PostgreSQL
    /// and to DuckDB reads back the same from both: what the reports, the
    /// consent log and its chain, sign-in and the admin pages show.
    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn the_application_data_reads_the_same_as_on_duckdb() {
        let pg = fresh_store("same_as_duckdb");
        let duck = DuckDbStore::in_memory().unwrap();
        let both: [&dyn ApplicationStore; 2] = [&pg, &duck];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(15);
        let records: Vec<ConsentRecord> = (0..600)
            .map(|i| decision(&mut rng, ["shop", "blog"][i % 2], i))
            .collect();
        for store in both {
            let mut shop = SiteSettings::new("shop", vec!["https://shop.example".into()]);
            shop.timezone = "Europe/Berlin".into();
            store.put_site(&shop).unwrap();
            store.put_site(&SiteSettings::new("blog", vec![])).unwrap();
            store.put_site(&SiteSettings::new("gone", vec![])).unwrap();
            assert!(store.remove_site("gone").unwrap());
            for (name, role) in [
                ("ada", Role::Admin),
                ("Bob", Role::Viewer),
                ("_eve", Role::Viewer),
            ] {
                store
                    .put_user(&StoredUser {
                        username: name.into(),
                        role,
                        // Bob reads the shop only.
                        sites: (name == "Bob").then(|| vec!["shop".to_owned()]),
                        password_hash: format!("hash-{name}"),
                        failed_sign_ins: 0,
                        locked_until: None,
                    })
                    .unwrap();
            }
            store.set_failed_sign_ins("Bob", 2, Some(START)).unwrap();
            store
                .create_session("t1", "ada", "csrf", START + DAY)
                .unwrap();
            store
                .create_session("t2", "_eve", "csrf2", START + DAY)
                .unwrap();
            assert!(store.remove_user("_eve").unwrap());
            for (id, at) in [("l1", 5), ("l2", 9), ("l3", 9)] {
                let link = ShareLink {
                    id: id.into(),
                    site: "shop".into(),
                    created_by: "ada".into(),
                    created_at: at,
                };
                store.create_share_link(&link, &format!("th-{id}")).unwrap();
            }
            assert!(store.revoke_share_link("l2").unwrap());
            for (id, at) in [("k1", 5), ("k2", 9)] {
                let key = sonde_protocol::api_key::ApiKey {
                    id: id.into(),
                    site: "shop".into(),
                    name: format!("key {id}"),
                    scopes: vec![sonde_protocol::api_key::ApiKeyScope::Stats],
                    prefix: "sonde_ab".into(),
                    created_by: "ada".into(),
                    created_at: at,
                };
                store.create_api_key(&key, &format!("kh-{id}")).unwrap();
            }
            assert!(store.revoke_api_key("k1").unwrap());
            for (id, name) in [("f1", "Checkout"), ("f2", "about"), ("f3", "Blog")] {
                store
                    .put_funnel(&SavedFunnel {
                        id: id.into(),
                        site: "shop".into(),
                        funnel: FunnelDefinition {
                            name: name.into(),
                            steps: vec![Step::Page { path: "/".into() }],
                            window_ms: DAY,
                            unit: Default::default(),
                        },
                        updated_at: 1,
                    })
                    .unwrap();
            }
            store
                .put_goal(&SavedGoal {
                    id: "g1".into(),
                    site: "shop".into(),
                    goal: Goal {
                        name: "Signup".into(),
                        target: Step::Page {
                            path: "/welcome".into(),
                        },
                        value: Some(2.5),
                    },
                    updated_at: 1,
                })
                .unwrap();
            assert!(store.remove_funnel("f3").unwrap());
            let imported_day = |day: &str, visitors| ImportedDay {
                day: day.into(),
                visitors,
                visits: visitors + 2,
                pageviews: 3 * visitors,
                bounces: 1,
                visit_duration_s: 90,
            };
            let page = |day: &str, label: &str, visitors| DayRow {
                day: day.into(),
                row: ImportedRow {
                    dimension: ImportedDimension::Page,
                    label: label.into(),
                    visitors,
                    visits: visitors,
                    pageviews: visitors,
                },
            };
            let days = [
                imported_day("2025-11-03", 10),
                imported_day("2025-11-04", 12),
            ];
            let rows = [page("2025-11-03", "/", 6), page("2025-11-04", "/", 7)];
            store.put_imported("shop", &days, &rows).unwrap();
            // Imported again, a day changed: it replaces, adds nothing.
            let again = [imported_day("2025-11-04", 20)];
            store.put_imported("shop", &again, &rows[1..]).unwrap();
            for record in &records {
                assert!(
                    store
                        .record_consent(
                            record,
                            ["desktop", "mobile"][record.decided_at as usize % 2]
                        )
                        .unwrap()
                );
            }
            assert!(
                !store.record_consent(&records[7], "desktop").unwrap(),
                "stored once"
            );
            assert_eq!(
                store
                    .erase_consents("shop", &records[10].consent_id)
                    .unwrap(),
                1
            );
            for day in 0..12 {
                let date = chrono::DateTime::from_timestamp_millis(START + day * DAY / 2)
                    .unwrap()
                    .date_naive();
                store.count_banner_impression("shop", date).unwrap();
                if day % 3 == 0 {
                    store.count_bot_request("shop", date).unwrap();
                }
            }
        }

        let read = |store: &dyn ApplicationStore| {
            let mut answers = vec![
                format!("{:?}", store.sites().unwrap()),
                format!("{:?}", store.users().unwrap()),
                format!("{:?}", store.user("Bob").unwrap()),
                format!("{:?}", store.session("t1", START).unwrap()),
                format!("{:?}", store.session("t2", START).unwrap()),
                format!("{:?}", store.session("t1", START + DAY).unwrap()),
                format!("{:?}", store.share_links("shop").unwrap()),
                format!("{:?}", store.share_link("th-l2").unwrap()),
                format!("{:?}", store.api_keys("shop").unwrap()),
                format!("{:?}", store.api_key("kh-k1").unwrap()),
                format!("{:?}", store.api_key("kh-k2").unwrap()),
                format!("{:?}", store.funnels("shop").unwrap()),
                format!("{:?}", store.goals("shop").unwrap()),
                format!("{:?}", store.goal("g1").unwrap()),
                format!("{}", store.consent_count("shop").unwrap()),
                format!("{}", store.banner_impressions("shop").unwrap()),
                format!("{}", store.bot_requests("shop").unwrap()),
            ];
            for (from, to) in [
                (START, START + 10 * DAY),
                (START + DAY + 7, START + 3 * DAY),
            ] {
                for site in ["shop", "blog"] {
                    let chain = store.consent_chain(site, 0, YEAR_2100).unwrap();
                    verify_whole(&chain).unwrap();
                    answers.push(format!(
                        "{:?}",
                        chain
                            .iter()
                            .map(|e| (e.seq, e.erased, e.hash.clone()))
                            .collect::<Vec<_>>()
                    ));
                    answers.push(format!("{:?}", store.consent_log(site, from, to).unwrap()));
                    let days = (
                        chrono::DateTime::from_timestamp_millis(from)
                            .unwrap()
                            .date_naive(),
                        chrono::DateTime::from_timestamp_millis(to)
                            .unwrap()
                            .date_naive(),
                    );
                    answers.push(format!(
                        "{:?}",
                        store.consent_report(site, from, to, days).unwrap()
                    ));
                    for timezone in [
                        chrono_tz::Europe::Berlin,
                        chrono_tz::Asia::Kathmandu,
                        chrono_tz::America::St_Johns,
                    ] {
                        answers.push(format!(
                            "{:?}",
                            store.consent_tallies(site, from, to, timezone).unwrap()
                        ));
                        let q = OverviewQuery {
                            site: site.into(),
                            from,
                            to,
                            filters: Default::default(),
                            versus: Default::default(),
                        };
                        answers.push(format!("{:?}", store.bots_per_day(&q, timezone).unwrap()));
                    }
                }
            }
            answers.push(format!(
                "{:?}",
                store
                    .imported_days("shop", "2025-11-01", "2025-11-30")
                    .unwrap()
            ));
            answers.push(format!(
                "{:?}",
                store
                    .imported_rows("shop", "2025-11-04", "2025-11-04")
                    .unwrap()
            ));
            answers
        };
        let (on_postgres, on_duckdb) = (read(&pg), read(&duck));
        assert_eq!(on_postgres.len(), on_duckdb.len());
        for (i, (p, d)) in on_postgres.iter().zip(&on_duckdb).enumerate() {
            assert_eq!(p, d, "answer {i} differs");
        }
        // The answers say something: records, an erased link, counts.
        assert!(on_postgres[14] == "299", "{}", on_postgres[14]);
        let imported = &on_postgres[on_postgres.len() - 2];
        assert!(imported.contains("visitors: 20"), "{imported}");
        assert!(on_postgres[8].contains("key k2"), "{}", on_postgres[8]);
        assert_eq!(on_postgres[9], "None", "a revoked key is no key");
        assert!(on_postgres[10].contains("key k2"), "{}", on_postgres[10]);
        assert!(
            on_postgres.iter().any(|a| a.contains("true,")),
            "an erased link"
        );
    }

    /// Sonde processes recording consents of one site at the same time
    /// (here, threads on stores of their own) make one chain without a gap
    /// or a fork.
    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn processes_recording_at_once_make_one_unbroken_chain() {
        let first = fresh_store("one_chain");
        let address = first.address.clone();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = if t == 0 {
                    first.clone()
                } else {
                    PostgresStore::open(&address).unwrap()
                };
                std::thread::spawn(move || {
                    let mut rng = rand::rngs::SmallRng::seed_from_u64(t);
                    for i in 0..100 {
                        let mut record = decision(&mut rng, "shop", i);
                        record.consent_id = format!("t{t}-{i}");
                        assert!(store.record_consent(&record, "desktop").unwrap());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let chain = first.consent_chain("shop", 0, YEAR_2100).unwrap();
        assert_eq!(
            chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=400).collect::<Vec<_>>()
        );
        verify_whole(&chain).unwrap();
    }

    /// Two processes give a visitor the same id on the same day, whichever
    /// asks first; the next day both use a new salt, and the ended day's
    /// salt is gone from the database.
    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn processes_share_the_days_salt_and_destroy_it_at_midnight() {
        let first = fresh_store("salts");
        let second = PostgresStore::open(&first.address).unwrap();
        let (a, b) = (
            Arc::new(DailySalt::shared(Box::new(first.salts()))),
            Arc::new(DailySalt::shared(Box::new(second.salts()))),
        );
        let berlin = chrono_tz::Europe::Berlin;
        let at = |h: u32| chrono::Utc.with_ymd_and_hms(2026, 11, 24, h, 0, 0).unwrap();
        let ip = "203.0.113.7".parse().unwrap();
        let id = |salts: &DailySalt, h: u32| {
            visitor_id(
                &salts.salt_for(berlin, at(h)).unwrap().salt,
                "shop",
                ip,
                "UA",
            )
        };
        // Both ask at once, many times.
        let racing: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
            .into_iter()
            .map(|salts| {
                std::thread::spawn(move || {
                    visitor_id(
                        &salts.salt_for(berlin, at(12)).unwrap().salt,
                        "shop",
                        ip,
                        "UA",
                    )
                })
            })
            .collect();
        let ids: Vec<i64> = racing.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(ids.iter().all(|&i| i == ids[0]), "{ids:?}");
        assert_eq!(id(&a, 13), id(&b, 13));
        let yesterday = a.salt_for(berlin, at(12)).unwrap().salt;
        // Berlin's day ends at 23:00 UTC.
        let tomorrow = id(&b, 23);
        assert_ne!(tomorrow, ids[0]);
        assert_eq!(id(&a, 23), tomorrow);
        b.rotate(&[berlin], at(23)).unwrap();
        let kept = first.dump_as_text("daily_salts").unwrap();
        let old_hex: String = yesterday.iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(!kept.contains(&old_hex), "{kept}");
        assert!(kept.contains("Europe/Berlin\t2026-11-25"), "{kept}");
    }
}
