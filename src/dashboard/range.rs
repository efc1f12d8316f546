//! The time range the dashboard shows.

use leptos::prelude::*;
use sonde_protocol::Granularity;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Last24Hours,
    Last30Days,
}

impl Range {
    pub fn granularity(self) -> Granularity {
        match self {
            Range::Last24Hours => Granularity::Hour,
            Range::Last30Days => Granularity::Day,
        }
    }

    /// `[from, to)` in ms, ending with the bucket that holds `now`.
    pub fn bounds(self, now: i64) -> (i64, i64) {
        let (width, count) = match self {
            Range::Last24Hours => (HOUR, 24),
            Range::Last30Days => (DAY, 30),
        };
        let to = (now.div_euclid(width) + 1) * width;
        (to - count * width, to)
    }

    /// The range as the URL says it (`?range=24h`), so a view can be
    /// bookmarked and shared.
    pub fn param(self) -> &'static str {
        match self {
            Range::Last24Hours => "24h",
            Range::Last30Days => "30d",
        }
    }

    pub fn from_param(param: &str) -> Option<Range> {
        [Range::Last24Hours, Range::Last30Days]
            .into_iter()
            .find(|r| r.param() == param)
    }

    fn label(self) -> &'static str {
        match self {
            Range::Last24Hours => "Last 24 hours",
            Range::Last30Days => "Last 30 days",
        }
    }
}

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
            {[Range::Last24Hours, Range::Last30Days]
                .into_iter()
                .map(|r| {
                    view! {
                        <button
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_round_trips_through_the_url() {
        for r in [Range::Last24Hours, Range::Last30Days] {
            assert_eq!(Range::from_param(r.param()), Some(r));
        }
        assert_eq!(Range::from_param("7y"), None);
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
