//! Writing events: a group of batches in one write, each id stored once.
//!
//! Every row gets its path's number ([`super::paths`]) and its place in
//! the order of storing, `seq`, from the store's sequence `event_seq`:
//! reports that take "the first stored among events of the same
//! millisecond" order by it.
//!
//! An id is known to be stored by `recent_event_ids`, not by an index
//! over every event: an index over all ids would grow with the store and
//! live in memory. Ingest refuses events more than
//! [`sonde_protocol::limits::MAX_EVENT_AGE_MS`] old, so a retry of an
//! event can only come within that long of its first arrival; an id is
//! kept [`KEEP_IDS_MS`] after it was stored (a day longer, for clocks),
//! then forgotten by [`forget_old_ids`].

use std::collections::HashSet;

use duckdb::{Appender, Connection, params};

use super::{paths, rollup};
use crate::store::event_row::EventRow;
use crate::store::ingest::{first_sightings, outcomes};
use crate::store::{StoreError, StoredEvent, WriteOutcome};

/// How long a stored event's id is remembered, to refuse its retries.
pub(super) const KEEP_IDS_MS: i64 = sonde_protocol::limits::MAX_EVENT_AGE_MS + 86_400_000;

/// The event columns, in the order of [`append`].
const COLUMNS: &str = "id, site, kind, category, ts, visitor_id, session_id, path, referrer_host, title, \
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, name, href, value, props, \
    error_message, error_source, error_line, error_column, error_stack, error_rejection, \
    browser, os, device, session_key, path_id, seq";

/// Writes several batches in one transaction (a group commit), skipping
/// ids already stored and repeats, and says for each batch how many of
/// its events were new: an id sent twice counts as new in the first batch
/// that carried it only. Returns once everything is committed.
///
/// The common case, where no id is stored yet, goes straight into
/// `recent_event_ids` and `events` with DuckDB's appender, all or nothing.
/// When the ids are refused (a retried batch), the group's ids go through
/// a staging table and one `INSERT … ON CONFLICT DO NOTHING`, which says
/// which were new, and only those events are appended.
pub(super) fn write_batches(
    conn: &Connection,
    known_paths: &paths::KnownPaths,
    now_ms: i64,
    batches: &[&[StoredEvent]],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let firsts = first_sightings(batches);
    let rows: Vec<&StoredEvent> = firsts.iter().flatten().copied().collect();
    // Before the write: should it fail half-way, a day is only counted
    // from the events once more.
    rollup::unroll_late_events(conn, rows.iter().copied())?;
    let path_ids = paths::number(
        conn,
        known_paths,
        rows.iter().map(|e| (e.site.as_str(), e.path.as_str())),
    )?;
    let numbered: Vec<(&StoredEvent, i32, i64)> = rows
        .iter()
        .zip(path_ids)
        .zip(next_seqs(conn, rows.len())?)
        .map(|((e, path_id), seq)| (*e, path_id, seq))
        .collect();
    let new_ids = match in_transaction(conn, || {
        append_ids(conn, "recent_event_ids", &rows, now_ms)?;
        append_events(conn, numbered.iter().copied())
    }) {
        Ok(()) => None,
        Err(e) => {
            tracing::debug!(error = %e, "a group repeats stored ids; writing it through staging");
            let new_ids = in_transaction(conn, || {
                let new_ids = claim_new_ids(conn, &rows, now_ms)?;
                append_events(
                    conn,
                    numbered
                        .iter()
                        .copied()
                        .filter(|(e, ..)| new_ids.contains(&e.id)),
                )?;
                Ok(new_ids)
            })?;
            Some(new_ids)
        }
    };
    Ok(outcomes(batches, &firsts, new_ids.as_ref()))
}

/// Forgets the ids of events stored more than [`KEEP_IDS_MS`] before
/// `now_ms`: no retry of theirs can be accepted any more.
pub(super) fn forget_old_ids(conn: &Connection, now_ms: i64) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "DELETE FROM recent_event_ids WHERE stored_at < ?",
        [now_ms - KEEP_IDS_MS],
    )?)
}

