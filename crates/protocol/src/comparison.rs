//! What a report's figures are compared with: the period just before, or
//! the same period a year before.

use serde::{Deserialize, Serialize};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// How far back "a year before" reaches: 52 weeks, so each day is compared
/// with the same weekday (a Monday with a Monday; traffic follows the week
/// more than the date), as Plausible's "match day of week" does. The
/// compared days start one day (two in a leap year) later in the calendar.
pub const YEAR_BEFORE_MS: i64 = 52 * 7 * DAY;

/// The period a report's `previous` figures cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Versus {
    /// The period of the same length just before `[from, to)`.
    #[default]
    Previous,
    /// `[from, to)` 52 weeks earlier: the same weekdays a year before.
    YearBefore,
}

impl Versus {
    pub const ALL: [Versus; 2] = [Versus::Previous, Versus::YearBefore];

    /// The compared period of `[from, to)`, half-open like it.
    pub fn period(self, from: i64, to: i64) -> (i64, i64) {
        match self {
            Versus::Previous => (from - (to - from), from),
            Versus::YearBefore => (from - YEAR_BEFORE_MS, to - YEAR_BEFORE_MS),
        }
    }

    /// As the query string and the dashboard's URL say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Versus::Previous => "previous",
            Versus::YearBefore => "year_before",
        }
    }

    pub fn from_param(param: &str) -> Option<Versus> {
        Versus::ALL.into_iter().find(|v| v.as_str() == param)
    }

    /// The compared period in a sentence: "+20 % against the period before".
    pub fn phrase(self) -> &'static str {
        match self {
            Versus::Previous => "the period before",
            Versus::YearBefore => "a year before",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_before_ends_where_the_period_starts() {
        assert_eq!(
            Versus::Previous.period(10 * DAY, 17 * DAY),
            (3 * DAY, 10 * DAY)
        );
    }

    #[test]
    fn a_year_before_is_the_same_weekdays_52_weeks_back() {
        // Monday 2 November 2026 to Monday 9 November, UTC.
        let from = 1_793_577_600_000;
        let (before_from, before_to) = Versus::YearBefore.period(from, from + 7 * DAY);
        assert_eq!(before_to - before_from, 7 * DAY, "as long as the period");
        // Monday 3 November 2025: a Monday again, a day later in the calendar.
        assert_eq!(before_from, 1_762_128_000_000);
        assert_eq!(((from - before_from) / DAY) % 7, 0, "the same weekday");
    }

    #[test]
    fn the_url_names_each_comparison() {
        for v in Versus::ALL {
            assert_eq!(Versus::from_param(v.as_str()), Some(v));
        }
        assert_eq!(Versus::from_param("decade"), None);
    }
}
