//! The event store: an embedded DuckDB file.
//!
//! Events are written in one transaction per batch and keyed by their
//! client-generated id, so a retried batch is stored once. DuckDB's
//! connection is not `Sync`; it sits behind a mutex and is used from
//! blocking tasks, never on the async executor.

use std::path::Path;
use std::sync::Mutex;

use duckdb::{Connection, params};
use sonde_protocol::usage::{Granularity, PageStat, UsagePoint, UsageQuery, UsageReport};

/// A failure of the store. Its details are for the operator's log, not for
/// API clients.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(#[from] duckdb::Error);

/// An event as stored: anonymized and scrubbed.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    pub site: String,
    pub kind: &'static str,
    /// ms since the Unix epoch, UTC.
    pub ts: i64,
    pub visitor_id: i64,
    pub session_id: Option<String>,
    pub path: String,
    pub referrer_host: Option<String>,
    pub title: Option<String>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    pub inserted: usize,
    pub duplicates: usize,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id            VARCHAR PRIMARY KEY,
    site          VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    ts            TIMESTAMP NOT NULL,
    visitor_id    BIGINT NOT NULL,
    session_id    VARCHAR,
    path          VARCHAR NOT NULL,
    referrer_host VARCHAR,
    title         VARCHAR
);
";

/// Where a write lands first: the appender fills it quickly, then one
/// statement moves its rows into `events`, skipping ids already there.
const STAGING: &str = "
CREATE TEMP TABLE IF NOT EXISTS staging (
    id VARCHAR, site VARCHAR, kind VARCHAR, ts_ms BIGINT, visitor_id BIGINT,
    session_id VARCHAR, path VARCHAR, referrer_host VARCHAR, title VARCHAR
);
";

