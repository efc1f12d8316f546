//! What every dashboard page shows: a time range and the filters, both held
//! in the URL (`?range=7d&source=news.example`) so that a view can be
//! bookmarked and shared, and carried along when a person moves to another
//! page.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use sonde_protocol::Filters;

use crate::api::Period;
use crate::dashboard::filters;
use crate::dashboard::range::{Range, RangePicker};

/// The range and filters of the page's URL.
#[derive(Clone, Copy)]
pub struct View {
    pub range: Signal<Range>,
    pub filters: Memo<Filters>,
}

pub fn use_view() -> View {
    let query = use_query_map();
    View {
        range: Signal::derive(move || range_of(&query.read())),
        filters: Memo::new(move |_| filters::from_query(&query.read())),
    }
}

fn range_of(query: &ParamsMap) -> Range {
    query
        .get("range")
        .and_then(|r| Range::from_param(&r))
        .unwrap_or(Range::Last30Days)
}

/// The period a page asks the server about, as of now.
pub fn period<'a>(site: &'a str, range: Range, filters: &'a Filters) -> Period<'a> {
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    Period {
        site,
        from,
        to,
        granularity: range.granularity(),
        filters,
    }
}

/// The URL parameters that travel from page to page: the range, the
/// filters and a share link's token.
pub fn carried(query: &ParamsMap) -> String {
    let mut pairs: Vec<String> = ["range", "share"]
        .into_iter()
        .chain(Filters::KEYS)
        .filter_map(|key| {
            query
                .get(key)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{key}={}", js_sys::encode_uri_component(&v)))
        })
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// The range picker of the page's header: choosing a range changes the
/// URL, and everything else in it stays.
#[component]
pub fn RangeControl() -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let range = Signal::derive(move || range_of(&query.read()));
    let choose = Callback::new(move |r: Range| {
        navigate(
            &filters::href(
                &location.pathname.get_untracked(),
                &query.read_untracked(),
                "range",
                Some(r.param()),
            ),
            Default::default(),
        )
    });
    view! { <RangePicker range on_choose=choose /> }
}
