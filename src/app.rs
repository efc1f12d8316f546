//! The app: the reader's gate, then the site shown and the pages' routes.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};

use crate::alerts::AlertsPage;
use crate::annotations::AnnotationsPage;
use crate::api_keys::ApiKeysPage;
use crate::consent::Consent;
use crate::conversions::Conversions;
use crate::dashboard::Dashboard;
use crate::digests::DigestsPage;
use crate::errors::Errors;
use crate::events::Events;
use crate::funnels::Funnels;
use crate::people::PeoplePage;
use crate::performance::Performance;
use crate::route::Page;
use crate::session::SessionGate;
use crate::site::CurrentSite;
use crate::telemetry::DashboardTelemetry;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <SessionGate>
            <Pages />
        </SessionGate>
        <DashboardTelemetry />
    }
}

/// The pages a known reader sees, about the site chosen once for them.
#[component]
fn Pages() -> impl IntoView {
    CurrentSite::provide();
    view! {
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=Page::Overview view=Dashboard />
                <Route path=Page::Funnels view=Funnels />
                <Route path=Page::Conversions view=Conversions />
                <Route path=Page::Events view=Events />
                <Route path=Page::Errors view=Errors />
                <Route path=Page::Consent view=Consent />
                <Route path=Page::Performance view=Performance />
                <Route path=Page::Annotations view=AnnotationsPage />
                <Route path=Page::Alerts view=AlertsPage />
                <Route path=Page::Digests view=DigestsPage />
                <Route path=Page::ApiKeys view=ApiKeysPage />
                <Route path=Page::People view=PeoplePage />
            </Routes>
        </Router>
    }
}
