//! Writing events on the cluster, and what its acknowledgement means.
//!
//! A group of batches is split by shard (an event's session key modulo
//! the number of shards, so a session and every retry of its events land
//! on one shard). For each shard, the ids it already holds are read first
//! (a browser's retry regrouped into another batch is other bytes, which
//! ClickHouse's block deduplication cannot recognise), and the rest is
//! inserted into that shard's `events_local` with `insert_quorum`: the
//! insert returns once a quorum of the shard's replicas has the rows.
//!
//! A failed insert is resent as the same bytes, to the same replica or the
//! shard's other, until it lands or [`Writer::deadline`] passes: ClickHouse
//! stores an identical block once, so a resend after an insert that landed
//! but whose answer was lost stores nothing twice. When the deadline
//! passes the write fails as [`StoreError::Unavailable`] and ingest
//! answers 503 with `Retry-After`; what other shards took by then is found
//! by the browser's retry, as any stored id is.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{ClickHouseError, Client};
use super::sql::quoted;
use super::topology::Topology;
use crate::store::event_row::EventRow;
use crate::store::ingest::{first_sightings, outcomes};
use crate::store::{StoreError, StoredEvent, WriteOutcome};

/// ClickHouse's code for a quorum insert refused because another is
/// under way on the shard (18.16 runs one at a time).
pub(super) const CONCURRENT_QUORUM_INSERT: u32 = 286;

/// The writing half of the store: one quorum insert at a time per shard
/// from this process, and the order of storing.
#[derive(Debug)]
pub(super) struct Writer {
    shard_turns: Vec<Mutex<()>>,
    seq: SeqClock,
    /// How long a part of a write is retried before the write fails.
    pub deadline: Duration,
}

impl Writer {
    pub fn new(shards: usize, deadline: Duration) -> Self {
        Writer {
            shard_turns: (0..shards).map(|_| Mutex::new(())).collect(),
            seq: SeqClock::default(),
            deadline,
        }
    }

