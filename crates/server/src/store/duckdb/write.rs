//! Writing events: a group of batches in one write, each id stored once.
//!
//! Every row gets its path's number ([`super::paths`]) and its place in
//! the order of storing, `seq`, from the store's sequence `event_seq`:
//! reports that take "the first stored among events of the same
//! millisecond" order by it.

use std::collections::HashSet;

use duckdb::{Appender, Connection, params};
use sonde_protocol::EventData;

use super::{paths, rollup};
use crate::store::{StoreError, StoredEvent, WriteOutcome};

/// The event columns, in the order of [`append`].
const COLUMNS: &str = "id, site, kind, category, ts, visitor_id, session_id, path, referrer_host, title, \
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, name, href, value, props, \
    error_message, error_source, error_line, error_column, error_stack, error_rejection, \
    browser, os, device, session_key, path_id, seq";

/// Where a write lands first: the appender fills it quickly, then one
/// statement moves its rows into `events`, skipping ids already there. The
/// table is made anew for every write: deleted rows stay in a DuckDB table
/// as tombstones that every later scan walks over, and a temporary table is
/// never checkpointed, so emptying it made each write slower than the last.
const STAGING: &str = "
CREATE OR REPLACE TEMP TABLE staging (
    id VARCHAR, site VARCHAR, kind VARCHAR, category VARCHAR, ts TIMESTAMP, visitor_id BIGINT,
    session_id VARCHAR, path VARCHAR, referrer_host VARCHAR, title VARCHAR,
    utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, utm_term VARCHAR, utm_content VARCHAR,
    name VARCHAR, href VARCHAR, value DOUBLE, props VARCHAR,
    error_message VARCHAR, error_source VARCHAR, error_line INTEGER, error_column INTEGER,
    error_stack VARCHAR, error_rejection BOOLEAN, browser VARCHAR, os VARCHAR, device VARCHAR,
    session_key UBIGINT, path_id INTEGER, seq BIGINT
);
";

