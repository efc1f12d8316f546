//! The query benchmark's cluster column: the same store moved to the local
//! cluster (`cargo xtask cluster up`: ClickHouse as 2 shards × 2 replicas,
//! PostgreSQL), and Sonde started on it, so that every report is measured
//! on both of Sonde's stores in the same run, on the same events.
//!
//! The application's data moves as an operator moves it (`sonde export
//! --without-events`, `sonde import`); the events go straight from the
//! DuckDB file into the cluster's `events` table as CSV, ClickHouse's own
//! bulk path (`sonde import` would take minutes at 10 million), then the
//! replicas are synced and merged as they are long after the writes.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::sibling_binary;

/// Where the cluster is: its servers' HTTP addresses (by shard, then
/// replica) and PostgreSQL's address without a database.
pub struct Cluster {
    servers: Vec<String>,
    postgres: String,
    http: reqwest::Client,
}

/// The events' columns, as the cluster's `events` names them.
const COLUMNS: &str = "id, site, kind, ts, visitor_id, session_id, session_key, seq, path, \
    referrer_host, title, category, utm_source, utm_medium, utm_campaign, utm_term, utm_content, \
    name, href, value, props, error_message, error_source, error_line, error_column, \
    error_stack, error_rejection, browser, os, device";

impl Cluster {
    /// The cluster `cargo xtask bench-queries` names in
    /// `SONDE_BENCH_CLUSTER_CLICKHOUSE` and `SONDE_BENCH_CLUSTER_POSTGRES`, if it does.
    pub fn from_env() -> Option<Cluster> {
        let servers = std::env::var("SONDE_BENCH_CLUSTER_CLICKHOUSE").ok()?;
        let postgres = std::env::var("SONDE_BENCH_CLUSTER_POSTGRES").ok()?;
        Some(Cluster {
            servers: servers
                .split(',')
                .map(|s| s.trim_end_matches('/').to_owned())
                .collect(),
            postgres: postgres.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// The `--store` address of `database`.
    pub fn store(&self, database: &str) -> String {
        let hosts: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.trim_start_matches("http://"))
            .collect();
        format!(
            "clickhouse://{};{}/{database}?cluster=sonde",
            hosts[..2].join(","),
            hosts[2..].join(",")
        )
    }

    /// The `--app-store` address of `database`.
    pub fn app_store(&self, database: &str) -> String {
        format!("{}/{database}", self.postgres)
    }

    async fn run(&self, server: &str, sql: &str) {
        let response = self
            .http
            .post(server)
            .body(sql.to_owned())
            .send()
            .await
            .expect("ClickHouse answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{sql}: {status} {text}");
    }

    /// Moves the store in `data_dir` into `database` on the cluster,
    /// replacing what was there; the seconds it took.
    pub async fn load(&self, data_dir: &Path, database: &str) -> f64 {
        let started = Instant::now();
        self.empty(database).await;
        self.copy_in(data_dir, database).await;
        started.elapsed().as_secs_f64()
    }

    /// Drops `database` on the cluster and in PostgreSQL, and makes an
    /// empty one in PostgreSQL (Sonde makes the cluster's at start).
    pub async fn empty(&self, database: &str) {
        self.run(
            &self.servers[0],
            &format!("DROP DATABASE IF EXISTS {database} ON CLUSTER sonde"),
        )
        .await;
        let psql = |sql: &str| {
            let status = Command::new("psql")
                .args([&format!("{}/postgres", self.postgres), "-qc", sql])
                .status()
                .expect("psql runs");
            assert!(status.success(), "{sql}");
        };
        psql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        psql(&format!("CREATE DATABASE {database}"));
    }

    async fn copy_in(&self, data_dir: &Path, database: &str) {
        let moved = data_dir.join("application.sonde-export.gz");
        let sonde = |args: &[&str]| {
            let out = Command::new(sibling_binary("sonde"))
                .args(args)
                .env("SONDE_LOG", "warn")
                .output()
                .expect("sonde runs");
            assert!(
                out.status.success(),
                "sonde {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("  {}", String::from_utf8_lossy(&out.stdout).trim());
        };
        let data = data_dir.display().to_string();
        let file = moved.display().to_string();
        sonde(&[
            "export",
            "--data-dir",
            &data,
            "--without-events",
            "--out",
            &file,
        ]);
        let cluster_dir = data_dir.join("on-cluster").display().to_string();
        sonde(&[
            "import",
            "--data-dir",
            &cluster_dir,
            "--store",
            &self.store(database),
            "--app-store",
            &self.app_store(database),
            &file,
        ]);

        let csv = data_dir.join("events-csv");
        let _ = std::fs::remove_dir_all(&csv);
        {
            let conn =
                duckdb::Connection::open(data_dir.join("sonde.duckdb")).expect("the store's file");
            conn.execute_batch(&format!(
                "COPY (SELECT id, site, kind, epoch_ms(ts), visitor_id, session_id, session_key,
                              seq, path, referrer_host, title, category, utm_source, utm_medium,
                              utm_campaign, utm_term, utm_content, name, href, value, props,
                              error_message, error_source, error_line, error_column, error_stack,
                              error_rejection::UTINYINT, browser, os, device FROM events)
                 TO '{}' (FORMAT csv, HEADER false, NULLSTR '\\N', FILE_SIZE_BYTES '100MB')",
                csv.display()
            ))
            .expect("the events are copied out");
        }
        let mut files: Vec<_> = std::fs::read_dir(&csv)
            .expect("the copy")
            .map(|f| f.expect("a file").path())
            .collect();
        files.sort();
        let insert = format!("INSERT INTO {database}.events ({COLUMNS}) FORMAT CSV");
        for file in files {
            let body = std::fs::read(&file).expect("a copied file");
            let response = self
                .http
                .post(&self.servers[0])
                .query(&[("query", insert.as_str()), ("insert_distributed_sync", "1")])
                .body(body)
                .send()
                .await
                .expect("the cluster takes the events");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "{}: {status} {text}", file.display());
        }
        let _ = std::fs::remove_dir_all(&csv);
        // Every replica holds its shard's events, merged.
        for server in &self.servers {
            self.run(
                server,
                &format!("SYSTEM SYNC REPLICA {database}.events_local"),
            )
            .await;
        }
        for server in [&self.servers[0], &self.servers[2]] {
            self.run(
                server,
                &format!("OPTIMIZE TABLE {database}.events_local FINAL"),
            )
            .await;
        }
        for server in &self.servers {
            self.run(
                server,
                &format!("SYSTEM SYNC REPLICA {database}.events_local"),
            )
            .await;
        }
    }
}
