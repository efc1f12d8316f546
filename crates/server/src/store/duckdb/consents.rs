//! Consent records: storing a decision once, the consent log, and the
//! consent report.

use chrono::NaiveDate;
use duckdb::{Connection, params};
use sonde_protocol::ConsentRecord;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport, GrantRates};

use crate::reports::consent::{DecisionTally, local_day};
use crate::reports::consent_log::link;
use crate::store::StoreError;

/// A record's content, as [`record_at`] reads it.
const RECORD_COLUMNS: &str = "consent_id, epoch_ms(decided_at), policy_version, source, gpc, \
    usage, errors, performance, marketing, coalesce(device, 'unknown')";

/// A record of `site` from the [`RECORD_COLUMNS`] of `r` from column
/// `first` on, not linked yet.
fn record_at(r: &duckdb::Row<'_>, site: String, first: usize) -> duckdb::Result<ConsentLogEntry> {
    let at = |i: usize| first + i;
    Ok(ConsentLogEntry {
        seq: 0,
        site,
        consent_id: r.get(at(0))?,
        decided_at: r.get(at(1))?,
        policy_version: r.get::<_, i32>(at(2))?.max(0) as u32,
        source: r.get(at(3))?,
        gpc: r.get(at(4))?,
        usage: r.get(at(5))?,
        errors: r.get(at(6))?,
        performance: r.get(at(7))?,
        marketing: r.get(at(8))?,
        device: r.get(at(9))?,
        prev_hash: String::new(),
        hash: String::new(),
        erased: false,
    })
}

/// Stores a consent record, linked to the site's chain ([`link`]);
/// `false` when it was stored before. The store's lock makes writes one at
/// a time, so the chain's head read here is the last record stored.
pub(super) fn record_consent(
    conn: &mut Connection,
    record: &ConsentRecord,
    device: &str,
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let stored: i64 = tx.query_row(
        "SELECT count(*) FROM consents
         WHERE consent_id = ? AND decided_at = epoch_ms(?::BIGINT)",
        params![record.consent_id, record.decided_at],
        |r| r.get(0),
    )?;
    if stored > 0 {
        return Ok(false);
    }
    let head = chain_head(&tx, &record.site)?;
    let g = record.grants;
    let mut entry = ConsentLogEntry {
        seq: 0,
        site: record.site.clone(),
        consent_id: record.consent_id.clone(),
        decided_at: record.decided_at,
        policy_version: record.policy_version,
        source: record.source.as_str().to_owned(),
        gpc: record.gpc,
        usage: g.usage,
        errors: g.errors,
        performance: g.performance,
        marketing: g.marketing,
        device: device.to_owned(),
        prev_hash: String::new(),
        hash: String::new(),
        erased: false,
    };
    link(
        &mut entry,
        head.as_ref().map(|(seq, hash)| (*seq, hash.as_str())),
    );
    tx.execute(
        "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version,
                               source, gpc, usage, errors, performance, marketing, device,
                               chain_seq, prev_hash, hash)
         VALUES (?, ?, epoch_ms(?::BIGINT), now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            entry.site,
            entry.consent_id,
            entry.decided_at,
            entry.policy_version,
            entry.source,
            entry.gpc,
            entry.usage,
            entry.errors,
            entry.performance,
            entry.marketing,
            entry.device,
            entry.seq,
            entry.prev_hash,
            entry.hash,
        ],
    )?;
    tx.execute(
        "INSERT INTO consent_chain VALUES (?, ?, ?)
         ON CONFLICT DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![entry.site, entry.seq, entry.hash],
    )?;
    tx.commit()?;
    Ok(true)
}

/// The last link of `site`'s chain: its place and hash.
fn chain_head(conn: &Connection, site: &str) -> Result<Option<(u64, String)>, StoreError> {
    let mut statement = conn.prepare("SELECT seq, hash FROM consent_chain WHERE site = ?")?;
    let mut rows = statement.query_map([site], |r| Ok((r.get::<_, u64>(0)?, r.get(1)?)))?;
    Ok(rows.next().transpose()?)
}

/// Removes the consent records of `consent_id` on `site` at the visitor's
/// request, leaving each one's link in the chain (place, hashes, when it
/// was stored) and nothing about the visitor; says how many.
pub(super) fn erase(
    tx: &duckdb::Transaction<'_>,
    site: &str,
    consent_id: &str,
) -> Result<usize, StoreError> {
    tx.execute(
        "INSERT INTO consent_erasures
         SELECT site, chain_seq, prev_hash, hash, received_at, now()
         FROM consents WHERE site = ? AND consent_id = ?",
        params![site, consent_id],
    )?;
    Ok(tx.execute(
        "DELETE FROM consents WHERE site = ? AND consent_id = ?",
        params![site, consent_id],
    )?)
}