/// Writes several batches in one transaction (a group commit), skipping
/// ids already stored and repeats, and says for each batch how many of
/// its events were new: an id sent twice counts as new in the first batch
/// that carried it only. Returns once everything is committed.
///
/// The common case, where no id is stored yet, goes straight into
/// `events` with DuckDB's appender, all or nothing. When that is refused
/// (a retried batch), the group goes through a staging table and one
/// `INSERT … ON CONFLICT DO NOTHING`, which says which ids were new.
pub(super) fn write_batches(
    conn: &Connection,
    batches: &[&[StoredEvent]],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut seen = HashSet::new();
    let firsts: Vec<Vec<&StoredEvent>> = batches
        .iter()
        .map(|batch| {
            batch
                .iter()
                .filter(|e| seen.insert(e.id.as_str()))
                .collect()
        })
        .collect();
    let rows = firsts.iter().flatten().copied();
    // Before the write: should it fail half-way, a day is only counted
    // from the events once more.
    rollup::unroll_late_views(conn, rows.clone())?;
    let path_ids = paths::number(
        conn,
        rows.clone().map(|e| (e.site.as_str(), e.path.as_str())),
    )?;
    let numbers: Vec<(i32, i64)> = path_ids
        .into_iter()
        .zip(next_seqs(conn, rows.clone().count())?)
        .collect();
    let new_ids = match append_rows(conn, "events", rows.clone(), &numbers) {
        Ok(()) => None,
        Err(e) => {
            tracing::debug!(error = %e, "a group repeats stored ids; writing it through staging");
            conn.execute_batch(STAGING)?;
            append_rows(conn, "staging", rows, &numbers)?;
            Some(move_staged_rows(conn)?)
        }
    };
    Ok(batches
        .iter()
        .zip(&firsts)
        .map(|(batch, firsts)| {
            let new = match &new_ids {
                None => firsts.len(),
                Some(ids) => firsts.iter().filter(|e| ids.contains(&e.id)).count(),
            };
            WriteOutcome {
                inserted: new,
                duplicates: batch.len() - new,
            }
        })
        .collect())
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

/// Moves the staged rows into `events` in one statement (one commit), and
/// returns the ids that were not stored before.
fn move_staged_rows(conn: &Connection) -> Result<HashSet<String>, StoreError> {
    let mut insert = conn.prepare(&format!(
        "INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM staging
         ON CONFLICT DO NOTHING
         RETURNING id"
    ))?;
    let ids = insert
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Appends events to `table` (`events`, or `staging` which has the same
/// columns), each with its path's number and its `seq`, and commits them,
/// all or none.
fn append_rows<'e>(
    conn: &Connection,
    table: &str,
    rows: impl Iterator<Item = &'e StoredEvent>,
    numbers: &[(i32, i64)],
) -> Result<(), StoreError> {
    let mut appender = conn.appender(table)?;
    // By name: a file made by an older Sonde has its columns in another order.
    for column in COLUMNS.split(", ") {
        appender.add_column(column)?;
    }
    for (e, &(path_id, seq)) in rows.zip(numbers) {
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
    let (mut referrer, mut title, mut name, mut href) = (None, None, None, None);
    let (mut value, mut props, mut error) = (None, None, None);
    let mut campaign = Default::default();
    match &e.data {
        EventData::PageView {
            referrer: r,
            title: t,
            campaign: c,
        } => {
            (referrer, title, campaign) = (r.as_deref(), t.as_deref(), c.clone());
        }
        EventData::Click { name: n } | EventData::FormSubmit { form: n } => name = Some(n.as_str()),
        EventData::Outbound { href: h } | EventData::Download { href: h } => {
            href = Some(h.as_str())
        }
        EventData::Custom {
            name: n,
            props: p,
            value: v,
        } => {
            name = Some(n.as_str());
            value = *v;
            props = (!p.is_empty()).then(|| serde_json::to_string(p).unwrap_or_default());
        }
        EventData::Error(report) => error = Some(report),
        EventData::Vital { metric, value: v } => {
            name = Some(metric.as_str());
            value = Some(*v);
        }
    }
    let sonde_protocol::Campaign {
        source,
        medium,
        campaign,
        term,
        content,
    } = campaign;
    appender.append_row(params![
        e.id,
        e.site,
        e.data.kind(),
        e.data.category().as_str(),
        duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Millisecond, e.ts),
        e.visitor_id,
        e.session_id,
        e.path,
        referrer,
        title,
        source,
        medium,
        campaign,
        term,
        content,
        name,
        href,
        value,
        props,
        error.map(|r| r.message.as_str()),
        error.and_then(|r| r.source.as_deref()),
        error.and_then(|r| r.line),
        error.and_then(|r| r.column),
        error.and_then(|r| r.stack.as_deref()),
        error.map(|r| r.rejection),
        e.software.browser,
        e.software.os,
        e.software.device.as_str(),
        session_key(e.session_id.as_deref().unwrap_or(&e.id)),
        path_id,
        seq,
    ])?;
    Ok(())
}

/// The number all events of a session share, from its session id (or an
/// event's own id when it has none): the low half of its MD5, as DuckDB's
/// `md5_number_lower` computes it, so that
/// [`super::schema::SESSION_KEY_BACKFILL`] gives rows stored
/// before the column the same numbers. MD5 for being the same everywhere
/// and in every version, not for secrecy; two sessions share a key with odds
/// of about one in 10^7 among a million.
pub(super) fn session_key(session: &str) -> u64 {
    use md5::Digest;
    let digest = md5::Md5::digest(session.as_bytes());
    let mut low = [0; 8];
    low.copy_from_slice(&digest[8..]);
    u64::from_le_bytes(low)
}

#[cfg(test)]
mod tests {
    use duckdb::params;

    use super::super::DuckDbStore;
    use super::super::schema::SESSION_KEY_BACKFILL;
    use super::super::testing::{MIDNIGHT, view};
    use super::*;
    use crate::store::data_roles::*;

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
        conn.execute_batch(SESSION_KEY_BACKFILL).unwrap();
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
