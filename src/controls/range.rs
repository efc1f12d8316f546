//! The time range the dashboard shows, and its picker.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use sonde_protocol::Granularity;

use super::query::href;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Last24Hours,
    Last7Days,
    Last30Days,
    Last90Days,
}

/// Every range, in the picker's order.
pub const RANGES: [Range; 4] = [
    Range::Last24Hours,
    Range::Last7Days,
    Range::Last30Days,
    Range::Last90Days,
];

impl Range {
    pub fn granularity(self) -> Granularity {
        match self {
            Range::Last24Hours => Granularity::Hour,
            Range::Last7Days | Range::Last30Days | Range::Last90Days => Granularity::Day,
        }
    }

    /// `[from, to)` in ms, ending with the bucket that holds `now`.
    pub fn bounds(self, now: i64) -> (i64, i64) {
        let (width, count) = match self {
            Range::Last24Hours => (HOUR, 24),
            Range::Last7Days => (DAY, 7),
            Range::Last30Days => (DAY, 30),
            Range::Last90Days => (DAY, 90),
        };
        let to = (now.div_euclid(width) + 1) * width;
        (to - count * width, to)
    }

    /// The range as the URL says it (`?range=24h`), so a view can be
    /// bookmarked and shared.
    pub fn param(self) -> &'static str {
        match self {
            Range::Last24Hours => "24h",
            Range::Last7Days => "7d",
            Range::Last30Days => "30d",
            Range::Last90Days => "90d",
        }
    }

    pub fn from_param(param: &str) -> Option<Range> {
        RANGES.into_iter().find(|r| r.param() == param)
    }

    /// The range a URL's `range` parameter chooses: the last 30 days
    /// unless it names another.
    pub fn chosen(param: Option<&str>) -> Range {
        param
            .and_then(Range::from_param)
            .unwrap_or(Range::Last30Days)
    }

    /// The range in a sentence: "No error was reported in the last 7 days."
    pub fn phrase(self) -> &'static str {
        match self {
            Range::Last24Hours => "the last 24 hours",
            Range::Last7Days => "the last 7 days",
            Range::Last30Days => "the last 30 days",
            Range::Last90Days => "the last 90 days",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Last24Hours => "Last 24 hours",
            Range::Last7Days => "Last 7 days",
            Range::Last30Days => "Last 30 days",
            Range::Last90Days => "Last 90 days",
        }
    }
}

/// The range of a URL's query: the last 30 days unless it names another.
pub fn range_of(query: &ParamsMap) -> Range {
    Range::chosen(query.get("range").as_deref())
}

/// The range buttons, the chosen one pressed.
#[component]
pub fn RangePicker(
    /// The selected range.
    #[prop(into)]
    range: Signal<Range>,
    /// Called with the range the person picks.
    on_choose: Callback<Range>,
) -> impl IntoView {
    view! {
        <div class="range-picker" role="group" aria-label="Time range">
            {RANGES
                .into_iter()
                .map(|r| {
                    view! {
                        <button
                            data-range=r.param()
                            aria-pressed=move || (range.get() == r).to_string()
                            on:click=move |_| on_choose.run(r)
                        >
                            {r.label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
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
            &href(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_round_trips_through_the_url() {
        for r in RANGES {
            assert_eq!(Range::from_param(r.param()), Some(r));
        }
        assert_eq!(Range::from_param("7y"), None);
    }

    #[test]
    fn a_url_without_a_known_range_shows_the_last_30_days() {
        assert_eq!(range_of(&ParamsMap::new()), Range::Last30Days);
        assert_eq!(Range::chosen(Some("7y")), Range::Last30Days);
        assert_eq!(Range::chosen(Some("24h")), Range::Last24Hours);
    }

    #[test]
    fn ranges_end_with_the_current_bucket() {
        let now = 10 * DAY + 5 * HOUR + 17;
        assert_eq!(Range::Last30Days.bounds(now), (-19 * DAY, 11 * DAY));
        assert_eq!(
            Range::Last24Hours.bounds(now),
            (10 * DAY + 6 * HOUR - DAY, 10 * DAY + 6 * HOUR)
        );
    }
}
