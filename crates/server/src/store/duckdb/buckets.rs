//! A report's buckets of time (see [`crate::reports::buckets`]) in SQL:
//! which bucket each event falls in.

use duckdb::{Connection, params};

use super::rollup::GRANULE_MS;
use crate::reports::buckets::Bucket;
use crate::store::StoreError;

/// How events meet their buckets, in temporary tables filled for one
/// query.
///
/// Each event's 15-minute slice is looked up in a small table that says
/// which bucket the slice belongs to: an equality join, one pass over the
/// events. (A range join of events and buckets, or an ASOF join, took 7 to
/// 11 times as long at 10 million events; see BENCHMARKS.md.) Should a
/// bucket's edge not fall on a slice's, the range join counts instead.
pub(super) enum BucketJoin {
    Granules,
    Ranges,
}

impl BucketJoin {
    /// Fills the tables for `buckets`, counted within `[from, to)`.
    pub(super) fn fill(
        conn: &Connection,
        buckets: &[Bucket],
        from: i64,
        to: i64,
    ) -> Result<Self, StoreError> {
        let aligned = buckets.iter().skip(1).all(|b| b.start % GRANULE_MS == 0);
        if aligned {
            conn.execute_batch(
                "CREATE OR REPLACE TEMP TABLE bucket_granules
                     (granule BIGINT, bucket INTEGER, start BIGINT)",
            )?;
            let mut appender = conn.appender("bucket_granules")?;
            for (i, b) in buckets.iter().enumerate() {
                let first = b.start.max(from).div_euclid(GRANULE_MS);
                let last = (b.stop.min(to) - 1).div_euclid(GRANULE_MS);
                for granule in first..=last {
                    appender.append_row(params![granule, i as i32, b.start])?;
                }
            }
            appender.flush()?;
            Ok(BucketJoin::Granules)
        } else {
            conn.execute_batch(
                "CREATE OR REPLACE TEMP TABLE bucket_ranges
                     (bucket INTEGER, start BIGINT, stop BIGINT)",
            )?;
            let mut appender = conn.appender("bucket_ranges")?;
            for (i, b) in buckets.iter().enumerate() {
                appender.append_row(params![i as i32, b.start, b.stop])?;
            }
            appender.flush()?;
            Ok(BucketJoin::Ranges)
        }
    }

    /// `events` (a query whose rows have `ts`) with each row's `bucket`
    /// (its index) and the bucket's `start`; rows outside every bucket are
    /// left out.
    pub(super) fn join(&self, events: &str) -> String {
        match self {
            BucketJoin::Granules => format!(
                "SELECT e.*, g.bucket, g.start
                 FROM (SELECT *, epoch_ms(ts) // {GRANULE_MS} AS granule FROM ({events})) e
                 JOIN bucket_granules g USING (granule)"
            ),
            BucketJoin::Ranges => format!(
                "SELECT e.*, b.bucket, b.start
                 FROM ({events}) e JOIN bucket_ranges b
                   ON e.ts >= epoch_ms(b.start) AND e.ts < epoch_ms(b.stop)"
            ),
        }
    }
}