/// The links of `site`'s chain stored in `[from, to)`, in chain order,
/// erased ones included (see [`crate::reports::consent_log`]). The range
/// is of places in the chain, from the first stored at or after `from` to
/// the last stored before `to`, so it never has a gap.
pub(super) fn consent_chain(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let mut statement = conn.prepare(
        "WITH links AS (
             SELECT chain_seq, consent_id, epoch_ms(decided_at) AS decided_at, policy_version,
                    source, gpc, usage, errors, performance, marketing,
                    coalesce(device, 'unknown') AS device, prev_hash, hash, received_at,
                    false AS erased
             FROM consents WHERE site = $1
             UNION ALL
             SELECT chain_seq, '', 0, 0, '', false, false, false, false, false, '',
                    prev_hash, hash, received_at, true
             FROM consent_erasures WHERE site = $1
         ),
         period AS (
             SELECT min(chain_seq) FILTER (received_at >= epoch_ms($2::BIGINT)) AS first,
                    max(chain_seq) FILTER (received_at < epoch_ms($3::BIGINT)) AS last
             FROM links
         )
         SELECT chain_seq, consent_id, decided_at, policy_version, source, gpc,
                usage, errors, performance, marketing, device, prev_hash, hash, erased
         FROM links, period
         WHERE chain_seq BETWEEN period.first AND period.last
         ORDER BY chain_seq",
    )?;
    let rows = statement.query_map(params![site, from, to], |r| {
        Ok(ConsentLogEntry {
            seq: r.get(0)?,
            prev_hash: r.get(11)?,
            hash: r.get(12)?,
            erased: r.get(13)?,
            ..record_at(r, site.to_owned(), 1)?
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Links the records stored before consents were chained at write time,
/// per site in the order they were stored; for the migration that adds
/// the chain.
pub(super) fn chain_stored(tx: &duckdb::Transaction<'_>) -> Result<(), StoreError> {
    let mut statement = tx.prepare(&format!(
        "SELECT site, {RECORD_COLUMNS} FROM consents
         ORDER BY site, received_at, decided_at, consent_id"
    ))?;
    let records: Vec<ConsentLogEntry> = statement
        .query_map([], |r| record_at(r, r.get(0)?, 1))?
        .collect::<Result<_, _>>()?;
    let mut head: Option<(String, u64, String)> = None;
    for mut record in records {
        let after = head
            .as_ref()
            .filter(|(site, _, _)| *site == record.site)
            .map(|(_, seq, hash)| (*seq, hash.as_str()));
        link(&mut record, after);
        tx.execute(
            "UPDATE consents SET chain_seq = ?, prev_hash = ?, hash = ?
             WHERE consent_id = ? AND decided_at = epoch_ms(?::BIGINT)",
            params![
                record.seq,
                record.prev_hash,
                record.hash,
                record.consent_id,
                record.decided_at
            ],
        )?;
        tx.execute(
            "INSERT INTO consent_chain VALUES (?, ?, ?)
             ON CONFLICT DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![record.site, record.seq, record.hash],
        )?;
        head = Some((record.site, record.seq, record.hash));
    }
    Ok(())
}

/// The consent records of `site` decided in `[from, to)`, in order
/// (decision time, then consent id), numbered from 1, without hashes.
pub(super) fn consent_log(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECORD_COLUMNS} FROM consents
         WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)
         ORDER BY decided_at, consent_id"
    ))?;
    let rows = stmt.query_map(params![site, from, to], |r| {
        record_at(r, site.to_owned(), 0)
    })?;
    let mut entries: Vec<ConsentLogEntry> = rows.collect::<Result<_, _>>()?;
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    Ok(entries)
}

/// The records of `site` decided in `[from, to)`, counted by alike
/// records on the calendar of `timezone`, sorted.
pub(super) fn consent_tallies(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
    timezone: chrono_tz::Tz,
) -> Result<Vec<DecisionTally>, StoreError> {
    super::rollup::fill_day_granules(conn, &[(from, to)], timezone)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT g.day_start, c.source, c.device, c.usage, c.errors, c.performance, c.marketing,
                c.gpc, count(*)
         FROM consents c JOIN day_granules g
           ON epoch_ms(c.decided_at) // {granule} = g.granule
         WHERE c.site = ? AND c.decided_at >= epoch_ms(?::BIGINT) AND c.decided_at < epoch_ms(?::BIGINT)
         GROUP BY ALL",
        granule = super::rollup::GRANULE_MS,
    ))?;
    let rows = stmt.query_map(params![site, from, to], |r| {
        Ok(DecisionTally {
            day: local_day(r.get(0)?, timezone),
            source: r.get(1)?,
            device: r.get(2)?,
            usage: r.get(3)?,
            errors: r.get(4)?,
            performance: r.get(5)?,
            marketing: r.get(6)?,
            gpc: r.get(7)?,
            decisions: r.get::<_, i64>(8)? as u64,
        })
    })?;
    let mut tallies: Vec<DecisionTally> = rows.collect::<Result<_, _>>()?;
    tallies.sort();
    Ok(tallies)
}