/// Runs `write` in a transaction: committed if it succeeds, rolled back
/// if not.
fn in_transaction<T>(
    conn: &Connection,
    write: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    match write() {
        Ok(value) => {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            // A refused append has aborted the transaction already.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The next `n` numbers of the store's order of storing, ascending.
fn next_seqs(conn: &Connection, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached("SELECT nextval('event_seq') FROM range(?)")?;
    let mut seqs: Vec<i64> = stmt
        .query_map([n as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    seqs.sort_unstable();
    Ok(seqs)
}

/// Appends the ids of `rows` to `table` (`recent_event_ids`, or a staging
/// table with its columns).
fn append_ids(
    conn: &Connection,
    table: &str,
    rows: &[&StoredEvent],
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut appender = conn.appender(table)?;
    for e in rows {
        appender.append_row(params![e.id, e.site, now_ms])?;
    }
    appender.flush()?;
    Ok(())
}

/// Stores the ids of `rows` not stored yet, through a staging table, and
/// returns them.
fn claim_new_ids(
    conn: &Connection,
    rows: &[&StoredEvent],
    now_ms: i64,
) -> Result<HashSet<String>, StoreError> {
    // Made anew for every such write: deleted rows stay in a DuckDB table
    // as tombstones that every later scan walks over.
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE staged_ids (id VARCHAR, site VARCHAR, stored_at BIGINT)",
    )?;
    append_ids(conn, "staged_ids", rows, now_ms)?;
    let mut insert = conn.prepare(
        "INSERT INTO recent_event_ids SELECT * FROM staged_ids
         ON CONFLICT DO NOTHING
         RETURNING id",
    )?;
    let ids = insert
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Appends events to `events`, each with its path's number and its `seq`.
fn append_events<'e>(
    conn: &Connection,
    rows: impl Iterator<Item = (&'e StoredEvent, i32, i64)>,
) -> Result<(), StoreError> {
    let mut appender = conn.appender("events")?;
    // By name: a file made by an older Sonde has its columns in another order.
    for column in COLUMNS.split(", ") {
        appender.add_column(column)?;
    }
    for (e, path_id, seq) in rows {
        append(&mut appender, e, path_id, seq)?;
    }
    appender.flush()?;
    Ok(())
}

/// Appends one event as a row, its kind's fields in their columns.
fn append(
    appender: &mut Appender<'_>,
    e: &StoredEvent,
    path_id: i32,
    seq: i64,
) -> Result<(), StoreError> {
    let row = EventRow::from(e);
    appender.append_row(params![
        row.id,
        row.site,
        row.kind,
        row.category,
        duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Millisecond, row.ts),
        row.visitor_id,
        row.session_id,
        row.path,
        row.referrer_host,
        row.title,
        row.utm_source,
        row.utm_medium,
        row.utm_campaign,
        row.utm_term,
        row.utm_content,
        row.name,
        row.href,
        row.value,
        row.props,
        row.error_message,
        row.error_source,
        row.error_line,
        row.error_column,
        row.error_stack,
        row.error_rejection,
        row.browser,
        row.os,
        row.device,
        row.session_key,
        path_id,
        seq,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use duckdb::params;

    use super::super::DuckDbStore;
    use super::super::schema::SESSION_KEY_OF_ROW;
    use super::super::testing::{MIDNIGHT, view};
    use super::*;
    use crate::store::data_roles::*;
    use crate::store::event_row::session_key;

    #[test]
    fn a_retried_batch_is_stored_once() {
        let store = DuckDbStore::in_memory().unwrap();
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

    /// Retries are recognised by the ids of the last [`KEEP_IDS_MS`]: an id
    /// stays known until then, and only then is forgotten (no retry of its
    /// event could be accepted by ingest any more).
    #[test]
    fn stored_ids_are_remembered_for_the_retry_window_and_then_forgotten() {
        let store = DuckDbStore::in_memory().unwrap();
        let stored_at = MIDNIGHT + 100 * 86_400_000;
        let conn = store.conn();
        let known = paths::KnownPaths::default();
        let batch = [view("a", MIDNIGHT, 1, "/")];
        let write = |at| write_batches(&conn, &known, at, &[&batch]).unwrap()[0];
        assert_eq!(write(stored_at).inserted, 1);

        assert_eq!(forget_old_ids(&conn, stored_at + KEEP_IDS_MS).unwrap(), 0);
        assert_eq!(write(stored_at + KEEP_IDS_MS).duplicates, 1);

        assert_eq!(
            forget_old_ids(&conn, stored_at + KEEP_IDS_MS + 1).unwrap(),
            1
        );
        let ids: i64 = conn
            .query_row("SELECT count(*) FROM recent_event_ids", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ids, 0, "nothing else is kept");
    }

    /// A session's key is the same whether the event was written with it
    /// or given it afterwards in SQL (a file from before the column).
    #[test]
    fn a_session_key_is_the_same_in_rust_and_in_sql() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut e = view("e1", MIDNIGHT, 1, "/");
        e.session_id = Some("s1".into());
        store.write(&[e, view("e2", MIDNIGHT, 1, "/")]).unwrap();
        let conn = store.conn();
        for session in ["", "s0", "0f3a9c2e7b1d4e5f8a6b2c3d4e5f6a7b", "ü-✓"] {
            let in_sql: u64 = conn
                .query_row("SELECT md5_number_lower(?)", params![session], |r| r.get(0))
                .unwrap();
            assert_eq!(session_key(session), in_sql, "{session:?}");
        }
        let written: Vec<(String, u64)> = conn
            .prepare("SELECT id, session_key FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            written,
            [
                ("e1".into(), session_key("s1")),
                ("e2".into(), session_key("e2"))
            ]
        );
        conn.execute_batch("UPDATE events SET session_key = NULL")
            .unwrap();
        conn.execute_batch(&format!(
            "UPDATE events SET session_key = {SESSION_KEY_OF_ROW}"
        ))
        .unwrap();
        let backfilled: Vec<u64> = conn
            .prepare("SELECT session_key FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(backfilled, [session_key("s1"), session_key("e2")]);
    }
}
