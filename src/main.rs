//! Sonde's web app: the dashboard, and the demo shop that carries the
//! consent banner. Built for the browser by Trunk.

mod api;
mod app;
mod charts;
mod consent;
mod dashboard;
mod demo;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
