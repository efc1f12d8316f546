//! The overview's filters: kept in the URL (`?source=…&device=…`), shown as
//! chips that remove themselves, and added by choosing a row of a
//! breakdown. Each filter selects the visits that match it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use sonde_protocol::overview::Filters;

/// The filters the overview understands: URL parameter, and what a person
/// reads on the chip.
pub const KINDS: [(&str, &str); 7] = [
    ("page", "Page"),
    ("entry_page", "Entry page"),
    ("source", "Source"),
    ("campaign", "Campaign"),
    ("browser", "Browser"),
    ("os", "System"),
    ("device", "Device"),
];

/// The filters in a URL's query.
pub fn from_query(query: &ParamsMap) -> Filters {
    let get = |key: &str| query.get(key).filter(|v| !v.is_empty());
    Filters {
        page: get("page"),
        entry_page: get("entry_page"),
        source: get("source"),
        campaign: get("campaign"),
        browser: get("browser"),
        os: get("os"),
        device: get("device"),
    }
}

/// The value of one filter.
pub fn value<'a>(filters: &'a Filters, key: &str) -> Option<&'a str> {
    match key {
        "page" => filters.page.as_deref(),
        "entry_page" => filters.entry_page.as_deref(),
        "source" => filters.source.as_deref(),
        "campaign" => filters.campaign.as_deref(),
        "browser" => filters.browser.as_deref(),
        "os" => filters.os.as_deref(),
        "device" => filters.device.as_deref(),
        _ => None,
    }
}

/// The overview's URL with `key` set to `value` (or removed with `None`),
/// everything else kept.
pub fn href(query: &ParamsMap, key: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .clone()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .filter(|(k, _)| k != key)
        .collect();
    if let Some(v) = value {
        pairs.push((key.to_owned(), v.to_owned()));
    }
    pairs.sort();
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect();
    if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", query.join("&"))
    }
}

/// The active filters as chips; each removes itself.
#[component]
pub fn FilterChips() -> impl IntoView {
    let query = use_query_map();
    move || {
        let query = query.get();
        let filters = from_query(&query);
        let chips: Vec<_> = KINDS
            .iter()
            .filter_map(|(key, label)| value(&filters, key).map(|v| (*key, *label, v.to_owned())))
            .collect();
        (!chips.is_empty()).then(|| {
            view! {
                <ul class="filter-chips" aria-label="Filters">
                    {chips
                        .into_iter()
                        .map(|(key, label, v)| {
                            let remove = href(&query, key, None);
                            view! {
                                <li class="chip" data-filter=key>
                                    <span>{label} ": " <strong>{v.clone()}</strong></span>
                                    <a href=remove aria-label=format!("Remove the filter {label}: {v}")>"×"</a>
                                </li>
                            }
                        })
                        .collect_view()}
                    <li class="muted">"Key figures and breakdowns show the visits these match."</li>
                </ul>
            }
        })
    }
}
