//! What a report page reads of the controls: the range, the filters and the
//! comparison of the page's URL, and the period it asks the server about.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use sonde_protocol::{Filters, Versus};

use super::filters;
use super::range::{Range, range_of};
use super::versus::versus_of;
use crate::api::Period;

/// The range and filters of the page's URL.
#[derive(Clone, Copy)]
pub struct View {
    /// The range shown (the last 30 days unless the URL says otherwise).
    pub range: Signal<Range>,
    /// The visits the filters select.
    pub filters: Memo<Filters>,
    /// What the range's figures are compared with.
    pub versus: Signal<Versus>,
}

pub fn use_view() -> View {
    let query = use_query_map();
    View {
        range: Signal::derive(move || range_of(&query.read())),
        filters: Memo::new(move |_| filters::from_query(&query.read())),
        versus: Signal::derive(move || versus_of(&query.read())),
    }
}

/// The period a page asks the server about, as of now.
pub fn period<'a>(site: &'a str, range: Range, filters: &'a Filters, versus: Versus) -> Period<'a> {
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    Period {
        site,
        from,
        to,
        granularity: range.granularity(),
        filters,
        versus,
    }
}
