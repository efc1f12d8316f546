-- The schema as the last Sonde without schema versions made it: its DDL,
-- verbatim, in the order it ran at open (commit 42face6). A test fixture:
-- files made by that Sonde must open, their rows intact.

-- store/duckdb.rs
CREATE TABLE IF NOT EXISTS events (
    id            VARCHAR PRIMARY KEY,
    site          VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    ts            TIMESTAMP NOT NULL,
    visitor_id    BIGINT NOT NULL,
    session_id    VARCHAR,
    path          VARCHAR NOT NULL,
    referrer_host VARCHAR,
    title         VARCHAR
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS category VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_medium VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_campaign VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_term VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_content VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS name VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS href VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS value DOUBLE;
ALTER TABLE events ADD COLUMN IF NOT EXISTS props VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_message VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_source VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_line INTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_column INTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_stack VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error_rejection BOOLEAN;
ALTER TABLE events ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS device VARCHAR;
-- A number for the event's session (its session id, or its own id when it
-- has none; see session_key), so funnels group events by session without
-- reading and hashing the ids. Rows stored before it existed get theirs at
-- open (BACKFILL).
ALTER TABLE events ADD COLUMN IF NOT EXISTS session_key UBIGINT;

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
    PRIMARY KEY (consent_id, decided_at)
);
-- The device class of the browser that sent the decision (never more).
ALTER TABLE consents ADD COLUMN IF NOT EXISTS device VARCHAR;

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

-- store/duckdb/paths.rs
CREATE TABLE IF NOT EXISTS paths (
    site    VARCHAR NOT NULL,
    path    VARCHAR NOT NULL,
    path_id INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (site, path)
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS path_id INTEGER;
-- A 64-bit hash of the path served the same purpose for one version.
ALTER TABLE events DROP COLUMN IF EXISTS path_key;

-- store/duckdb/accounts.rs
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

-- store/duckdb/saved.rs
CREATE TABLE IF NOT EXISTS saved (
    kind       VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    site       VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    body       VARCHAR NOT NULL,
    PRIMARY KEY (kind, id)
);

-- store/duckdb/rollup.rs
-- One row per rolled-up day of a site's calendar ([day_start, day_stop) in
-- ms, in the timezone it was counted in): its page views and visitors.
CREATE TABLE IF NOT EXISTS rollup_days (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    day_stop  BIGINT NOT NULL,
    timezone  VARCHAR NOT NULL,
    views     BIGINT NOT NULL,
    visitors  BIGINT NOT NULL
);
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS version INTEGER;
-- A day's visits (a session cut at the site's midnight): how many, how
-- many of one page view, and their duration added up.
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS sessions BIGINT;
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS bounces BIGINT;
ALTER TABLE rollup_days ADD COLUMN IF NOT EXISTS duration_ms BIGINT;
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
DROP TABLE IF EXISTS rollup_sessions;
-- A day's page views and visitors per page; read only for days listed in
-- rollup_days.
CREATE TABLE IF NOT EXISTS rollup_day_pages (
    site      VARCHAR NOT NULL,
    day_start BIGINT NOT NULL,
    path      VARCHAR NOT NULL,
    views     BIGINT NOT NULL,
    visitors  BIGINT NOT NULL
);