/// Most top pages a usage report lists.
const TOP_PAGES: usize = 10;

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the DuckDB file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory store, for tests of query logic.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(STAGING)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave DuckDB half-written: the
        // transaction rolls back. Keep serving.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes events, skipping ids already stored (and repeats within
    /// `events`). Returns once they are committed.
    pub fn write(&self, events: &[StoredEvent]) -> Result<WriteOutcome, StoreError> {
        let conn = self.conn();
        {
            let mut appender = conn.appender("staging")?;
            for e in events {
                appender.append_row(params![
                    e.id,
                    e.site,
                    e.kind,
                    e.ts,
                    e.visitor_id,
                    e.session_id,
                    e.path,
                    e.referrer_host,
                    e.title,
                ])?;
            }
            appender.flush()?;
        }
        let moved = conn.execute(
            "INSERT INTO events
             SELECT DISTINCT ON (id) id, site, kind, epoch_ms(ts_ms), visitor_id,
                    session_id, path, referrer_host, title
             FROM staging
             ON CONFLICT DO NOTHING",
            [],
        );
        // Empty the staging table whatever happened, so a failed write does
        // not leak its rows into the next one.
        conn.execute("DELETE FROM staging", [])?;
        let inserted = moved?;
        Ok(WriteOutcome {
            inserted,
            duplicates: events.len() - inserted,
        })
    }

    /// Number of events stored for `site`.
    pub fn event_count(&self, site: &str) -> Result<u64, StoreError> {
        let conn = self.conn();
        let count: i64 =
            conn.query_row("SELECT count(*) FROM events WHERE site = ?", [site], |r| {
                r.get(0)
            })?;
        Ok(count as u64)
    }

    /// Every value of every stored row rendered as text, for privacy tests
    /// that must prove something is stored nowhere.
    pub fn dump_as_text(&self) -> Result<String, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM events")?;
        let mut rows = stmt.query([])?;
        let mut out = String::new();
        while let Some(row) = rows.next()? {
            for i in 0..row.as_ref().column_count() {
                let value: Option<String> = row.get(i)?;
                out.push_str(value.as_deref().unwrap_or(""));
                out.push('\t');
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Page views and unique visitors per bucket, and the top pages.
    pub fn usage(&self, q: &UsageQuery) -> Result<UsageReport, StoreError> {
        let unit = match q.granularity {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        };
        let conn = self.conn();
        let range = "site = ? AND kind = 'page_view' AND ts >= epoch_ms(?::BIGINT) AND ts < epoch_ms(?::BIGINT)";

        let mut stmt = conn.prepare_cached(&format!(
            "SELECT epoch_ms(date_trunc('{unit}', ts)) AS bucket, count(*), count(DISTINCT visitor_id)
             FROM events WHERE {range} GROUP BY bucket ORDER BY bucket"
        ))?;
        let counted: Vec<UsagePoint> = stmt
            .query_map(params![q.site, q.from, q.to], |r| {
                Ok(UsagePoint {
                    start: r.get(0)?,
                    pageviews: r.get::<_, i64>(1)? as u64,
                    visitors: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;

        let mut stmt = conn.prepare_cached(&format!(
            "SELECT path, count(*) AS views, count(DISTINCT visitor_id)
             FROM events WHERE {range} GROUP BY path ORDER BY views DESC, path LIMIT {TOP_PAGES}"
        ))?;
        let top_pages = stmt
            .query_map(params![q.site, q.from, q.to], |r| {
                Ok(PageStat {
                    path: r.get(0)?,
                    pageviews: r.get::<_, i64>(1)? as u64,
                    visitors: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;

        let (total_pageviews, total_visitors): (i64, i64) = conn.query_row(
            &format!("SELECT count(*), count(DISTINCT visitor_id) FROM events WHERE {range}"),
            params![q.site, q.from, q.to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;

        Ok(UsageReport {
            series: fill_buckets(q, counted),
            top_pages,
            total_pageviews: total_pageviews as u64,
            total_visitors: total_visitors as u64,
        })
    }
}

/// Every bucket of the range, with the counted ones filled in, so a chart
/// shows a quiet day as zero rather than skipping it.
fn fill_buckets(q: &UsageQuery, counted: Vec<UsagePoint>) -> Vec<UsagePoint> {
    let width = q.granularity.millis();
    let first = q.from.div_euclid(width) * width;
    let mut counted = counted.into_iter().peekable();
    (0..)
        .map(|i| first + i * width)
        .take_while(|start| *start < q.to)
        .map(|start| match counted.peek() {
            Some(p) if p.start == start => counted.next().expect("peeked"),
            _ => UsagePoint {
                start,
                pageviews: 0,
                visitors: 0,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// 2026-11-24T00:00:00Z
    const MIDNIGHT: i64 = 1_763_942_400_000;

    fn view(id: &str, ts: i64, visitor: i64, path: &str) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            site: "shop".into(),
            kind: "page_view",
            ts,
            visitor_id: visitor,
            session_id: None,
            path: path.into(),
            referrer_host: None,
            title: None,
        }
    }

    fn query(from: i64, to: i64, granularity: Granularity) -> UsageQuery {
        UsageQuery {
            site: "shop".into(),
            from,
            to,
            granularity,
        }
    }

    #[test]
    fn a_retried_batch_is_stored_once() {
        let store = Store::in_memory().unwrap();
        let batch = [
            view("a", MIDNIGHT, 1, "/"),
            view("b", MIDNIGHT, 1, "/cart"),
            view("b", MIDNIGHT, 1, "/cart"),
        ];
        assert_eq!(
            store.write(&batch).unwrap(),
            WriteOutcome {
                inserted: 2,
                duplicates: 1
            }
        );
        let again = store.write(&batch).unwrap();
        assert_eq!(
            again,
            WriteOutcome {
                inserted: 0,
                duplicates: 3
            }
        );
        assert_eq!(store.event_count("shop").unwrap(), 2);
    }

    #[test]
    fn daily_usage_counts_views_and_unique_visitors_with_empty_days_as_zero() {
        let store = Store::in_memory().unwrap();
        store
            .write(&[
                view("a", MIDNIGHT + HOUR, 1, "/"),
                view("b", MIDNIGHT + 2 * HOUR, 1, "/cart"),
                view("c", MIDNIGHT + 3 * HOUR, 2, "/"),
                view("d", MIDNIGHT + 2 * DAY, 3, "/"),
            ])
            .unwrap();
        let report = store
            .usage(&query(MIDNIGHT, MIDNIGHT + 3 * DAY, Granularity::Day))
            .unwrap();
        let points: Vec<(i64, u64, u64)> = report
            .series
            .iter()
            .map(|p| (p.start, p.pageviews, p.visitors))
            .collect();
        assert_eq!(
            points,
            vec![
                (MIDNIGHT, 3, 2),
                (MIDNIGHT + DAY, 0, 0),
                (MIDNIGHT + 2 * DAY, 1, 1)
            ]
        );
        assert_eq!((report.total_pageviews, report.total_visitors), (4, 3));
        assert_eq!(report.top_pages[0].path, "/");
        assert_eq!(report.top_pages[0].pageviews, 3);
    }

    #[test]
    fn hourly_usage_buckets_by_hour_and_respects_the_half_open_range() {
        let store = Store::in_memory().unwrap();
        store
            .write(&[
                view("a", MIDNIGHT + HOUR + 5, 1, "/"),
                view("b", MIDNIGHT + HOUR + 6, 2, "/"),
                view("c", MIDNIGHT + 3 * HOUR, 3, "/"),
            ])
            .unwrap();
        let report = store
            .usage(&query(MIDNIGHT, MIDNIGHT + 3 * HOUR, Granularity::Hour))
            .unwrap();
        let views: Vec<u64> = report.series.iter().map(|p| p.pageviews).collect();
        assert_eq!(views, vec![0, 2, 0]);
    }

    #[test]
    fn other_sites_are_not_counted() {
        let store = Store::in_memory().unwrap();
        let mut other = view("x", MIDNIGHT, 1, "/");
        other.site = "blog".into();
        store.write(&[other, view("y", MIDNIGHT, 1, "/")]).unwrap();
        let report = store
            .usage(&query(MIDNIGHT, MIDNIGHT + DAY, Granularity::Day))
            .unwrap();
        assert_eq!(report.total_pageviews, 1);
    }
}
