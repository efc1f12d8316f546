//! The routes of the web app.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::consent::Consent;
use crate::conversions::Conversions;
use crate::dashboard::Dashboard;
use crate::errors::Errors;
use crate::funnels::Funnels;
use crate::performance::Performance;
use crate::session::SessionGate;
use crate::telemetry::DashboardTelemetry;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <SessionGate>
            <Router>
                <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                    <Route path=path!("/") view=Dashboard />
                    <Route path=path!("/funnels") view=Funnels />
                    <Route path=path!("/conversions") view=Conversions />
                    <Route path=path!("/errors") view=Errors />
                    <Route path=path!("/consent") view=Consent />
                    <Route path=path!("/performance") view=Performance />
                </Routes>
            </Router>
        </SessionGate>
        <DashboardTelemetry />
    }
}
