//! How charts and tables name buckets, instants and shares: "Nov 24",
//! "14:00", "2026-11-25 14:03 UTC", "66.7 %".

use sonde_protocol::{Granularity, UsagePoint};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A point's label on the site's calendar (its `local` start), or in UTC
/// when the server did not say.
pub fn point_label(point: &UsagePoint, granularity: Granularity) -> String {
    let local = &point.local;
    let field =
        |range: std::ops::Range<usize>| local.get(range).and_then(|s| s.parse::<u32>().ok());
    match (field(0..4), field(5..7), field(8..10)) {
        (Some(year), Some(month @ 1..=12), Some(day)) => {
            let hour = field(11..13).unwrap_or(0);
            label(year.into(), month, day, hour, granularity)
        }
        _ => bucket_label(point.start, granularity),
    }
}

/// "Nov 24" for a day or the week starting then, "14:00" for an hour,
/// "Nov 2026" for a month; from a UTC instant.
pub fn bucket_label(start_ms: i64, granularity: Granularity) -> String {
    let (year, month, day) = civil_from_days(start_ms.div_euclid(86_400_000));
    let hour = (start_ms.rem_euclid(86_400_000) / 3_600_000) as u32;
    label(year, month, day, hour, granularity)
}

fn label(year: i64, month: u32, day: u32, hour: u32, granularity: Granularity) -> String {
    let month_name = MONTHS[(month.clamp(1, 12) - 1) as usize];
    match granularity {
        Granularity::Day | Granularity::Week => format!("{month_name} {day}"),
        Granularity::Hour => format!("{hour:02}:00"),
        Granularity::Month => format!("{month_name} {year}"),
    }
}

/// A share (0 to 1) as the dashboard writes it: "66.7 %".
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// "2026-11-25 14:03 UTC".
pub fn utc_minute(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01, after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2025-11-24T00:00:00Z
    const NOV_24: i64 = 1_763_942_400_000;

    #[test]
    fn labels_days_and_hours_in_utc() {
        assert_eq!(bucket_label(NOV_24, Granularity::Day), "Nov 24");
        assert_eq!(bucket_label(NOV_24 + 37 * DAY, Granularity::Day), "Dec 31");
        assert_eq!(bucket_label(NOV_24 + 38 * DAY, Granularity::Day), "Jan 1");
        assert_eq!(
            bucket_label(NOV_24 + 14 * 3_600_000, Granularity::Hour),
            "14:00"
        );
        assert_eq!(bucket_label(NOV_24, Granularity::Month), "Nov 2025");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn labels_follow_the_sites_calendar_when_the_server_gives_it() {
        // Midnight in Berlin is 23:00 UTC the day before.
        let point = UsagePoint {
            start: NOV_24 - 3_600_000,
            local: "2025-11-24".into(),
            pageviews: 1,
            visitors: 1,
        };
        assert_eq!(point_label(&point, Granularity::Day), "Nov 24");
        let hour = UsagePoint {
            local: "2025-11-24T05:00".into(),
            ..point.clone()
        };
        assert_eq!(point_label(&hour, Granularity::Hour), "05:00");
        let unknown = UsagePoint {
            local: String::new(),
            ..point
        };
        assert_eq!(point_label(&unknown, Granularity::Day), "Nov 23");
    }
}
