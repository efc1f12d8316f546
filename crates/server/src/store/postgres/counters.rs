//! Counts per site and day in PostgreSQL (banners shown, bot requests),
//! added to in one statement so that processes counting at once add up.

use chrono::NaiveDate;
use postgres::Client;

use crate::store::StoreError;

/// A table of counts per site and day.
pub(super) use crate::store::transfer::DailyCounter as Daily;

/// Counts one for `site` on `day`.
pub(super) fn count_one(
    client: &mut Client,
    counts: Daily,
    site: &str,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let table = counts.table();
    client.execute(
        &format!(
            "INSERT INTO {table} VALUES ($1, $2, 1)
             ON CONFLICT (site, day) DO UPDATE SET count = {table}.count + 1"
        ),
        &[&site, &day],
    )?;
    Ok(())
}

/// The counts of `site`'s days `first..=last` that have any, oldest first.
pub(super) fn per_day(
    client: &mut Client,
    counts: Daily,
    site: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
    let rows = client.query(
        &format!(
            "SELECT day, count FROM {} WHERE site = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
            counts.table()
        ),
        &[&site, &first, &last],
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
        .collect())
}

/// The sum over all days for `site`.
pub(super) fn total(client: &mut Client, counts: Daily, site: &str) -> Result<u64, StoreError> {
    let row = client.query_one(
        &format!(
            "SELECT coalesce(sum(count), 0)::bigint FROM {} WHERE site = $1",
            counts.table()
        ),
        &[&site],
    )?;
    Ok(row.get::<_, i64>(0) as u64)
}
