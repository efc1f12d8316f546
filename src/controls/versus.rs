//! What the dashboard compares the range with, and its switch: the period
//! just before, or the same weekdays a year before (`?versus=year_before`),
//! kept in the URL so a view can be shared.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use sonde_protocol::Versus;

use super::query::href;

/// The comparison of a URL's query: the period before unless it says a
/// year before.
pub fn versus_of(query: &ParamsMap) -> Versus {
    query
        .get("versus")
        .as_deref()
        .and_then(Versus::from_param)
        .unwrap_or_default()
}

/// The switch's words for each comparison.
fn label(versus: Versus) -> &'static str {
    match versus {
        Versus::Previous => "Period before",
        Versus::YearBefore => "Year before",
    }
}

/// The comparison switch of the page's header: choosing one changes the
/// URL (the default leaves it out), and everything else in it stays.
#[component]
pub fn VersusControl() -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let chosen = Signal::derive(move || versus_of(&query.read()));
    let choose = move |v: Versus| {
        let param = (v != Versus::default()).then_some(v.as_str());
        navigate(
            &href(
                &location.pathname.get_untracked(),
                &query.read_untracked(),
                "versus",
                param,
            ),
            Default::default(),
        )
    };
    view! {
        <div class="versus" role="group" aria-label="Compare with">
            <span>"Compared with"</span>
            {Versus::ALL
                .into_iter()
                .map(|v| {
                    let choose = choose.clone();
                    view! {
                        <button
                            data-versus=v.as_str()
                            aria-pressed=move || (chosen.get() == v).to_string()
                            on:click=move |_| choose(v)
                        >
                            {label(v)}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
