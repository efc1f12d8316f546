//! The schema, as an ordered list of migrations. The table `schema_version`
//! holds a row per migration applied (its number, from 1, its name and
//! when); opening a store applies the ones after the file's latest, each
//! once, in order, each in a transaction of its own with its row, so a
//! failed migration leaves the file as it was. A file whose version is
//! newer than this Sonde knows is refused.
//!
//! Migrations are history: never change one that has shipped; append a
//! new one. The first, [`BASELINE`], is the schema as the last Sonde
//! without versions left it; its `IF NOT EXISTS` lets it adopt such a file
//! (version 0) as well as create a new one.
//!
//! Rows need no migration; [`fill_in`] gives the rows stored without them
//! their derived numbers at every opening.

use duckdb::{Connection, Transaction, params};

use crate::store::StoreError;

/// One change of the schema.
pub(super) struct Migration {
    /// What it does, in a few words; stored with its number.
    pub name: &'static str,
    pub apply: fn(&Transaction<'_>) -> Result<(), StoreError>,
}

/// Every migration, oldest first; a migration's version is its place in
/// the list, from 1.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "baseline",
        apply: |tx| Ok(tx.execute_batch(BASELINE)?),
    },
    Migration {
        name: "events.seq in the order of storing",
        apply: |tx| {
            // Ties were broken by DuckDB's rowid until now (a row's place
            // in the table, not promised to last); the rows stored so far
            // keep that order, and the sequence goes on after them. (The table is
            // altered before its rows change: DuckDB refuses to alter a
            // table with changes in the same transaction.)
            sequence_after(tx, "event_seq", "SELECT max(rowid) + 1 FROM events")?;
            tx.execute_batch(
                "ALTER TABLE events ADD COLUMN seq BIGINT;
                 UPDATE events SET seq = rowid + 1;",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "path numbers from a sequence",
        apply: |tx| sequence_after(tx, "path_ids", "SELECT max(path_id) FROM paths"),
    },
    Migration {
        name: "consent records chained when stored",
        apply: |tx| {
            // Each record's place in its site's chain and its links; the
            // chain's head per site; what is left of an erased record.
            tx.execute_batch(
                "ALTER TABLE consents ADD COLUMN chain_seq BIGINT;
                 ALTER TABLE consents ADD COLUMN prev_hash VARCHAR;
                 ALTER TABLE consents ADD COLUMN hash VARCHAR;
                 CREATE TABLE consent_chain (
                     site VARCHAR PRIMARY KEY,
                     seq  BIGINT NOT NULL,
                     hash VARCHAR NOT NULL
                 );
                 CREATE TABLE consent_erasures (
                     site        VARCHAR NOT NULL,
                     chain_seq   BIGINT NOT NULL,
                     prev_hash   VARCHAR NOT NULL,
                     hash        VARCHAR NOT NULL,
                     received_at TIMESTAMP NOT NULL,
                     erased_at   TIMESTAMP NOT NULL,
                     PRIMARY KEY (site, chain_seq)
                 );",
            )?;
            super::consents::chain_stored(tx)
        },
    },
    Migration {
        name: "events without a primary key; recent ids kept apart",
        apply: |tx| {
            // The key's index held every id ever stored, in memory; only
            // ids recent enough to be retried are needed (see write). A
            // copy in the stored order streams within the memory limit.
            tx.execute_batch(
                "CREATE TABLE events_unkeyed AS SELECT * FROM events;
                 DROP TABLE events;
                 ALTER TABLE events_unkeyed RENAME TO events;
                 CREATE TABLE recent_event_ids (
                     id        VARCHAR PRIMARY KEY,
                     site      VARCHAR NOT NULL,
                     stored_at BIGINT NOT NULL
                 );",
            )?;
            // Ingest time was not stored; an event's own time stands in,
            // which is never later than its arrival by more than the skew
            // ingest allows.
            tx.execute(
                "INSERT INTO recent_event_ids
                     SELECT id, site, epoch_ms(ts) FROM events WHERE ts >= epoch_ms(?::BIGINT)",
                [super::now_ms() - super::write::KEEP_IDS_MS],
            )?;
            Ok(())
        },
    },
    Migration {
        name: "events' required columns not null again",
        apply: |tx| {
            // A table made by CREATE TABLE AS has no constraints; DuckDB
            // alters a table only in a transaction that did not make it.
            for column in ["id", "site", "kind", "ts", "visitor_id", "path"] {
                tx.execute_batch(&format!(
                    "ALTER TABLE events ALTER COLUMN {column} SET NOT NULL"
                ))?;
            }
            Ok(())
        },
    },
    Migration {
        name: "rolled-up days keep their visits",
        apply: |tx| {
            // One row per visit of a rolled-up day (a session cut at the
            // site's midnight), as scope::sessions_sql makes it, with the
            // path of each of its page views: filtered reports read these
            // instead of rebuilding the visits from the page views. Read
            // only for days listed in rollup_days.
            tx.execute_batch(
                "CREATE TABLE rollup_day_visits (
                     site        VARCHAR NOT NULL,
                     day_start   BIGINT NOT NULL,
                     session     UBIGINT NOT NULL,
                     visitor     BIGINT NOT NULL,
                     views       BIGINT NOT NULL,
                     duration_ms BIGINT NOT NULL,
                     entry       VARCHAR,
                     exit        VARCHAR,
                     source      VARCHAR,
                     referrer    VARCHAR,
                     medium      VARCHAR,
                     campaign    VARCHAR,
                     browser     VARCHAR,
                     os          VARCHAR,
                     device      VARCHAR,
                     pages       VARCHAR[]
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "rolled-up visits keep when they began",
        apply: |tx| {
            // The conversions report buckets its visits by their first
            // page view, by the hour too. Rows without it are recounted:
            // the rollup's version changed with it.
            tx.execute_batch("ALTER TABLE rollup_day_visits ADD COLUMN start_ms BIGINT")?;
            Ok(())
        },
    },
    Migration {
        name: "rolled-up days keep their conversions per goal",
        apply: |tx| {
            // A rolled-up day's visits tallied against each saved goal
            // (see conversions::roll_up_goals): the day's totals (breakdown
            // 'total', label '') and each label of each breakdown. `goal`
            // is the goal's definition, not its name. Read only for days
            // listed in rollup_days.
            tx.execute_batch(
                "CREATE TABLE rollup_day_goals (
                     site        VARCHAR NOT NULL,
                     day_start   BIGINT NOT NULL,
                     goal        VARCHAR NOT NULL,
                     breakdown   VARCHAR NOT NULL,
                     label       VARCHAR NOT NULL,
                     visitors    BIGINT NOT NULL,
                     visits      BIGINT NOT NULL,
                     conversions BIGINT NOT NULL,
                     value       DOUBLE NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "rolled-up days keep their web vitals",
        apply: |tx| {
            // Per rolled-up day, metric and page (path_id NULL: every
            // page), how many samples fell in each bin of the performance
            // report (reports::performance::bin) and how many of them rate
            // good and poor; and how many visits measured each page. Read
            // only for days listed in rollup_days.
            tx.execute_batch(
                "CREATE TABLE rollup_day_vitals (
                     site      VARCHAR NOT NULL,
                     day_start BIGINT NOT NULL,
                     metric    VARCHAR NOT NULL,
                     path_id   INTEGER,
                     bin       INTEGER NOT NULL,
                     samples   BIGINT NOT NULL,
                     good      BIGINT NOT NULL,
                     poor      BIGINT NOT NULL
                 );
                 CREATE TABLE rollup_day_vital_pages (
                     site      VARCHAR NOT NULL,
                     day_start BIGINT NOT NULL,
                     path_id   INTEGER NOT NULL,
                     visits    BIGINT NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "rolled-up days keep the overview of each filter",
        apply: |tx| {
            // Per rolled-up day, filter (source, medium, campaign,
            // referrer, browser, os, device) and value, the overview's
            // figures of the visits that pass it (see
            // overview::roll_day_filtered): dimension 'total' (label '')
            // their visitors, visits, page views, bounces and time; each
            // breakdown's groups; 'page' each page's visitors, visits and
            // views. Read only for days listed in rollup_days.
            tx.execute_batch(
                "CREATE TABLE rollup_day_filtered (
                     site        VARCHAR NOT NULL,
                     day_start   BIGINT NOT NULL,
                     filter      VARCHAR NOT NULL,
                     value       VARCHAR NOT NULL,
                     dimension   VARCHAR NOT NULL,
                     label       VARCHAR NOT NULL,
                     visitors    BIGINT NOT NULL,
                     sessions    BIGINT NOT NULL,
                     views       BIGINT NOT NULL,
                     bounces     BIGINT NOT NULL,
                     duration_ms BIGINT NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "alert firings",
        apply: |tx| {
            // Each firing as its protocol type's JSON, with what it is
            // looked up by: open (not resolved yet) and pending (a
            // notification still to be tried). Rules are in `saved`.
            tx.execute_batch(
                "CREATE TABLE alert_firings (
                     id       VARCHAR PRIMARY KEY,
                     site     VARCHAR NOT NULL,
                     rule     VARCHAR NOT NULL,
                     fired_at BIGINT NOT NULL,
                     open     BOOLEAN NOT NULL,
                     pending  BOOLEAN NOT NULL,
                     body     VARCHAR NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "site api keys",
        apply: |tx| {
            // Like share links: the token kept only as its hash; the key
            // as its protocol type's JSON. Revoking deletes the row.
            tx.execute_batch(
                "CREATE TABLE api_keys (
                     id         VARCHAR PRIMARY KEY,
                     token_hash VARCHAR NOT NULL UNIQUE,
                     site       VARCHAR NOT NULL,
                     body       VARCHAR NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "viewers limited to sites",
        apply: |tx| {
            // A table of its own rather than a column of `users`: DuckDB
            // cannot alter a table others depend on. A row limits its
            // person to the sites of its JSON array; no row, every site.
            tx.execute_batch(
                "CREATE TABLE user_sites (
                     username VARCHAR PRIMARY KEY,
                     sites    VARCHAR NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
    Migration {
        name: "imported days",
        apply: |tx| {
            // Figures from another tool, a day at a time, apart from the
            // events (days as `YYYY-MM-DD` text, on the site's calendar).
            tx.execute_batch(
                "CREATE TABLE imported_days (
                     site             VARCHAR NOT NULL,
                     day              VARCHAR NOT NULL,
                     visitors         BIGINT NOT NULL,
                     visits           BIGINT NOT NULL,
                     pageviews        BIGINT NOT NULL,
                     bounces          BIGINT NOT NULL,
                     visit_duration_s BIGINT NOT NULL,
                     PRIMARY KEY (site, day)
                 );
                 CREATE TABLE imported_rows (
                     site      VARCHAR NOT NULL,
                     day       VARCHAR NOT NULL,
                     dimension VARCHAR NOT NULL,
                     label     VARCHAR NOT NULL,
                     visitors  BIGINT NOT NULL,
                     visits    BIGINT NOT NULL,
                     pageviews BIGINT NOT NULL
                 );",
            )?;
            Ok(())
        },
    },
];

/// Creates the sequence `name` to count on from the largest number `max`
/// (a query) finds, or from 1.
fn sequence_after(tx: &Transaction<'_>, name: &str, max: &str) -> Result<(), StoreError> {
    let largest: Option<i64> = tx.query_row(max, [], |r| r.get(0))?;
    let next = largest.unwrap_or(0) + 1;
    tx.execute_batch(&format!("CREATE SEQUENCE {name} START WITH {next};"))?;
    Ok(())
}

/// The tables as of the first version. `events` has one column per field
/// any event kind has; a kind leaves the others NULL. Its columns are in
/// the order a file of the last unversioned Sonde has them, so that a new
/// file and an adopted one are alike.
const BASELINE: &str = "
CREATE TABLE IF NOT EXISTS events (
    id              VARCHAR PRIMARY KEY,
    site            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    ts              TIMESTAMP NOT NULL,
    visitor_id      BIGINT NOT NULL,
    session_id      VARCHAR,
    path            VARCHAR NOT NULL,
    referrer_host   VARCHAR,
    title           VARCHAR,
    category        VARCHAR,
    utm_source      VARCHAR,
    utm_medium      VARCHAR,
    utm_campaign    VARCHAR,
    utm_term        VARCHAR,
    utm_content     VARCHAR,
    name            VARCHAR,
    href            VARCHAR,
    value           DOUBLE,
    props           VARCHAR,
    error_message   VARCHAR,
    error_source    VARCHAR,
    error_line      INTEGER,
    error_column    INTEGER,
    error_stack     VARCHAR,
    error_rejection BOOLEAN,
    browser         VARCHAR,
    os              VARCHAR,
    device          VARCHAR,
    -- A number for the event's session (its session id, or its own id when
    -- it has none; see write::session_key), so funnels group events by
    -- session without reading and hashing the ids.
    session_key     UBIGINT,
    -- The number of the event's path (see paths).
    path_id         INTEGER
);

-- One row per decision; a retried send of the same record is stored once.
CREATE TABLE IF NOT EXISTS consents (
    site           VARCHAR NOT NULL,
    consent_id     VARCHAR NOT NULL,
    decided_at     TIMESTAMP NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    policy_version INTEGER NOT NULL,
    source         VARCHAR NOT NULL,
    gpc            BOOLEAN NOT NULL,
    usage          BOOLEAN NOT NULL,
    errors         BOOLEAN NOT NULL,
    performance    BOOLEAN NOT NULL,
    marketing      BOOLEAN NOT NULL,
    -- The device class of the browser that sent the decision (never more).
    device         VARCHAR,
    PRIMARY KEY (consent_id, decided_at)
);

-- Sites and their settings (sonde_protocol::SiteSettings as JSON, so a
-- new setting needs no migration).
CREATE TABLE IF NOT EXISTS sites (
    key      VARCHAR PRIMARY KEY,
    settings VARCHAR NOT NULL
);

-- Requests from bots per site and day: counted, never stored as visits.
CREATE TABLE IF NOT EXISTS bot_requests (
    day   DATE NOT NULL,
    site  VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, site)
);

-- Banner downloads per site and day: the consent report's denominator,
-- counted in aggregate with nothing about the visitor.
CREATE TABLE IF NOT EXISTS banner_impressions (
    day   DATE NOT NULL,
    site  VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, site)
);

-- Each site's paths by number (see paths).
CREATE TABLE IF NOT EXISTS paths (
    site    VARCHAR NOT NULL,
    path    VARCHAR NOT NULL,
    path_id INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (site, path)
);

-- Accounts (see accounts).
CREATE TABLE IF NOT EXISTS users (
    username        VARCHAR PRIMARY KEY,
    role            VARCHAR NOT NULL,
    password_hash   VARCHAR NOT NULL,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash VARCHAR PRIMARY KEY,
    username   VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS share_links (
    id         VARCHAR PRIMARY KEY,
    token_hash VARCHAR NOT NULL,
    site       VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT false
);

-- Saved funnels and goals (see saved).
CREATE TABLE IF NOT EXISTS saved (
    kind       VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    site       VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    body       VARCHAR NOT NULL,
    PRIMARY KEY (kind, id)
);

-- One row per rolled-up day of a site's calendar ([day_start, day_stop) in
-- ms, in the timezone it was counted in): its page views and visitors, the
-- rollup's version (see rollup), and its visits (a session cut at the
-- site's midnight): how many, how many of one page view, and their
-- duration added up.
CREATE TABLE IF NOT EXISTS rollup_days (
    site        VARCHAR NOT NULL,
    day_start   BIGINT NOT NULL,
    day_stop    BIGINT NOT NULL,
    timezone    VARCHAR NOT NULL,
    views       BIGINT NOT NULL,
    visitors    BIGINT NOT NULL,
    version     INTEGER,
    sessions    BIGINT,
    bounces     BIGINT,
    duration_ms BIGINT
);
-- A day's visitors and visits per value of each overview breakdown
-- (dimension: entry, exit, source, referrer, campaign, browser, os,
-- device); read only for days listed in rollup_days.
CREATE TABLE IF NOT EXISTS rollup_day_groups (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    dimension VARCHAR NOT NULL,
    label     VARCHAR NOT NULL,
    visitors  BIGINT NOT NULL,
    sessions  BIGINT NOT NULL
);
-- A day's page views and visitors per page; read only for days listed in
-- rollup_days.
CREATE TABLE IF NOT EXISTS rollup_day_pages (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    path      VARCHAR NOT NULL,
    views     BIGINT NOT NULL,
    visitors  BIGINT NOT NULL
);
";

/// Gives rows stored without them (by an older Sonde, or inserted in SQL
/// around the store, as the benchmarks fill a file) their session key,
/// path number and place in the order of storing; at every opening, after
/// the migrations.
///
/// The rows are filled in [`FILL_IN_ROWS`] at a time, each part its own
/// transaction: one `UPDATE` over a file of 100 million rows needs more
/// memory than the store's limit (256 MB by default) and failed to open.
pub(super) fn fill_in(conn: &Connection) -> Result<(), StoreError> {
    let (first, last): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT min(rowid), max(rowid) FROM events
         WHERE session_key IS NULL OR path_id IS NULL OR seq IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    conn.execute_batch(PATH_NUMBERING)?;
    let mut from = first;
    while from <= last {
        let to = from.saturating_add(FILL_IN_ROWS);
        let part = format!("rowid >= {from} AND rowid < {to}");
        let events_part = format!("events.rowid >= {from} AND events.rowid < {to}");
        conn.execute_batch(&format!(
            "BEGIN;
             UPDATE events SET session_key = {SESSION_KEY_OF_ROW}
                 WHERE session_key IS NULL AND {part};
             UPDATE events SET path_id = paths.path_id FROM paths
                 WHERE events.path_id IS NULL AND events.site = paths.site
                   AND events.path = paths.path AND {events_part};
             COMMIT;"
        ))?;
        number_unnumbered(conn, &part)?;
        from = to;
    }
    Ok(())
}

/// How many rows (by rowid) [`fill_in`] fills in one transaction; in the
/// tests a few, so that their files are filled in several parts.
const FILL_IN_ROWS: i64 = if cfg!(test) { 2 } else { 1 << 20 };

/// Gives rows of `part` (a condition on rowids) without a `seq` the
/// sequence's next numbers, in the order of their rowids (a column default
/// of `nextval` would do it at insert, but DuckDB 1.4 cannot replay such
/// an `ALTER` from its write-ahead log). Parts are numbered in rowid order,
/// so the whole file is too.
fn number_unnumbered(conn: &Connection, part: &str) -> Result<(), StoreError> {
    let unnumbered: i64 = conn.query_row(
        &format!("SELECT count(*) FROM events WHERE seq IS NULL AND {part}"),
        [],
        |r| r.get(0),
    )?;
    if unnumbered == 0 {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE OR REPLACE TEMP TABLE reserved AS
             SELECT row_number() OVER (ORDER BY seq) AS k, seq
             FROM (SELECT nextval('event_seq') AS seq FROM range({unnumbered}));
         UPDATE events SET seq = numbered.seq
             FROM (SELECT u.id, r.seq FROM
                       (SELECT rowid AS id, row_number() OVER (ORDER BY rowid) AS k
                        FROM events WHERE seq IS NULL AND {part}) u
                   JOIN reserved r USING (k)) numbered
             WHERE events.rowid = numbered.id;
         DROP TABLE reserved;
         COMMIT;"
    ))?;
    Ok(())
}

/// A row's session key in SQL, as [`crate::store::event_row::session_key`] computes
/// it.
pub(super) const SESSION_KEY_OF_ROW: &str = "md5_number_lower(coalesce(session_id, id))";

/// A session's name in the rows the reports read (errors, visits, goal
/// hits, web vitals, a funnel's units): its key, which every row carries
/// and by which the filters select sessions, rather than its id, text that
/// DuckDB decompresses for every row it scans and that a visit's row
/// would have to be joined back to.
pub(super) const SESSION_NAME: &str = "session_key::VARCHAR";

/// Numbers the paths no number was given yet, before the rows are.
const PATH_NUMBERING: &str = "
INSERT INTO paths
    SELECT site, path, nextval('path_ids')
    FROM (SELECT DISTINCT site, path FROM events WHERE path_id IS NULL) unnumbered
    WHERE NOT EXISTS (SELECT 1 FROM paths p WHERE p.site = unnumbered.site AND p.path = unnumbered.path);
";

/// Applies the migrations of `migrations` the store has not had yet, in
/// order, each in its own transaction; returns how many it applied.
pub(super) fn migrate(
    conn: &mut Connection,
    migrations: &[Migration],
) -> Result<usize, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             name       VARCHAR NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )?;
    let current = version(conn)?;
    if current > migrations.len() {
        return Err(StoreError::Corrupt(format!(
            "the store's schema is version {current}, newer than this Sonde's {}",
            migrations.len()
        )));
    }
    for (i, migration) in migrations.iter().enumerate().skip(current) {
        let version = i + 1;
        let tx = conn.transaction()?;
        (migration.apply)(&tx)?;
        tx.execute(
            "INSERT INTO schema_version VALUES (?, ?, ?)",
            params![
                version,
                migration.name,
                chrono::Utc::now().timestamp_millis()
            ],
        )?;
        tx.commit()?;
        tracing::info!(version, migration = migration.name, "store schema migrated");
    }
    Ok(migrations.len() - current)
}

/// The number of the latest migration the store has had; 0 for none.
pub(super) fn version(conn: &Connection) -> Result<usize, StoreError> {
    let version: i64 = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    Ok(version as usize)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sonde_protocol::SiteSettings;
    use sonde_protocol::funnel::{FunnelDefinition, FunnelUnit, Step};

    use super::*;
    use crate::reports::Scope;
    use crate::store::data_roles::*;
    use crate::store::duckdb::DuckDbStore;
    use crate::store::duckdb::testing::{DAY, HOUR, MIDNIGHT, view};

    /// The DDL of the last Sonde without schema versions, verbatim.
    const PRE_VERSION_DDL: &str = include_str!("schema/pre_version.sql");

    /// A file as the last Sonde without schema versions made it, with the
    /// rows of `rows` (SQL).
    fn pre_version_file(file: &std::path::Path, rows: &str) -> Connection {
        let conn = Connection::open(file).unwrap();
        conn.execute_batch(PRE_VERSION_DDL).unwrap();
        conn.execute_batch(rows).unwrap();
        conn
    }

    fn column<T: duckdb::types::FromSql>(store: &DuckDbStore, sql: &str) -> Vec<T> {
        let conn = store.conn();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Three page views of one session at one instant, stored z, y, x (the
    /// first stored is its landing page), a consent record, a saved
    /// funnel, a user and a rolled-up day.
    const ROWS: &str = "
        INSERT INTO paths VALUES ('shop', '/', 1), ('shop', '/cart', 2);
        INSERT INTO events (id, site, kind, category, ts, visitor_id, session_id, path,
                            browser, os, device, session_key, path_id)
        VALUES
            ('z', 'shop', 'page_view', 'usage', epoch_ms(1763942400000), 1, 's1', '/cart',
             'Firefox', 'Linux', 'desktop', md5_number_lower('s1'), 2),
            ('y', 'shop', 'page_view', 'usage', epoch_ms(1763942400000), 1, 's1', '/',
             'Firefox', 'Linux', 'desktop', md5_number_lower('s1'), 1),
            ('x', 'shop', 'page_view', 'usage', epoch_ms(1763942400000), 1, 's1', '/',
             'Firefox', 'Linux', 'desktop', md5_number_lower('s1'), 1);
        INSERT INTO consents VALUES ('shop', 'c1', epoch_ms(1763942400000), epoch_ms(1763942400000),
            1, 'banner', false, true, true, false, false, 'desktop');
        INSERT INTO saved VALUES ('funnel', 'f1', 'shop', 'Checkout', '{}');
        INSERT INTO users VALUES ('ada', 'admin', 'hash', 0, NULL);
        INSERT INTO rollup_days VALUES ('shop', 0, 86400000, 'UTC', 3, 1, 4, 1, 0, 0);
    ";

    /// A file the last unversioned Sonde made opens with its rows intact,
    /// numbered in the order they were stored, at the current version.
    #[test]
    fn a_file_from_before_schema_versions_is_upgraded_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        let conn = pre_version_file(&file, ROWS);
        let site = serde_json::to_string(&SiteSettings::new("shop", vec![])).unwrap();
        conn.execute("INSERT INTO sites VALUES ('shop', ?)", [site])
            .unwrap();
        drop(conn);
        let store = DuckDbStore::open(&file).unwrap();
        assert_eq!(version(&store.conn()).unwrap(), MIGRATIONS.len());
        assert_eq!(store.event_count("shop").unwrap(), 3);
        assert_eq!(
            column::<String>(&store, "SELECT id FROM events ORDER BY seq"),
            ["z", "y", "x"]
        );
        assert_eq!(
            column::<i64>(&store, "SELECT seq FROM events ORDER BY seq"),
            [1, 2, 3]
        );
        let all = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + DAY);
        let visits = store.visits(&all, chrono_tz::UTC).unwrap();
        assert_eq!(visits.len(), 1);
        assert_eq!(visits[0].landing, "/cart", "the first stored among equals");
        assert_eq!(store.consent_count("shop").unwrap(), 1);
        // The stored consent record is the first link of the site's chain,
        // and the next one follows it.
        let (from, to) = crate::reports::consent_log::ALL_TIME;
        let chain = store.consent_chain("shop", from, to).unwrap();
        assert_eq!(
            (chain.len(), chain[0].seq, chain[0].consent_id.as_str()),
            (1, 1, "c1")
        );
        let next: sonde_protocol::ConsentRecord = serde_json::from_value(serde_json::json!({
            "site": "shop", "consent_id": "c2", "decided_at": 1763942500000_i64,
            "policy_version": 1, "source": "banner", "gpc": false,
            "grants": {"usage": true, "errors": false, "performance": false, "marketing": false}
        }))
        .unwrap();
        assert!(store.record_consent(&next, "mobile").unwrap());
        let chain = store.consent_chain("shop", from, to).unwrap();
        assert_eq!(chain[1].prev_hash, chain[0].hash);
        assert_eq!(crate::reports::consent_log::verify_whole(&chain), Ok(()));
        assert_eq!(store.sites().unwrap()[0].key, "shop");
        assert_eq!(
            column::<String>(&store, "SELECT name FROM saved"),
            ["Checkout"]
        );
        assert_eq!(
            column::<String>(&store, "SELECT username FROM users"),
            ["ada"]
        );
        assert_eq!(
            column::<i64>(&store, "SELECT views FROM rollup_days"),
            Vec::<i64>::new(),
            "that Sonde's rollup (version 4, without visits) is counted again"
        );
        assert_eq!(
            column::<i32>(&store, "SELECT path_id FROM paths ORDER BY path_id"),
            [1, 2]
        );

        // New rows come after the old, new paths after the old numbers.
        store
            .write(&[view("w", MIDNIGHT + HOUR, 2, "/thanks")])
            .unwrap();
        assert_eq!(
            column::<String>(&store, "SELECT id FROM events ORDER BY seq"),
            ["z", "y", "x", "w"]
        );
        assert_eq!(
            column::<i32>(&store, "SELECT path_id FROM paths WHERE path = '/thanks'"),
            [3]
        );
    }

    /// A file from before path numbers: opening it numbers its paths, and
    /// funnels count its page views.
    #[test]
    fn opening_a_file_without_path_numbers_numbers_its_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        let funnel = FunnelDefinition {
            name: "f".into(),
            steps: vec![
                Step::Page {
                    path: "/products/*".into(),
                },
                Step::Page {
                    path: "/cart*".into(),
                },
            ],
            window_ms: HOUR,
            unit: FunnelUnit::Visitor,
        };
        let day = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + DAY);
        {
            let store = DuckDbStore::open(&file).unwrap();
            store
                .write(&[
                    view("a", MIDNIGHT + 1, 1, "/products/kettle"),
                    view("b", MIDNIGHT + 2, 1, "/cart"),
                    view("c", MIDNIGHT + 3, 2, "/products/cup"),
                ])
                .unwrap();
            // As an older Sonde left it.
            store
                .conn()
                .execute_batch(
                    "UPDATE events SET path_id = NULL, session_key = NULL; DELETE FROM paths;",
                )
                .unwrap();
        }
        let store = DuckDbStore::open(&file).unwrap();
        let entrants = || -> Vec<u64> {
            let steps = store.funnel(&day, &funnel).unwrap();
            steps.iter().map(|s| s.entrants).collect()
        };
        assert_eq!(entrants(), [2, 1]);
        let unnumbered: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM events WHERE path_id IS NULL OR session_key IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unnumbered, 0);
        // A new page after reopening gets a number of its own, after the
        // numbers given at opening.
        store
            .write(&[view("d", MIDNIGHT + 4, 2, "/cart/saved")])
            .unwrap();
        assert_eq!(entrants(), [2, 2]);
    }

    /// Rows inserted in SQL around the store, as the benchmarks fill a
    /// file, get their numbers and keys at the next opening, after the
    /// rows stored before them and in the order they were inserted.
    #[test]
    fn rows_inserted_in_sql_are_numbered_and_filled_in_at_the_next_opening() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        {
            let store = DuckDbStore::open(&file).unwrap();
            store.write(&[view("a", MIDNIGHT, 1, "/")]).unwrap();
            store
                .conn()
                .execute_batch(
                    "INSERT INTO events (id, site, kind, category, ts, visitor_id, path)
                     VALUES ('c', 'shop', 'page_view', 'usage', epoch_ms(1763942400000), 2, '/sql'),
                            ('b', 'shop', 'page_view', 'usage', epoch_ms(1763942400000), 2, '/sql')",
                )
                .unwrap();
        }
        let store = DuckDbStore::open(&file).unwrap();
        assert_eq!(
            column::<String>(&store, "SELECT id FROM events ORDER BY seq"),
            ["a", "c", "b"]
        );
        store.write(&[view("d", MIDNIGHT, 3, "/")]).unwrap();
        assert_eq!(
            column::<i64>(&store, "SELECT seq FROM events ORDER BY seq"),
            [1, 2, 3, 4]
        );
        assert_eq!(
            column::<i64>(
                &store,
                "SELECT count(*) FROM events
                 WHERE seq IS NULL OR path_id IS NULL OR session_key IS NULL"
            ),
            [0]
        );
    }

    /// Reopening a store applies nothing: every migration ran once, when
    /// the file was made.
    #[test]
    fn reopening_a_store_does_not_run_its_migrations_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        let history = |store: &DuckDbStore| -> Vec<(i64, String, i64)> {
            let conn = store.conn();
            let mut stmt = conn
                .prepare("SELECT version, name, applied_at FROM schema_version ORDER BY version")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let first = {
            let store = DuckDbStore::open(&file).unwrap();
            store.write(&[view("a", MIDNIGHT, 1, "/")]).unwrap();
            history(&store)
        };
        let versions: Vec<i64> = first.iter().map(|(v, _, _)| *v).collect();
        let expected: Vec<i64> = (1..=MIGRATIONS.len() as i64).collect();
        assert_eq!(versions, expected);
        let store = DuckDbStore::open(&file).unwrap();
        assert_eq!(history(&store), first);
        assert_eq!(migrate(&mut store.conn(), MIGRATIONS).unwrap(), 0);
        assert_eq!(
            column::<i64>(&store, "SELECT seq FROM events"),
            [1],
            "a row's number stays"
        );
    }

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    /// Each migration runs once, in order; one that fails leaves the
    /// schema and the version as they were, and runs again next time.
    #[test]
    fn migrations_run_once_in_order_and_a_failed_one_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        let counted = [
            Migration {
                name: "one",
                apply: |tx| {
                    RUNS.fetch_add(1, Ordering::SeqCst);
                    tx.execute_batch("CREATE TABLE one (n INTEGER)")?;
                    Ok(())
                },
            },
            Migration {
                name: "two reads one",
                apply: |tx| {
                    RUNS.fetch_add(10, Ordering::SeqCst);
                    tx.execute_batch("CREATE TABLE two AS SELECT * FROM one")?;
                    Ok(())
                },
            },
        ];
        assert_eq!(migrate(&mut conn, &counted).unwrap(), 2);
        assert_eq!(migrate(&mut conn, &counted).unwrap(), 0);
        assert_eq!(RUNS.load(Ordering::SeqCst), 11);
        assert_eq!(version(&conn).unwrap(), 2);

        let failing = [Migration {
            name: "three",
            apply: |tx| {
                tx.execute_batch("CREATE TABLE three (n INTEGER); SELECT * FROM missing")?;
                Ok(())
            },
        }];
        let all: Vec<Migration> = counted.into_iter().chain(failing).collect();
        assert!(migrate(&mut conn, &all).is_err());
        assert_eq!(version(&conn).unwrap(), 2);
        let three: i64 = conn
            .query_row(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'three'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(three, 0, "rolled back with its migration");
    }

    #[test]
    fn a_store_from_a_newer_sonde_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sonde.duckdb");
        drop(DuckDbStore::open(&file).unwrap());
        {
            let conn = Connection::open(&file).unwrap();
            conn.execute(
                "INSERT INTO schema_version VALUES (?, 'from the future', 0)",
                [MIGRATIONS.len() as i64 + 1],
            )
            .unwrap();
        }
        let refused = DuckDbStore::open(&file).unwrap_err();
        assert!(refused.to_string().contains("newer"), "{refused}");
    }

    /// A new file and one adopted from before versions have the same
    /// columns in the same order.
    #[test]
    fn a_new_store_and_an_upgraded_one_have_the_same_schema() {
        let dir = tempfile::tempdir().unwrap();
        let (new, old) = (dir.path().join("new.duckdb"), dir.path().join("old.duckdb"));
        pre_version_file(&old, "");
        let columns = |file: &std::path::Path| -> Vec<String> {
            let store = DuckDbStore::open(file).unwrap();
            column(
                &store,
                "SELECT table_name || '.' || column_name || ' ' || data_type
                 FROM information_schema.columns
                 ORDER BY table_name, ordinal_position",
            )
        };
        assert_eq!(columns(&new), columns(&old));
    }
}
