//! The application database's schema, as numbered migrations applied
//! once each. Several Sonde processes may start at once: an advisory lock
//! makes one of them migrate while the others wait.
//!
//! Text is compared byte by byte (`COLLATE "C"`), as DuckDB compares it,
//! so that lists come in the same order on either store. Times are ms
//! since the Unix epoch, as everywhere in Sonde.

use postgres::Client;

use crate::store::StoreError;

/// Any number, the same in every process: the key of the lock.
const MIGRATION_LOCK: i64 = 0x50_4e_44_45;

const MIGRATIONS: &[&str] = &[
    // 1: everything of a single DuckDB file but the events and the rollup.
    r#"
    CREATE TABLE sites (
        key text COLLATE "C" PRIMARY KEY,
        settings text NOT NULL
    );
    CREATE TABLE users (
        username text COLLATE "C" PRIMARY KEY,
        role text NOT NULL,
        password_hash text NOT NULL,
        failed_sign_ins integer NOT NULL DEFAULT 0,
        locked_until bigint
    );
    CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        username text NOT NULL REFERENCES users ON DELETE CASCADE,
        csrf_token text NOT NULL,
        expires_at bigint NOT NULL
    );
    CREATE TABLE share_links (
        id text COLLATE "C" PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        site text NOT NULL,
        created_by text NOT NULL,
        created_at bigint NOT NULL,
        revoked boolean NOT NULL DEFAULT false
    );
    CREATE TABLE saved (
        kind text NOT NULL,
        id text COLLATE "C" NOT NULL,
        site text NOT NULL,
        name text COLLATE "C" NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE TABLE consents (
        site text NOT NULL,
        consent_id text COLLATE "C" NOT NULL,
        decided_at bigint NOT NULL,
        received_at bigint NOT NULL,
        policy_version integer NOT NULL,
        source text NOT NULL,
        gpc boolean NOT NULL,
        usage boolean NOT NULL,
        errors boolean NOT NULL,
        performance boolean NOT NULL,
        marketing boolean NOT NULL,
        device text,
        chain_seq bigint NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (consent_id, decided_at),
        UNIQUE (site, chain_seq)
    );
    CREATE INDEX consents_by_decision ON consents (site, decided_at);
    CREATE TABLE consent_erasures (
        site text NOT NULL,
        chain_seq bigint NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        received_at bigint NOT NULL,
        erased_at bigint NOT NULL,
        PRIMARY KEY (site, chain_seq)
    );
    CREATE TABLE consent_chain (
        site text PRIMARY KEY,
        seq bigint NOT NULL,
        hash text NOT NULL
    );
    CREATE TABLE banner_impressions (
        site text NOT NULL,
        day date NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (site, day)
    );
    CREATE TABLE bot_requests (
        site text NOT NULL,
        day date NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (site, day)
    );
    CREATE TABLE daily_salts (
        timezone text NOT NULL,
        day date NOT NULL,
        salt bytea NOT NULL,
        PRIMARY KEY (timezone, day)
    );
    "#,
    // 2: alert firings (rules are in `saved`), and whose turn it is to
    // evaluate them: one row, held by one process until its lease ends.
    r#"
    CREATE TABLE alert_firings (
        id text COLLATE "C" PRIMARY KEY,
        site text COLLATE "C" NOT NULL,
        rule text COLLATE "C" NOT NULL,
        fired_at bigint NOT NULL,
        open boolean NOT NULL,
        pending boolean NOT NULL,
        body text NOT NULL
    );
    CREATE INDEX alert_firings_site ON alert_firings (site, fired_at);
    CREATE TABLE alert_turn (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        process text NOT NULL,
        until bigint NOT NULL
    );
    "#,
    // 3: site API keys, as share links: the token kept only as its hash.
    r#"
    CREATE TABLE api_keys (
        id text COLLATE "C" PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        site text COLLATE "C" NOT NULL,
        body text NOT NULL
    );
    "#,
    // 4: a viewer limited to sites: their keys as a JSON array; NULL, every site.
    r#"
    ALTER TABLE users ADD COLUMN sites text;
    "#,
    // 5: figures imported from another tool, a day at a time.
    r#"
    CREATE TABLE imported_days (
        site text COLLATE "C" NOT NULL,
        day text COLLATE "C" NOT NULL,
        visitors bigint NOT NULL,
        visits bigint NOT NULL,
        pageviews bigint NOT NULL,
        bounces bigint NOT NULL,
        visit_duration_s bigint NOT NULL,
        PRIMARY KEY (site, day)
    );
    CREATE TABLE imported_rows (
        site text COLLATE "C" NOT NULL,
        day text COLLATE "C" NOT NULL,
        dimension text NOT NULL,
        label text NOT NULL,
        visitors bigint NOT NULL,
        visits bigint NOT NULL,
        pageviews bigint NOT NULL
    );
    CREATE INDEX imported_rows_site_day ON imported_rows (site, day);
    "#,
];

/// Applies the migrations the database has not had yet, in order.
pub(super) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let applied = apply(client);
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    applied
}

fn apply(client: &mut Client) -> Result<(), StoreError> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS sonde_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let done: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM sonde_schema", &[])?
        .get(0);
    for (version, sql) in (1..).zip(MIGRATIONS).skip(done.max(0) as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO sonde_schema (version) VALUES ($1)",
            &[&version],
        )?;
        tx.commit()?;
    }
    Ok(())
}