    /// Writes a group of batches (see the module's documentation) and
    /// says for each how many of its events were new.
    pub fn write_batches(
        &self,
        topology: &Topology,
        batches: &[&[StoredEvent]],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let firsts = first_sightings(batches);
        let shard_count = topology.shards.len();
        // Places in the order of storing for the whole group, before it is
        // split: events of one millisecond on two shards keep their order.
        let count = firsts.iter().map(Vec::len).sum();
        let mut by_shard: Vec<Vec<(EventRow, u64)>> = vec![Vec::new(); shard_count];
        for (e, seq) in firsts.iter().flatten().zip(self.seq.next(count)) {
            let row = EventRow::from(*e);
            by_shard[shard_of(row.session_key, shard_count)].push((row, seq));
        }
        let database = &topology.placement.database;
        let mut new_ids = HashSet::new();
        for (shard, rows) in by_shard.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let replicas = &topology.shards[shard];
            let _turn = self.shard_turns[shard]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let started = Instant::now();
            let stored = self.on_shard(replicas, started, |replica| {
                stored_ids(replica, database, rows)
            })?;
            let fresh: Vec<&(EventRow, u64)> = rows
                .iter()
                .filter(|(r, _)| !stored.contains(r.id))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let (statement, body) = (insert_statement(database), insert_body(&fresh));
            self.quorum_insert(replicas, started, &statement, &body)?;
            new_ids.extend(fresh.iter().map(|(r, _)| r.id.to_owned()));
        }
        Ok(outcomes(batches, &firsts, Some(&new_ids)))
    }

    /// Inserts into one shard (the caller holds its turn): `data` is sent
    /// with `statement` until a quorum of its replicas has it, or the
    /// deadline counted from `started` passes.
    fn quorum_insert(
        &self,
        replicas: &[Client],
        started: Instant,
        statement: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let quorum = replicas.len().min(2).to_string();
        let timeout = self.deadline.as_millis().to_string();
        self.on_shard(replicas, started, |replica| {
            replica.insert(
                statement,
                data,
                &[
                    ("insert_quorum", &quorum),
                    ("insert_quorum_timeout", &timeout),
                ],
            )
        })
    }

    /// Inserts `data` with `statement` into shard `shard`, in its turn, as
    /// [`Writer::write_batches`] inserts events.
    pub fn insert_on_shard(
        &self,
        topology: &Topology,
        shard: usize,
        statement: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let _turn = self.shard_turns[shard]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.quorum_insert(&topology.shards[shard], Instant::now(), statement, data)
    }

    /// Runs `statement` on a replica of the shard, and again on the next
    /// one after each failure, until it succeeds or the deadline counted
    /// from `started` passes.
    fn on_shard<T>(
        &self,
        replicas: &[Client],
        started: Instant,
        statement: impl Fn(&Client) -> Result<T, ClickHouseError>,
    ) -> Result<T, StoreError> {
        let mut pause = Duration::from_millis(20);
        let mut replica = 0;
        loop {
            match statement(&replicas[replica]) {
                Ok(value) => return Ok(value),
                Err(e) if started.elapsed() + pause >= self.deadline => {
                    return Err(StoreError::Unavailable(e.to_string()));
                }
                // Another process's quorum insert on the shard: wait for it
                // on the same replica.
                Err(e) if e.code() == Some(CONCURRENT_QUORUM_INSERT) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a write to the cluster failed; resending");
                    replica = (replica + 1) % replicas.len();
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// The shard that holds a session's events.
pub(super) fn shard_of(session_key: u64, shards: usize) -> usize {
    (session_key % shards as u64) as usize
}

/// Ids checked by one query: at most about 100 bytes each with its session
/// key, well within ClickHouse's `max_query_size` of 256 KiB.
const IDS_PER_CHECK: usize = 1_000;

/// The ids of `rows` the shard holds already. Read with sequential
/// consistency, so that what a quorum insert acknowledged is seen from
/// either replica; narrowed to the rows' site, times and sessions, so that
/// ClickHouse reads only the parts of the sort key they can be in.
fn stored_ids(
    replica: &Client,
    database: &str,
    rows: &[(EventRow, u64)],
) -> Result<HashSet<String>, ClickHouseError> {
    let mut stored = HashSet::new();
    let mut sites: Vec<&str> = rows.iter().map(|(r, _)| r.site).collect();
    sites.sort_unstable();
    sites.dedup();
    for site in sites {
        let of_site: Vec<&EventRow> = rows
            .iter()
            .map(|(r, _)| r)
            .filter(|r| r.site == site)
            .collect();
        // A part of a group at a time: a query's text may not pass 256 KiB.
        for part in of_site.chunks(IDS_PER_CHECK) {
            let (from, to) = part.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
                (lo.min(r.ts), hi.max(r.ts))
            });
            let keys = list(part.iter().map(|r| r.session_key.to_string()));
            let ids = list(part.iter().map(|r| quoted(r.id)));
            let found = replica.run_with(
                &format!(
                    "SELECT id FROM {database}.events_local
                     WHERE site = {site} AND ts >= {from} AND ts <= {to}
                       AND session_key IN ({keys}) AND id IN ({ids})
                     FORMAT TabSeparatedRaw",
                    site = quoted(site),
                ),
                &[("select_sequential_consistency", "1")],
            )?;
            stored.extend(found.lines().map(str::to_owned));
        }
    }
    Ok(stored)
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The columns [`insert_body`] writes, in its order.
const COLUMNS: &str = "id, site, kind, category, ts, visitor_id, session_id, session_key, seq, path, \
    referrer_host, title, utm_source, utm_medium, utm_campaign, utm_term, utm_content, name, href, \
    value, props, error_message, error_source, error_line, error_column, error_stack, \
    error_rejection, browser, os, device";

/// The statement that inserts [`insert_body`]'s rows into a shard.
fn insert_statement(database: &str) -> String {
    format!("INSERT INTO {database}.events_local ({COLUMNS}) FORMAT RowBinary")
}

/// `rows` with their places in the order of storing, as `RowBinary`:
/// built once, so that every resend is the same bytes, and binary, so
/// that a number is stored as it came (18.16 reads decimal floats in
/// text formats a last digit off).
fn insert_body(rows: &[&(EventRow, u64)]) -> Vec<u8> {
    let mut out = RowBinary::default();
    for (row, seq) in rows {
        out.text(row.id);
        out.text(row.site);
        out.text(row.kind);
        out.some_text(Some(row.category));
        out.bytes.extend_from_slice(&row.ts.to_le_bytes());
        out.bytes.extend_from_slice(&row.visitor_id.to_le_bytes());
        out.some_text(row.session_id);
        out.bytes.extend_from_slice(&row.session_key.to_le_bytes());
        out.bytes.extend_from_slice(&seq.to_le_bytes());
        out.text(row.path);
        for text in [
            row.referrer_host,
            row.title,
            row.utm_source,
            row.utm_medium,
            row.utm_campaign,
            row.utm_term,
            row.utm_content,
            row.name,
            row.href,
        ] {
            out.some_text(text);
        }
        out.nullable(row.value.map(f64::to_le_bytes));
        out.some_text(row.props.as_deref());
        out.some_text(row.error_message);
        out.some_text(row.error_source);
        let int32 = |n: Option<u32>| n.map(|n| i32::try_from(n).unwrap_or(i32::MAX).to_le_bytes());
        out.nullable(int32(row.error_line));
        out.nullable(int32(row.error_column));
        out.some_text(row.error_stack);
        out.nullable(row.error_rejection.map(|r| [u8::from(r)]));
        out.some_text(Some(row.browser));
        out.some_text(Some(row.os));
        out.some_text(Some(row.device));
    }
    out.bytes
}

/// ClickHouse's `RowBinary`: values in column order, numbers little
/// endian, a string as its length (LEB128) then its bytes, a nullable
/// value as a byte (1 for NULL) then the value unless NULL.
#[derive(Default)]
struct RowBinary {
    bytes: Vec<u8>,
}

impl RowBinary {
    fn text(&mut self, text: &str) {
        let mut len = text.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                self.bytes.push(byte);
                break;
            }
            self.bytes.push(byte | 0x80);
        }
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn some_text(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.bytes.push(0);
                self.text(text);
            }
            None => self.bytes.push(1),
        }
    }

    fn nullable<const N: usize>(&mut self, value: Option<[u8; N]>) {
        match value {
            Some(value) => {
                self.bytes.push(0);
                self.bytes.extend_from_slice(&value);
            }
            None => self.bytes.push(1),
        }
    }
}

/// Places in the order of storing: the time of the write in ms, shifted
/// left 16 bits, plus a count, always more than the last given, so that
/// reports order events of one millisecond as they were stored, across
/// processes as far as their clocks agree.
#[derive(Debug, Default)]
struct SeqClock {
    last: AtomicU64,
}

impl SeqClock {
    fn next(&self, n: usize) -> impl Iterator<Item = u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            << 16;
        let n = n as u64;
        let previous = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(last.max(now) + n)
            })
            .unwrap_or_default();
        let first = previous.max(now) + 1;
        first..first + n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_the_order_of_storing_only_grow() {
        let clock = SeqClock::default();
        let first: Vec<u64> = clock.next(3).collect();
        let second: Vec<u64> = clock.next(2).collect();
        assert_eq!(first.len(), 3);
        assert!(first.windows(2).all(|w| w[0] < w[1]), "{first:?}");
        assert!(first[2] < second[0], "{first:?} then {second:?}");
    }

    #[test]
    fn a_session_is_always_on_the_same_shard() {
        assert_eq!(shard_of(7, 2), 1);
        assert_eq!(shard_of(8, 2), 0);
        assert_eq!(shard_of(8, 3), 2);
    }
}
