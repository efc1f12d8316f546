//! What the store holds, counted or dumped, for tests, health checks and
//! the operator: counts by site and kind, every value of a table as text,
//! a ping, the size on disk.

use std::path::Path;

use duckdb::Connection;

use crate::store::StoreError;

/// Number of consent records stored for `site`.
pub(super) fn consent_count(conn: &Connection, site: &str) -> Result<u64, StoreError> {
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM consents WHERE site = ?",
        [site],
        |r| r.get(0),
    )?;
    Ok(count as u64)
}

/// Number of events stored for `site`.
pub(super) fn event_count(conn: &Connection, site: &str) -> Result<u64, StoreError> {
    let count: i64 = conn.query_row("SELECT count(*) FROM events WHERE site = ?", [site], |r| {
        r.get(0)
    })?;
    Ok(count as u64)
}

/// Events stored for `site`, counted by kind.
pub(super) fn count_by_kind(
    conn: &Connection,
    site: &str,
) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT kind, count(*) FROM events WHERE site = ? GROUP BY kind")?;
    let counts = stmt
        .query_map([site], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok(counts)
}

/// Every value of every stored row of `table` rendered as text, for
/// privacy tests that must prove something is stored nowhere.
pub(super) fn dump_as_text(conn: &Connection, table: &str) -> Result<String, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {table}"))?;
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

/// Whether the store answers a query.
pub(super) fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT 1", [], |_| Ok(()))?;
    Ok(())
}

/// Bytes the store takes on disk: the database file and its write-ahead log.
pub(super) fn size_on_disk(path: Option<&Path>) -> u64 {
    let Some(path) = path else { return 0 };
    let mut wal = path.as_os_str().to_owned();
    wal.push(".wal");
    [path.as_os_str(), wal.as_os_str()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
