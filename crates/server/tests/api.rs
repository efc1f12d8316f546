//! The HTTP API over a real socket, on a temporary DuckDB file.
//!
//! One test binary (DuckDB is linked once) with a module per product area
//! under `api/`; helpers shared by several areas are in `support`.

mod support;

mod api {
    mod abuse;
    mod alerts;
    mod annotations;
    mod banner;
    mod consent;
    mod consent_report;
    mod dashboard;
    mod digests;
    mod embed;
    mod events;
    mod funnels;
    mod headers;
    mod imported;
    mod ingest;
    mod operations;
    mod privacy;
    mod raw_events;
    mod reports;
    mod sites;
    mod usage;
}
