//! The time range the dashboard shows, and its picker.

use chrono::{DateTime, Datelike, Months, NaiveDate};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use sonde_protocol::Granularity;

use super::query::href;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The longest chosen range the reports take, in days.
pub const MAX_CUSTOM_DAYS: i64 = 400;

/// Days chosen on the calendar, both included (UTC days, as the preset
/// ranges count them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Last24Hours,
    Last7Days,
    Last30Days,
    Last90Days,
    /// This month and the 11 before it.
    Last12Months,
    /// From the 1st of January to today.
    YearToDate,
    Custom(Days),
}

/// The preset ranges, in the picker's order.
pub const RANGES: [Range; 6] = [
    Range::Last24Hours,
    Range::Last7Days,
    Range::Last30Days,
    Range::Last90Days,
    Range::Last12Months,
    Range::YearToDate,
];

fn day_of(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

fn start_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_millis()
}

impl Range {
    /// The buckets' width: hours for a day or two, weeks past four
    /// months (a point a day would crowd the chart), days otherwise.
    pub fn granularity(self) -> Granularity {
        let days = match self {
            Range::Last24Hours => 1,
            Range::Last7Days => 7,
            Range::Last30Days => 30,
            Range::Last90Days => 90,
            Range::Last12Months => 365,
            Range::YearToDate => 0,
            Range::Custom(d) => (d.last - d.first).num_days() + 1,
        };
        match (self, days) {
            (Range::Last24Hours, _) => Granularity::Hour,
            (Range::Custom(_), ..=2) => Granularity::Hour,
            (Range::Last12Months, _) => Granularity::Week,
            (Range::Custom(_), 121..) => Granularity::Week,
            _ => Granularity::Day,
        }
    }

    /// `[from, to)` in ms: a preset ends with the bucket that holds `now`.
    pub fn bounds(self, now: i64) -> (i64, i64) {
        let today = day_of(now);
        let tomorrow = start_of(today) + DAY;
        let (width, count) = match self {
            Range::Last24Hours => (HOUR, 24),
            Range::Last7Days => (DAY, 7),
            Range::Last30Days => (DAY, 30),
            Range::Last90Days => (DAY, 90),
            Range::Last12Months => {
                let month = today.with_day(1).unwrap_or(today);
                let first = month.checked_sub_months(Months::new(11)).unwrap_or(month);
                return (start_of(first), tomorrow);
            }
            Range::YearToDate => {
                let first = today.with_ordinal(1).unwrap_or(today);
                return (start_of(first), tomorrow);
            }
            Range::Custom(d) => return (start_of(d.first), start_of(d.last) + DAY),
        };
        let to = (now.div_euclid(width) + 1) * width;
        (to - count * width, to)
    }

    /// The range as the URL says it (`?range=24h`, `?range=2026-11-01..2026-11-30`),
    /// so a view can be bookmarked and shared.
    pub fn param(self) -> String {
        match self {
            Range::Last24Hours => "24h".into(),
            Range::Last7Days => "7d".into(),
            Range::Last30Days => "30d".into(),
            Range::Last90Days => "90d".into(),
            Range::Last12Months => "12m".into(),
            Range::YearToDate => "ytd".into(),
            Range::Custom(d) => format!("{}..{}", d.first, d.last),
        }
    }

    pub fn from_param(param: &str) -> Option<Range> {
        if let Some(preset) = RANGES.into_iter().find(|r| r.param() == param) {
            return Some(preset);
        }
        let (first, last) = param.split_once("..")?;
        Range::custom(first.parse().ok()?, last.parse().ok()?).ok()
    }

    /// The days from `first` to `last`, or why they are no range.
    pub fn custom(first: NaiveDate, last: NaiveDate) -> Result<Range, String> {
        if last < first {
            return Err(format!("{last} is before {first}"));
        }
        let days = (last - first).num_days() + 1;
        if days > MAX_CUSTOM_DAYS {
            return Err(format!(
                "{days} days is longer than the {MAX_CUSTOM_DAYS} the reports take"
            ));
        }
        Ok(Range::Custom(Days { first, last }))
    }

    /// The range a URL's `range` parameter chooses: the last 30 days
    /// unless it names another.
    pub fn chosen(param: Option<&str>) -> Range {
        param
            .and_then(Range::from_param)
            .unwrap_or(Range::Last30Days)
    }

    /// The range in a sentence: "No error was reported in the last 7 days."
    pub fn phrase(self) -> String {
        match self {
            Range::Last24Hours => "the last 24 hours".into(),
            Range::Last7Days => "the last 7 days".into(),
            Range::Last30Days => "the last 30 days".into(),
            Range::Last90Days => "the last 90 days".into(),
            Range::Last12Months => "the last 12 months".into(),
            Range::YearToDate => "this year to date".into(),
            Range::Custom(d) if d.first == d.last => format!("{}", d.first.format("%-d %b %Y")),
            Range::Custom(d) => format!(
                "{} to {}",
                d.first.format("%-d %b %Y"),
                d.last.format("%-d %b %Y")
            ),
        }
    }

