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
    range: RwSignal<Range>,
) -> impl IntoView {
    view! {
        <div class="range-picker" role="group" aria-label="Time range">
            {[Range::Last24Hours, Range::Last30Days]
                .into_iter()
                .map(|r| {
                    view! {
                        <button
                            aria-pressed=move || (range.get() == r).to_string()
                            on:click=move |_| range.set(r)
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
    fn ranges_end_with_the_current_bucket() {
        let now = 10 * DAY + 5 * HOUR + 17;
        assert_eq!(Range::Last30Days.bounds(now), (-19 * DAY, 11 * DAY));
        assert_eq!(
            Range::Last24Hours.bounds(now),
            (10 * DAY + 6 * HOUR - DAY, 10 * DAY + 6 * HOUR)
        );
    }
}
