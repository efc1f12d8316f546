//! [`ImportedStore`] in PostgreSQL, shared by a cluster's Sonde processes.

use sonde_protocol::imported::{ImportedDay, ImportedRow};

use super::PostgresStore;
use crate::store::StoreError;
use crate::store::imported::{DayRow, ImportedStore, days_of, dimension_of};

impl ImportedStore for PostgresStore {
    fn put_imported(
        &self,
        site: &str,
        days: &[ImportedDay],
        rows: &[DayRow],
    ) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        for day in days_of(days, rows) {
            tx.execute(
                "DELETE FROM imported_rows WHERE site = $1 AND day = $2",
                &[&site, &day],
            )?;
        }
        for day in days {
            tx.execute(
                "INSERT INTO imported_days VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (site, day) DO UPDATE SET visitors = excluded.visitors,
                     visits = excluded.visits, pageviews = excluded.pageviews,
                     bounces = excluded.bounces, visit_duration_s = excluded.visit_duration_s",
                &[
                    &site,
                    &day.day,
                    &(day.visitors as i64),
                    &(day.visits as i64),
                    &(day.pageviews as i64),
                    &(day.bounces as i64),
                    &(day.visit_duration_s as i64),
                ],
            )?;
        }
        let insert = tx.prepare("INSERT INTO imported_rows VALUES ($1, $2, $3, $4, $5, $6, $7)")?;
        for DayRow { day, row } in rows {
            tx.execute(
                &insert,
                &[
                    &site,
                    day,
                    &row.dimension.as_str(),
                    &row.label,
                    &(row.visitors as i64),
                    &(row.visits as i64),
                    &(row.pageviews as i64),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn imported_days(
        &self,
        site: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<ImportedDay>, StoreError> {
        let rows = self.client()?.query(
            "SELECT day, visitors, visits, pageviews, bounces, visit_duration_s
             FROM imported_days WHERE site = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
            &[&site, &first, &last],
        )?;
        Ok(rows
            .iter()
            .map(|r| ImportedDay {
                day: r.get(0),
                visitors: r.get::<_, i64>(1) as u64,
                visits: r.get::<_, i64>(2) as u64,
                pageviews: r.get::<_, i64>(3) as u64,
                bounces: r.get::<_, i64>(4) as u64,
                visit_duration_s: r.get::<_, i64>(5) as u64,
            })
            .collect())
    }

    fn imported_day_rows(&self, site: &str) -> Result<Vec<DayRow>, StoreError> {
        let rows = self.client()?.query(
            "SELECT day, dimension, label, visitors, visits, pageviews
             FROM imported_rows WHERE site = $1 ORDER BY day, dimension, label",
            &[&site],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DayRow {
                    day: r.get(0),
                    row: ImportedRow {
                        dimension: dimension_of(r.get(1))?,
                        label: r.get(2),
                        visitors: r.get::<_, i64>(3) as u64,
                        visits: r.get::<_, i64>(4) as u64,
                        pageviews: r.get::<_, i64>(5) as u64,
                    },
                })
            })
            .collect()
    }

    fn imported_rows(
        &self,
        site: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<ImportedRow>, StoreError> {
        let rows = self.client()?.query(
            "SELECT dimension, label, sum(visitors)::bigint, sum(visits)::bigint, sum(pageviews)::bigint
             FROM imported_rows WHERE site = $1 AND day BETWEEN $2 AND $3
             GROUP BY dimension, label",
            &[&site, &first, &last],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ImportedRow {
                    dimension: dimension_of(r.get(0))?,
                    label: r.get(1),
                    visitors: r.get::<_, i64>(2) as u64,
                    visits: r.get::<_, i64>(3) as u64,
                    pageviews: r.get::<_, i64>(4) as u64,
                })
            })
            .collect()
    }
}
