//! The HTTP layer: one handler module per endpoint family, each thin
//! (extract, call, answer), and the extractors they share. Handlers call
//! the services ([`crate::ingest`]), the report semantics
//! ([`crate::reports`]) and the stores through [`crate::state::AppState`];
//! nothing below this layer imports it. Errors become responses in one
//! place, [`crate::error`]; the route list is [`crate::routes`].
//!
//! Shared extractors: [`report_query::Report`] for every report (who asks,
//! its parameters, period, length, buckets and site), and
//! [`crate::ingest::Delivery`] ([`delivery`]) for what the browser behind a
//! request is (the only code that reads its address and user agent).

pub mod admin;
pub mod alerts;
pub mod annotations;
pub mod api_keys;
pub mod browser_body;
pub mod consent;
pub mod consent_log;
pub mod conversions;
pub mod delivery;
pub mod digests;
pub mod embed;
pub mod erase;
pub mod errors;
pub mod events;
pub mod funnel;
pub mod ingest;
pub mod operations;
pub mod performance;
pub mod raw_events;
pub mod report_query;
pub mod saved;
pub mod security_headers;
pub mod session;
pub mod share_links;
pub mod sites;
pub mod usage;
pub mod users;
pub mod web_files;
