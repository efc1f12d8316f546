//! Browser tests: the real build (dist/: the dashboard, the demo shop and the
//! embeddable `sonde.js` with its collector and banner modules), served by
//! the real server on a temporary DuckDB file, driven in headless Chromium
//! through chromedriver. Each test uses a fresh browser profile, and checks
//! what reached the server in its store.
//!
//! One module per product area, all in this one test binary.
//!
//! Needs `dist/` (built by `cargo xtask build-web`) and Debian's `chromium`
//! and `chromium-driver`; `cargo xtask test` provides all three.

#![cfg(not(target_arch = "wasm32"))]

#[path = "../support/mod.rs"]
mod support;

mod access;
mod alerts;
mod annotations;
mod api_keys;
mod banner;
mod consent;
mod dashboard;
mod delivery;
mod digests;
mod events;
mod funnels;
mod imports;
mod ranges;