    pub fn label(self) -> String {
        match self {
            Range::Last24Hours => "Last 24 hours".into(),
            Range::Last7Days => "Last 7 days".into(),
            Range::Last30Days => "Last 30 days".into(),
            Range::Last90Days => "Last 90 days".into(),
            Range::Last12Months => "Last 12 months".into(),
            Range::YearToDate => "Year to date".into(),
            Range::Custom(_) => {
                let phrase = self.phrase();
                let mut chars = phrase.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        }
    }
}

/// The range of a URL's query: the last 30 days unless it names another.
pub fn range_of(query: &ParamsMap) -> Range {
    Range::chosen(query.get("range").as_deref())
}

/// The range buttons, the chosen one pressed, and two dates for a range
/// of one's own.
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
            <CustomDays range on_choose />
        </div>
    }
}

/// From a day to a day, both included.
#[component]
fn CustomDays(
    /// The selected range: its days fill the inputs when it is a custom one.
    range: Signal<Range>,
    /// Called with the days chosen.
    on_choose: Callback<Range>,
) -> impl IntoView {
    let days = move || match range.get() {
        Range::Custom(d) => Some(d),
        _ => None,
    };
    let first = RwSignal::new(days().map(|d| d.first.to_string()).unwrap_or_default());
    let last = RwSignal::new(days().map(|d| d.last.to_string()).unwrap_or_default());
    let problem = RwSignal::new(None::<String>);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse = |s: RwSignal<String>| s.get_untracked().parse::<NaiveDate>().ok();
        let chosen = match (parse(first), parse(last)) {
            (Some(first), Some(last)) => Range::custom(first, last),
            _ => Err("choose the first and the last day".into()),
        };
        match chosen {
            Ok(r) => {
                problem.set(None);
                on_choose.run(r);
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    view! {
        <details class="custom-range" open=move || days().is_some()>
            <summary aria-pressed=move || days().is_some().to_string() data-range="custom">
                {move || days().map(|_| range.get().label()).unwrap_or_else(|| "Custom".into())}
            </summary>
            <form on:submit=apply aria-label="Custom range">
                <label>"From" <input type="date" name="range-first" bind:value=first required=true /></label>
                <label>"To" <input type="date" name="range-last" bind:value=last required=true /></label>
                <button type="submit">"Show"</button>
                {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            </form>
        </details>
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
                Some(&r.param()),
            ),
            Default::default(),
        )
    });
    view! { <RangePicker range on_choose=choose /> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_range_round_trips_through_the_url() {
        let custom = Range::custom(day("2026-11-01"), day("2026-11-30")).unwrap();
        for r in RANGES.into_iter().chain([custom]) {
            assert_eq!(Range::from_param(&r.param()), Some(r));
        }
        assert_eq!(custom.param(), "2026-11-01..2026-11-30");
        assert_eq!(Range::from_param("7y"), None);
        assert_eq!(
            Range::from_param("2026-11-30..2026-11-01"),
            None,
            "backwards"
        );
        assert_eq!(
            Range::from_param("2025-01-01..2026-11-01"),
            None,
            "too long"
        );
    }

    #[test]
    fn a_custom_range_says_what_is_wrong_with_it() {
        assert_eq!(
            Range::custom(day("2026-11-30"), day("2026-11-01")),
            Err("2026-11-01 is before 2026-11-30".into())
        );
        assert_eq!(
            Range::custom(day("2025-01-01"), day("2026-11-01")),
            Err("670 days is longer than the 400 the reports take".into())
        );
    }

    #[test]
    fn calendar_ranges_cover_whole_days_months_and_years() {
        // 2026-12-04T15:00:00Z
        let now = start_of(day("2026-12-04")) + 15 * HOUR;
        let end = start_of(day("2026-12-05"));
        assert_eq!(
            Range::Last12Months.bounds(now),
            (start_of(day("2026-01-01")), end)
        );
        assert_eq!(
            Range::YearToDate.bounds(now),
            (start_of(day("2026-01-01")), end)
        );
        let november = Range::custom(day("2026-11-01"), day("2026-11-30")).unwrap();
        assert_eq!(
            november.bounds(now),
            (start_of(day("2026-11-01")), start_of(day("2026-12-01")))
        );
        assert_eq!(november.phrase(), "1 Nov 2026 to 30 Nov 2026");
        assert_eq!(november.granularity(), Granularity::Day);
        assert_eq!(Range::Last12Months.granularity(), Granularity::Week);
        let one_day = Range::custom(day("2026-11-03"), day("2026-11-03")).unwrap();
        assert_eq!(one_day.granularity(), Granularity::Hour);
        assert_eq!(one_day.label(), "3 Nov 2026");
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
