//! Reading the cluster's events out as stored, for moving them to another
//! store (see [`crate::store::TransferStore`]).

use super::scope::{events, live_events};
use super::sql::quoted;
use super::topology::Topology;
use crate::store::event_row::{STORED_COLUMNS, StoredColumns};
use crate::store::transfer::EventPosition;
use crate::store::{StoreError, StoredEvent};

/// How much time one query reads: 18.16 sorts every row a query selects
/// before its `LIMIT`, so a page is read from a day at a time (the day is
/// in the sort key), not from everything after it.
const WINDOW_MS: i64 = 86_400_000;

/// Up to `limit` of `site`'s events in the reports, by time and order of
/// storing, after `after`.
pub(super) fn events_after(
    topology: &Topology,
    site: &str,
    after: Option<&EventPosition>,
    limit: usize,
) -> Result<Vec<(EventPosition, StoredEvent)>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(flatten)]
        columns: StoredColumns,
        seq: u64,
    }
    #[derive(serde::Deserialize)]
    struct Next {
        first: i64,
        n: u64,
    }
    let db = &topology.placement.database;
    let mut start = after.cloned().unwrap_or_default();
    let mut page = Vec::new();
    while page.len() < limit {
        // Straight to the next event: a site's days may be far apart.
        let next = topology.rows::<Next>(&format!(
            "SELECT min(ts) AS first, count() AS n FROM {db}.events
             WHERE site = {site} AND ts >= {from}",
            site = quoted(site),
            from = start.ts,
        ))?;
        match next.first() {
            Some(next) if next.n > 0 => {
                if next.first > start.ts {
                    start = EventPosition {
                        ts: next.first,
                        ..EventPosition::default()
                    };
                }
            }
            _ => break,
        }
        let window_end = start.ts.saturating_add(WINDOW_MS);
        let wanted = limit - page.len();
        let rows: Vec<Row> = topology.rows(&format!(
            "SELECT {STORED_COLUMNS}, ts, seq FROM {events}
             WHERE {live} AND (ts > {ts} OR seq > {seq} OR (seq = {seq} AND id > {id}))
             ORDER BY ts, seq, id LIMIT {wanted}",
            events = events(db),
            live = live_events(db, site, start.ts, window_end),
            ts = start.ts,
            seq = start.seq,
            id = quoted(&start.id),
        ))?;
        let full = rows.len() == wanted;
        for Row { columns, seq } in rows {
            let position = EventPosition {
                ts: columns.ts,
                seq,
                id: columns.id.clone(),
            };
            page.push((position, columns.into_event()?));
        }
        start = match page.last() {
            Some((position, _)) if full => position.clone(),
            // The window is done: on from its end.
            _ => EventPosition {
                ts: window_end,
                ..EventPosition::default()
            },
        };
    }
    Ok(page)
}
