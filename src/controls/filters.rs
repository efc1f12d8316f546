//! Filters: kept in the URL (`?source=…&device=…`), shown as chips that
//! remove themselves, and added by choosing a row of a breakdown. Each
//! filter selects the visits that match it, on every page that reports on
//! visits (see `sonde_protocol::filters`).

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};
use leptos_router::params::ParamsMap;
use sonde_protocol::Filters;

use super::query::href;

/// What a person reads on the chip of each filter.
pub fn label(key: &str) -> &'static str {
    match key {
        "page" => "Page",
        "entry_page" => "Entry page",
        "source" => "Source",
        "medium" => "Medium",
        "campaign" => "Campaign",
        "referrer" => "Referrer",
        "browser" => "Browser",
        "os" => "System",
        "device" => "Device",
        _ => "Filter",
    }
}

/// The filters in a URL's query.
pub fn from_query(query: &ParamsMap) -> Filters {
    let mut filters = Filters::default();
    for key in Filters::KEYS {
        filters.set(key, query.get(key));
    }
    filters
}

/// The active filters as chips; each removes itself.
#[component]
pub fn FilterChips() -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    move || {
        let query = query.get();
        let path = location.pathname.get();
        let filters = from_query(&query);
        let chips: Vec<(&'static str, String)> = filters
            .given()
            .map(|(key, value)| (key, value.to_owned()))
            .collect();
        (!chips.is_empty()).then(|| {
            view! {
                <ul class="filter-chips" aria-label="Filters">
                    {chips
                        .into_iter()
                        .map(|(key, v)| {
                            let remove = href(&path, &query, key, None);
                            let label = label(key);
                            view! {
                                <li class="chip" data-filter=key>
                                    <span>{label} ": " <strong>{v.clone()}</strong></span>
                                    <a href=remove aria-label=format!("Remove the filter {label}: {v}")>"×"</a>
                                </li>
                            }
                        })
                        .collect_view()}
                    <li class="muted">"Everything on this page counts only the visits these match."</li>
                </ul>
            }
        })
    }
}
