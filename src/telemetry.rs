//! Telemetry of the dashboard's own use, when the operator turns it on
//! (`--dashboard-telemetry`; off by default). The dashboard is then a site
//! like any other: it loads the same embed through [`sonde_leptos`], its
//! readers meet the same banner, and the footer says what they allowed and
//! reopens their settings.

use leptos::prelude::*;
use sonde_leptos::{PrivacySettingsLink, load_embed, use_consent};

use crate::api;

/// The footer, with the embed loaded, when dashboard telemetry is on.
#[component]
pub fn DashboardTelemetry() -> impl IntoView {
    let telemetry = LocalResource::new(api::dashboard_telemetry);
    move || {
        let site = telemetry.get()?.ok()?.site?;
        load_embed("/sonde.js", &site);
        Some(view! { <TelemetryFooter /> })
    }
}

/// What this reader allowed the dashboard to learn, and where to change it.
#[component]
fn TelemetryFooter() -> impl IntoView {
    let consent = use_consent();
    let allowed = move || {
        let consent = consent.get();
        if !consent.decided {
            return "not decided yet".to_owned();
        }
        let grants = consent.grants;
        let names: Vec<&str> = [
            (grants.usage, "usage"),
            (grants.errors, "errors"),
            (grants.performance, "performance"),
            (grants.marketing, "marketing"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "nothing".to_owned()
        } else {
            names.join(", ")
        }
    };
    view! {
        <footer class="telemetry">
            <span>"This dashboard's own use is measured with Sonde. You allowed: "</span>
            <span data-telemetry-grants>{allowed}</span>
            " "
            <PrivacySettingsLink class="link">"Privacy settings"</PrivacySettingsLink>
        </footer>
    }
}
