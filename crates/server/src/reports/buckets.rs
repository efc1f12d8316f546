//! Time buckets on a site's calendar: the hours, days, weeks (from Monday)
//! and months of its timezone, which daylight saving makes 23 or 25 hours
//! long now and then, and which a half-hour offset shifts against UTC's.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sonde_protocol::Granularity;

/// One bucket: `[start, stop)` in ms since the epoch, and its start as the
/// site's local date (`2026-11-24`) or date and hour (`2026-11-24T14:00`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub start: i64,
    pub stop: i64,
    pub local: String,
}

/// The buckets that cover `[from, to)`: the first holds `from`, the last
/// holds the instant before `to`.
pub fn buckets(from: i64, to: i64, granularity: Granularity, timezone: Tz) -> Vec<Bucket> {
    let Some(from_utc) = DateTime::<Utc>::from_timestamp_millis(from) else {
        return Vec::new();
    };
    let mut local = truncate(from_utc.with_timezone(&timezone).naive_local(), granularity);
    let mut out: Vec<Bucket> = Vec::new();
    let mut start = instant(timezone, local);
    while start < to {
        let next_local = advance(local, granularity);
        let mut stop = instant(timezone, next_local);
        if stop <= start {
            // A repeated local hour (the clock went back) is one bucket.
            stop = start + 1;
        }
        let label = match granularity {
            Granularity::Hour => local.format("%Y-%m-%dT%H:00").to_string(),
            _ => local.format("%Y-%m-%d").to_string(),
        };
        if out.last().is_none_or(|b| b.start < start) {
            out.push(Bucket {
                start,
                stop,
                local: label,
            });
        }
        local = next_local;
        start = stop;
    }
    out
}

/// The start of the local hour, day, week (Monday) or month holding `t`.
fn truncate(t: NaiveDateTime, granularity: Granularity) -> NaiveDateTime {
    let midnight = t.date().and_hms_opt(0, 0, 0).expect("midnight exists");
    match granularity {
        Granularity::Hour => t
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t),
        Granularity::Day => midnight,
        Granularity::Week => {
            midnight - Duration::days(i64::from(t.weekday().num_days_from_monday()))
        }
        Granularity::Month => midnight.with_day(1).unwrap_or(midnight),
    }
}

fn advance(t: NaiveDateTime, granularity: Granularity) -> NaiveDateTime {
    match granularity {
        Granularity::Hour => t + Duration::hours(1),
        Granularity::Day => t + Duration::days(1),
        Granularity::Week => t + Duration::days(7),
        Granularity::Month => t.checked_add_months(Months::new(1)).unwrap_or(t),
    }
}

/// The first instant of local time `t` (a time in a daylight-saving gap is
/// the gap's end), in ms since the epoch.
fn instant(timezone: Tz, t: NaiveDateTime) -> i64 {
    (0..=120)
        .find_map(|minutes| {
            timezone
                .from_local_datetime(&(t + Duration::minutes(minutes)))
                .earliest()
        })
        .map_or_else(|| t.and_utc().timestamp_millis(), |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn days_start_at_the_sites_midnight() {
        let berlin = chrono_tz::Europe::Berlin; // UTC+1 in November
        let days = buckets(
            utc(2026, 11, 24, 12, 0),
            utc(2026, 11, 26, 0, 0),
            Granularity::Day,
            berlin,
        );
        let seen: Vec<(i64, &str)> = days.iter().map(|b| (b.start, b.local.as_str())).collect();
        assert_eq!(
            seen,
            [
                (utc(2026, 11, 23, 23, 0), "2026-11-24"),
                (utc(2026, 11, 24, 23, 0), "2026-11-25"),
                (utc(2026, 11, 25, 23, 0), "2026-11-26"),
            ]
        );
    }

    #[test]
    fn a_daylight_saving_day_is_23_hours_long() {
        let berlin = chrono_tz::Europe::Berlin; // clocks go forward on 2026-03-29
        let days = buckets(
            utc(2026, 3, 28, 12, 0),
            utc(2026, 3, 30, 12, 0),
            Granularity::Day,
            berlin,
        );
        let lengths: Vec<i64> = days.iter().map(|b| (b.stop - b.start) / HOUR).collect();
        assert_eq!(lengths, [24, 23, 24]);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let weeks = buckets(
            utc(2026, 11, 25, 0, 0), // a Wednesday
            utc(2026, 11, 26, 0, 0),
            Granularity::Week,
            Tz::UTC,
        );
        assert_eq!(weeks[0].local, "2026-11-23");
        assert_eq!(weeks[0].stop - weeks[0].start, 7 * 24 * HOUR);
        let months = buckets(
            utc(2026, 1, 15, 0, 0),
            utc(2026, 3, 2, 0, 0),
            Granularity::Month,
            Tz::UTC,
        );
        let seen: Vec<&str> = months.iter().map(|b| b.local.as_str()).collect();
        assert_eq!(seen, ["2026-01-01", "2026-02-01", "2026-03-01"]);
        assert_eq!(months[1].stop - months[1].start, 28 * 24 * HOUR);
    }

    #[test]
    fn hours_follow_a_half_hour_offset() {
        let kolkata = chrono_tz::Asia::Kolkata; // UTC+5:30
        let hours = buckets(
            utc(2026, 11, 24, 0, 0),
            utc(2026, 11, 24, 2, 0),
            Granularity::Hour,
            kolkata,
        );
        let seen: Vec<(i64, &str)> = hours.iter().map(|b| (b.start, b.local.as_str())).collect();
        assert_eq!(
            seen,
            [
                (utc(2026, 11, 23, 23, 30), "2026-11-24T05:00"),
                (utc(2026, 11, 24, 0, 30), "2026-11-24T06:00"),
                (utc(2026, 11, 24, 1, 30), "2026-11-24T07:00"),
            ]
        );
    }
}
