//! Sonde's web app: the dashboard, as a library that `main.rs` mounts (and
//! tests mount piece by piece). Built for the browser by Trunk. (The consent
//! banner is a module of its own, `crates/banner`, and the demo shop is
//! plain pages under `public/demo/`, instrumented by the script tag; the
//! dashboard's own telemetry, when on, goes through the same embed.)
//!
//! The layers point one way: the pages (`dashboard` the overview,
//! `funnels`, `conversions`, `errors`, `performance`, `consent`, `alerts`,
//! `digests`) use the
//! shared components (`layout` with the report page shell, `controls`,
//! `charts`, `csv`), which use the API client (`api`); the reader
//! (`session`) and the site shown (`site`) are contexts provided once.

mod alerts;
mod annotations;
mod api;
mod api_keys;
mod app;
mod change;
pub mod charts;
mod consent;
pub mod controls;
mod conversions;
mod csv;
mod dashboard;
mod digests;
mod errors;
mod events;
mod funnels;
mod layout;
mod local_time;
mod people;
mod performance;
pub mod route;
mod session;
mod site;
mod telemetry;
mod timeline;

pub use app::App;

/// Mounts the dashboard on the page's body.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
