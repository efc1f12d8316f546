//! Reading out and writing in the file's data as stored, for moving it to
//! another store ([`crate::store::TransferStore`]).

use duckdb::{Connection, params};
use sonde_protocol::consent_report::ConsentLogEntry;

use super::counters::{self, Daily};
use crate::store::event_row::{STORED_COLUMNS, StoredColumns};
use crate::store::transfer::{DailyCount, EventPosition, StoredConsent, all_days};
use crate::store::{StoreError, StoredEvent};

/// Up to `limit` of `site`'s events by time and order of storing, after
/// `after`.
pub(super) fn events_after(
    conn: &Connection,
    site: &str,
    after: Option<&EventPosition>,
    limit: usize,
) -> Result<Vec<(EventPosition, StoredEvent)>, StoreError> {
    let start = after.cloned().unwrap_or_default();
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {STORED_COLUMNS}, epoch_ms(ts), seq FROM events
         WHERE site = ?1 AND ts >= epoch_ms(?2)
           AND (ts > epoch_ms(?2) OR seq > ?3 OR (seq = ?3 AND id > ?4))
         ORDER BY ts, seq, id LIMIT ?5"
    ))?;
    let rows = statement.query_map(
        params![site, start.ts, start.seq as i64, start.id, limit as i64],
        |r| {
            let columns = StoredColumns {
                id: r.get(0)?,
                site: r.get(1)?,
                kind: r.get(2)?,
                visitor_id: r.get(3)?,
                session_id: r.get(4)?,
                path: r.get(5)?,
                referrer_host: r.get(6)?,
                title: r.get(7)?,
                utm_source: r.get(8)?,
                utm_medium: r.get(9)?,
                utm_campaign: r.get(10)?,
                utm_term: r.get(11)?,
                utm_content: r.get(12)?,
                name: r.get(13)?,
                href: r.get(14)?,
                value: r.get(15)?,
                props: r.get(16)?,
                error_message: r.get(17)?,
                error_source: r.get(18)?,
                error_line: r.get(19)?,
                error_column: r.get(20)?,
                error_stack: r.get(21)?,
                error_rejection: r.get::<_, Option<bool>>(22)?.map(u8::from),
                browser: r.get(23)?,
                os: r.get(24)?,
                device: r.get(25)?,
                ts: r.get(26)?,
            };
            Ok((columns, r.get::<_, i64>(27)?))
        },
    )?;
    rows.map(|row| {
        let (columns, seq) = row?;
        let position = EventPosition {
            ts: columns.ts,
            seq: seq as u64,
            id: columns.id.clone(),
        };
        Ok((position, columns.into_event()?))
    })
    .collect()
}

/// `site`'s consent chain, every link in order.
pub(super) fn stored_consents(
    conn: &Connection,
    site: &str,
) -> Result<Vec<StoredConsent>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT chain_seq, consent_id, epoch_ms(decided_at), policy_version, source, gpc,
                usage, errors, performance, marketing, coalesce(device, 'unknown'),
                prev_hash, hash, epoch_ms(received_at), NULL::BIGINT
         FROM consents WHERE site = $1
         UNION ALL
         SELECT chain_seq, '', 0, 0, '', false, false, false, false, false, '',
                prev_hash, hash, epoch_ms(received_at), epoch_ms(erased_at)
         FROM consent_erasures WHERE site = $1
         ORDER BY chain_seq",
    )?;
    let rows = statement.query_map([site], |r| {
        let erased_at: Option<i64> = r.get(14)?;
        Ok(StoredConsent {
            link: ConsentLogEntry {
                seq: r.get::<_, i64>(0)? as u64,
                site: site.to_owned(),
                consent_id: r.get(1)?,
                decided_at: r.get(2)?,
                policy_version: r.get::<_, i32>(3)?.max(0) as u32,
                source: r.get(4)?,
                gpc: r.get(5)?,
                usage: r.get(6)?,
                errors: r.get(7)?,
                performance: r.get(8)?,
                marketing: r.get(9)?,
                device: r.get(10)?,
                prev_hash: r.get(11)?,
                hash: r.get(12)?,
                erased: erased_at.is_some(),
            },
            received_at: r.get(13)?,
            erased_at,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores chain links as they are, in one transaction; each site's last
/// link becomes its chain's head.
pub(super) fn put_stored_consents(
    conn: &mut Connection,
    links: &[StoredConsent],
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for StoredConsent {
        link: l,
        received_at,
        erased_at,
    } in links
    {
        match erased_at {
            None => tx.execute(
                "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version,
                                       source, gpc, usage, errors, performance, marketing,
                                       device, chain_seq, prev_hash, hash)
                 VALUES (?, ?, epoch_ms(?::BIGINT), epoch_ms(?::BIGINT), ?, ?, ?, ?, ?, ?, ?, ?,
                         ?, ?, ?)",
                params![
                    l.site,
                    l.consent_id,
                    l.decided_at,
                    received_at,
                    l.policy_version,
                    l.source,
                    l.gpc,
                    l.usage,
                    l.errors,
                    l.performance,
                    l.marketing,
                    l.device,
                    l.seq as i64,
                    l.prev_hash,
                    l.hash,
                ],
            )?,
            Some(erased_at) => tx.execute(
                "INSERT INTO consent_erasures
                 VALUES (?, ?, ?, ?, epoch_ms(?::BIGINT), epoch_ms(?::BIGINT))",
                params![
                    l.site,
                    l.seq as i64,
                    l.prev_hash,
                    l.hash,
                    received_at,
                    erased_at
                ],
            )?,
        };
        tx.execute(
            "INSERT INTO consent_chain VALUES (?, ?, ?)
             ON CONFLICT DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![l.site, l.seq as i64, l.hash],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// `site`'s daily counts, every day that has one.
pub(super) fn daily_counts(conn: &Connection, site: &str) -> Result<Vec<DailyCount>, StoreError> {
    let (first, last) = all_days();
    let mut all = Vec::new();
    for counter in Daily::ALL {
        for (day, count) in counters::per_day(conn, counter, site, first, last)? {
            all.push(DailyCount {
                site: site.to_owned(),
                counter,
                day,
                count,
            });
        }
    }
    Ok(all)
}

/// Adds each count to its day's.
pub(super) fn add_daily_counts(
    conn: &mut Connection,
    counts: &[DailyCount],
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for c in counts {
        let table = c.counter.table();
        tx.execute(
            &format!(
                "INSERT INTO {table} VALUES (?::DATE, ?, ?)
                 ON CONFLICT DO UPDATE SET count = {table}.count + excluded.count"
            ),
            params![c.day.to_string(), c.site, c.count as i64],
        )?;
    }
    tx.commit()?;
    Ok(())
}
