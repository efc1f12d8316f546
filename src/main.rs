//! Sonde's web app: the dashboard. Built for the browser by Trunk. (The
//! consent banner is a module of its own, `crates/banner`, and the demo
//! shop is plain pages under `public/demo/`, instrumented by the script tag;
//! the dashboard's own telemetry, when on, goes through the same embed.)

mod api;
mod app;
mod change;
mod charts;
mod consent;
mod conversions;
mod csv;
mod dashboard;
mod errors;
mod funnels;
mod layout;
mod performance;
mod session;
mod telemetry;
mod view;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
