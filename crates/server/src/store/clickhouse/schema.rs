//! The ClickHouse schema, in versioned migrations run on the whole cluster
//! (`ON CLUSTER`), each recorded in `sonde_schema` once it is applied.
//!
//! Events live on the shards: `events_local` is a replicated table per
//! shard, sharded by session key so that a visit, and every retry of one
//! of its events, is on one shard; `events` reads them all
//! (`Distributed`). Written against ClickHouse 18.16: times are
//! milliseconds in an `Int64` (no `DateTime64` there), and every statement
//! is idempotent (`IF NOT EXISTS`), since two Sonde processes may start at
//! once and ON CLUSTER statements are run by each server on its own.

use super::client::{ClickHouseError, Client};

/// Where Sonde's tables are: the database and the cluster (a name in the
/// servers' `remote_servers`) that holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub database: String,
    pub cluster: String,
}

/// The migrations in order: version `i + 1` is `MIGRATIONS[i]`, its
/// statements with `{db}` and `{cluster}` standing for the placement.
/// Never edit one that has shipped: add a new one.
const MIGRATIONS: &[&[&str]] = &[&[
    // The events of each shard, kept on both its replicas. The sort key
    // ends with the id, so that a retried event that slipped past the
    // check at ingest (a different batch, so not a deduplicated block)
    // collapses with its original when parts merge.
    "CREATE TABLE IF NOT EXISTS {db}.events_local ON CLUSTER {cluster} (
        id String,
        site String,
        kind String,
        ts Int64,
        visitor_id Int64,
        session_id Nullable(String),
        session_key UInt64,
        seq UInt64,
        path String,
        referrer_host Nullable(String),
        title Nullable(String),
        category Nullable(String),
        utm_source Nullable(String),
        utm_medium Nullable(String),
        utm_campaign Nullable(String),
        utm_term Nullable(String),
        utm_content Nullable(String),
        name Nullable(String),
        href Nullable(String),
        value Nullable(Float64),
        props Nullable(String),
        error_message Nullable(String),
        error_source Nullable(String),
        error_line Nullable(Int32),
        error_column Nullable(Int32),
        error_stack Nullable(String),
        error_rejection Nullable(UInt8),
        browser Nullable(String),
        os Nullable(String),
        device Nullable(String)
    ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{db}/events_local', '{replica}')
    PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
    ORDER BY (site, toDate(toDateTime(intDiv(ts, 1000))), session_key, id)",
    "CREATE TABLE IF NOT EXISTS {db}.events ON CLUSTER {cluster} AS {db}.events_local
    ENGINE = Distributed({cluster}, {db}, events_local, session_key)",
], &[
    // The events an erasure took out of every report at once, on the
    // shard that holds them, until a mutation has removed them from
    // `events_local` (see `erase`).
    "CREATE TABLE IF NOT EXISTS {db}.erased_events_local ON CLUSTER {cluster} (
        site String,
        session_key UInt64,
        id String,
        erased_at Int64
    ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{db}/erased_events_local', '{replica}')
    ORDER BY (site, session_key, id)",
], &[
    // Each site's retention: events of a category before `before_ms` are
    // out of every report from the moment it is recorded, on every
    // server, before a mutation has deleted them (see `retention`).
    "CREATE TABLE IF NOT EXISTS {db}.retention_cutoffs ON CLUSTER {cluster} (
        site String,
        category String,
        before_ms Int64,
        recorded_at Int64
    ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{db}/retention_cutoffs', '{replica}', recorded_at)
    ORDER BY (site, category)",
]];

/// The schema version this Sonde writes and reads.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the cluster's schema to [`VERSION`]: creates the database and
/// the record of migrations if they are missing, then runs each migration
/// not yet recorded, in order. Returns the versions it applied.
pub fn migrate(client: &Client, at: &Placement) -> Result<Vec<u32>, ClickHouseError> {
    let placed = |sql: &str| {
        sql.replace("{db}", &at.database)
            .replace("{cluster}", &at.cluster)
    };
    client.run(&placed(
        "CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER {cluster}",
    ))?;
    // One table replicated on every server of the cluster (one ZooKeeper
    // path for all shards), so that any server can say the version.
    client.run(&placed(
        "CREATE TABLE IF NOT EXISTS {db}.sonde_schema ON CLUSTER {cluster}
             (version UInt32, applied DateTime)
         ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{db}/sonde_schema', '{replica}')
         ORDER BY version",
    ))?;
    let mut applied = Vec::new();
    for (i, statements) in MIGRATIONS.iter().enumerate() {
        let version = i as u32 + 1;
        if version <= current_version(client, at)? {
            continue;
        }
        for statement in *statements {
            client.run(&placed(statement))?;
        }
        record(client, &placed("{db}"), version)?;
        applied.push(version);
    }
    Ok(applied)
}

/// Records `version` as applied in `db`, on two servers at least. Two
/// Sonde processes that start at once both apply a migration (each
/// statement is idempotent) and both record it; 18.16 refuses a quorum
/// insert while another is under way, so the second waits its turn.
fn record(client: &Client, db: &str, version: u32) -> Result<(), ClickHouseError> {
    let insert = format!("INSERT INTO {db}.sonde_schema VALUES ({version}, now())");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match client.run_with(&insert, &[("insert_quorum", "2")]) {
            Err(ClickHouseError::Refused { code, .. })
                if code == super::write::CONCURRENT_QUORUM_INSERT
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            done => return done.map(drop),
        }
    }
}

/// The newest migration recorded (0 before any).
pub fn current_version(client: &Client, at: &Placement) -> Result<u32, ClickHouseError> {
    let out = client.run(&format!(
        "SELECT max(version) FROM {}.sonde_schema",
        at.database
    ))?;
    out.trim().parse().map_err(|_| ClickHouseError::Refused {
        url: client.url().to_owned(),
        code: 0,
        message: format!("the schema version reads {out:?}"),
    })
}
