//! [`ImportedStore`] on the DuckDB file.

use duckdb::params;
use sonde_protocol::imported::{ImportedDay, ImportedRow};

use super::DuckDbStore;
use crate::store::StoreError;
use crate::store::imported::{DayRow, ImportedStore, days_of, dimension_of};

impl ImportedStore for DuckDbStore {
    fn put_imported(
        &self,
        site: &str,
        days: &[ImportedDay],
        rows: &[DayRow],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for day in days_of(days, rows) {
            tx.execute(
                "DELETE FROM imported_rows WHERE site = ? AND day = ?",
                params![site, day],
            )?;
        }
        for day in days {
            tx.execute(
                "INSERT INTO imported_days VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT DO UPDATE SET visitors = excluded.visitors, visits = excluded.visits,
                     pageviews = excluded.pageviews, bounces = excluded.bounces,
                     visit_duration_s = excluded.visit_duration_s",
                params![
                    site,
                    day.day,
                    day.visitors as i64,
                    day.visits as i64,
                    day.pageviews as i64,
                    day.bounces as i64,
                    day.visit_duration_s as i64
                ],
            )?;
        }
        {
            let mut appender = tx.appender("imported_rows")?;
            for DayRow { day, row } in rows {
                appender.append_row(params![
                    site,
                    day,
                    row.dimension.as_str(),
                    row.label,
                    row.visitors as i64,
                    row.visits as i64,
                    row.pageviews as i64
                ])?;
            }
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
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT day, visitors, visits, pageviews, bounces, visit_duration_s
             FROM imported_days WHERE site = ? AND day BETWEEN ? AND ? ORDER BY day",
        )?;
        let days = stmt
            .query_map(params![site, first, last], |r| {
                Ok(ImportedDay {
                    day: r.get(0)?,
                    visitors: r.get::<_, i64>(1)? as u64,
                    visits: r.get::<_, i64>(2)? as u64,
                    pageviews: r.get::<_, i64>(3)? as u64,
                    bounces: r.get::<_, i64>(4)? as u64,
                    visit_duration_s: r.get::<_, i64>(5)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(days)
    }

    fn imported_day_rows(&self, site: &str) -> Result<Vec<DayRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT day, dimension, label, visitors, visits, pageviews
             FROM imported_rows WHERE site = ? ORDER BY day, dimension, label",
        )?;
        let rows: Vec<(String, String, String, i64, i64, i64)> = stmt
            .query_map([site], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(day, dimension, label, visitors, visits, pageviews)| {
                Ok(DayRow {
                    day,
                    row: ImportedRow {
                        dimension: dimension_of(&dimension)?,
                        label,
                        visitors: visitors as u64,
                        visits: visits as u64,
                        pageviews: pageviews as u64,
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
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT dimension, label, sum(visitors)::BIGINT, sum(visits)::BIGINT, sum(pageviews)::BIGINT
             FROM imported_rows WHERE site = ? AND day BETWEEN ? AND ?
             GROUP BY dimension, label",
        )?;
        let rows: Vec<(String, String, i64, i64, i64)> = stmt
            .query_map(params![site, first, last], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(dimension, label, visitors, visits, pageviews)| {
                Ok(ImportedRow {
                    dimension: dimension_of(&dimension)?,
                    label,
                    visitors: visitors as u64,
                    visits: visits as u64,
                    pageviews: pageviews as u64,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_protocol::imported::ImportedDimension;

    fn day(day: &str, visitors: u64) -> ImportedDay {
        ImportedDay {
            day: day.into(),
            visitors,
            visits: visitors + 1,
            pageviews: 3 * visitors,
            bounces: 1,
            visit_duration_s: 60,
        }
    }

    fn page(day: &str, label: &str, visitors: u64) -> DayRow {
        DayRow {
            day: day.into(),
            row: ImportedRow {
                dimension: ImportedDimension::Page,
                label: label.into(),
                visitors,
                visits: visitors,
                pageviews: visitors,
            },
        }
    }

    #[test]
    fn imported_days_are_kept_apart_and_importing_again_replaces_them() {
        let store = DuckDbStore::in_memory().unwrap();
        let days = [
            day("2025-11-01", 10),
            day("2025-11-02", 20),
            day("2025-11-03", 30),
        ];
        let rows = [
            page("2025-11-01", "/", 6),
            page("2025-11-02", "/", 7),
            page("2025-11-02", "/pricing", 9),
        ];
        store.put_imported("shop", &days, &rows).unwrap();
        store.put_imported("shop", &days, &rows).unwrap();
        assert_eq!(
            store
                .imported_days("shop", "2025-11-02", "2025-11-30")
                .unwrap(),
            days[1..]
        );
        assert!(
            store
                .imported_days("blog", "2025-01-01", "2025-12-31")
                .unwrap()
                .is_empty()
        );
        let mut summed = store
            .imported_rows("shop", "2025-11-01", "2025-11-02")
            .unwrap();
        summed.sort_by(|a, b| a.label.cmp(&b.label));
        assert_eq!(
            summed
                .iter()
                .map(|r| (r.label.as_str(), r.visitors))
                .collect::<Vec<_>>(),
            [("/", 13), ("/pricing", 9)],
            "summed over the days, and not doubled by the second import"
        );
        assert_eq!(
            store
                .imported_rows("shop", "2025-11-02", "2025-11-02")
                .unwrap()
                .len(),
            2
        );
    }
}