/// The consent report of `site` for decisions in `[from, to)`, with the
/// banner impressions of the site's days `first_day..=last_day`.
pub(super) fn consent_report(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
    (first_day, last_day): (NaiveDate, NaiveDate),
) -> Result<ConsentReport, StoreError> {
    let banners_shown: i64 = conn.query_row(
        "SELECT coalesce(sum(count), 0)::BIGINT FROM banner_impressions
         WHERE site = ? AND day BETWEEN ?::DATE AND ?::DATE",
        params![site, first_day.to_string(), last_day.to_string()],
        |r| r.get(0),
    )?;
    // One pass over the period's records.
    let mut report = conn.query_row(
        "SELECT
             count(*) FILTER (WHERE source = 'banner'),
             count(*) FILTER (WHERE source = 'banner'
                 AND usage AND errors AND performance AND (marketing OR gpc)),
             count(*) FILTER (WHERE source = 'banner'
                 AND NOT (usage OR errors OR performance OR marketing)),
             count(*) FILTER (WHERE source = 'settings'),
             coalesce(avg(usage::INTEGER) FILTER (WHERE source = 'banner'), 0),
             coalesce(avg(errors::INTEGER) FILTER (WHERE source = 'banner'), 0),
             coalesce(avg(performance::INTEGER) FILTER (WHERE source = 'banner'), 0),
             coalesce(avg(marketing::INTEGER) FILTER (WHERE source = 'banner'), 0),
             coalesce(avg(gpc::INTEGER) FILTER (WHERE source = 'banner'), 0)
         FROM consents
         WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)",
        params![site, from, to],
        |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| n as u64);
            let (decisions, accept_all, reject_all) = (count(0)?, count(1)?, count(2)?);
            Ok(ConsentReport {
                banners_shown: 0,
                decisions,
                accept_all,
                reject_all,
                custom: decisions - accept_all - reject_all,
                settings_changes: count(3)?,
                grant_rates: GrantRates {
                    usage: r.get(4)?,
                    errors: r.get(5)?,
                    performance: r.get(6)?,
                    marketing: r.get(7)?,
                },
                gpc_share: r.get(8)?,
                answer_rate: None,
                ..ConsentReport::default()
            })
        },
    )?;
    report.banners_shown = banners_shown as u64;
    report.answer_rate =
        (banners_shown > 0).then(|| report.decisions as f64 / banners_shown as f64);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use sonde_protocol::{ConsentRecord, DecisionSource, Grants};

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, HOUR, MIDNIGHT};
    use crate::reports::consent::tally;
    use crate::store::data_roles::*;

    /// The store counts alike decisions as the report's definition does
    /// from the log, on the site's calendar, in a timezone an hour off UTC
    /// and in one 5 h 45 min off.
    #[test]
    fn decisions_are_tallied_as_the_log_tallies_them() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        for i in 0..2_000 {
            let record = ConsentRecord {
                site: "shop".into(),
                consent_id: format!("c{i}"),
                grants: Grants {
                    usage: rng.random_bool(0.6),
                    errors: rng.random_bool(0.5),
                    performance: rng.random_bool(0.4),
                    marketing: rng.random_bool(0.2),
                },
                policy_version: 1,
                gpc: rng.random_bool(0.1),
                source: if rng.random_bool(0.8) {
                    DecisionSource::Banner
                } else {
                    DecisionSource::Settings
                },
                decided_at: MIDNIGHT + rng.random_range(0..10 * DAY),
            };
            let device = ["desktop", "mobile", "tablet"][rng.random_range(0..3)];
            assert!(store.record_consent(&record, device).unwrap());
        }
        for timezone in [chrono_tz::Europe::Berlin, chrono_tz::Asia::Kathmandu] {
            for (from, to) in [
                (MIDNIGHT, MIDNIGHT + 10 * DAY),
                (MIDNIGHT + 2 * DAY + 5 * HOUR, MIDNIGHT + 6 * DAY),
            ] {
                let tallied = store.consent_tallies("shop", from, to, timezone).unwrap();
                let log = store.consent_log("shop", from, to).unwrap();
                assert_eq!(tallied, tally(&log, timezone), "{timezone} {from}..{to}");
                let decisions: u64 = tallied.iter().map(|t| t.decisions).sum();
                assert_eq!(decisions, log.len() as u64);
                assert!(tallied.len() > 50 && tallied.len() < log.len());
            }
        }
        assert_eq!(
            store
                .consent_tallies("other", MIDNIGHT, MIDNIGHT + DAY, chrono_tz::UTC)
                .unwrap(),
            []
        );
    }
}
