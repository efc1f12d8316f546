//! Counts kept per site and day, in aggregate, with nothing about the
//! visitor: banners shown (the consent report's denominator) and requests
//! from bots.

use chrono::NaiveDate;
use duckdb::{Connection, params};

use crate::store::StoreError;

/// A table of counts per site and day.
pub(super) use crate::store::transfer::DailyCounter as Daily;

/// Counts one for `site` on `day`.
pub(super) fn count_one(
    conn: &Connection,
    counts: Daily,
    site: &str,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let table = counts.table();
    conn.execute(
        &format!(
            "INSERT INTO {table} VALUES (?::DATE, ?, 1)
             ON CONFLICT DO UPDATE SET count = {table}.count + 1"
        ),
        params![day.to_string(), site],
    )?;
    Ok(())
}

/// The counts of `site`'s days `first..=last` that have any, oldest first.
pub(super) fn per_day(
    conn: &Connection,
    counts: Daily,
    site: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
    let mut statement = conn.prepare(&format!(
        "SELECT day::VARCHAR, count FROM {} WHERE site = ? AND day BETWEEN ?::DATE AND ?::DATE
         ORDER BY day",
        counts.table()
    ))?;
    let rows = statement.query_map(params![site, first.to_string(), last.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (day, count) = row?;
        let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| StoreError::Corrupt(format!("day {day:?}: {e}")))?;
        Ok((day, count as u64))
    })
    .collect()
}

/// The sum over all days for `site`.
pub(super) fn total(conn: &Connection, counts: Daily, site: &str) -> Result<u64, StoreError> {
    let count: Option<i64> = conn.query_row(
        &format!(
            "SELECT sum(count)::BIGINT FROM {} WHERE site = ?",
            counts.table()
        ),
        [site],
        |r| r.get(0),
    )?;
    Ok(count.unwrap_or(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbStore;
    use super::*;
    use crate::store::data_roles::*;

    #[test]
    fn each_count_is_per_site_and_added_up_over_days() {
        let store = DuckDbStore::in_memory().unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2025, 11, d).unwrap();
        for d in [24, 24, 25] {
            store.count_banner_impression("shop", day(d)).unwrap();
        }
        store.count_bot_request("shop", day(24)).unwrap();
        store.count_bot_request("blog", day(24)).unwrap();
        assert_eq!(store.banner_impressions("shop").unwrap(), 3);
        assert_eq!(store.bot_requests("shop").unwrap(), 1);
        assert_eq!(store.banner_impressions("blog").unwrap(), 0);
        store.count_bot_request("shop", day(26)).unwrap();
        store.count_bot_request("shop", day(26)).unwrap();
        store.count_bot_request("shop", day(28)).unwrap();
        let conn = store.hold();
        assert_eq!(
            per_day(&conn, Daily::BotRequests, "shop", day(25), day(28)).unwrap(),
            vec![(day(26), 2), (day(28), 1)],
            "the days in range that have any, oldest first"
        );
    }
}
