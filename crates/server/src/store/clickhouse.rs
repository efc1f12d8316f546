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
pub mod schema;

pub use client::{ClickHouseError, Client};

#[cfg(test)]
mod tests {
    use super::schema::{self, Placement};
    use super::*;

    /// The local cluster's servers, by shard then replica, from
    /// `SONDE_TEST_CLICKHOUSE` (comma-separated URLs).
    fn cluster() -> Vec<Client> {
        let urls = std::env::var("SONDE_TEST_CLICKHOUSE").expect(
            "SONDE_TEST_CLICKHOUSE names the cluster's servers: run `cargo xtask cluster up`, \
             or let `cargo xtask test` do it",
        );
        let servers: Vec<Client> = urls.split(',').map(Client::new).collect();
        assert_eq!(servers.len(), 4, "2 shards x 2 replicas: {urls}");
        servers
    }

    /// A database of its own for each test, dropped after.
    struct Scratch<'a> {
        client: &'a Client,
        at: Placement,
    }

    impl<'a> Scratch<'a> {
        fn new(client: &'a Client, name: &str) -> Self {
            let at = Placement {
                database: format!("test_{name}_{}", std::process::id()),
                cluster: "sonde".into(),
            };
            let scratch = Scratch { client, at };
            scratch.drop_database();
            scratch
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
            assert_eq!(tables.trim(), "['events','events_local','sonde_schema']");
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
}
