//! Consent records in PostgreSQL: storing a decision once, linked to its
//! site's chain, the consent log and the consent report, with the same
//! meaning as on DuckDB (`store/duckdb/consents.rs`).

use chrono::NaiveDate;
use postgres::Client;
use sonde_protocol::ConsentRecord;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport, GrantRates};

use crate::reports::consent::DecisionTally;
use crate::reports::consent_log::link;
use crate::store::StoreError;

/// A record's content, as [`record_at`] reads it.
const RECORD_COLUMNS: &str = "consent_id, decided_at, policy_version, source, gpc, \
    usage, errors, performance, marketing, coalesce(device, 'unknown')";

/// A record of `site` from the [`RECORD_COLUMNS`] of `r` from column
/// `first` on, not linked yet.
fn record_at(r: &postgres::Row, site: &str, first: usize) -> ConsentLogEntry {
    let at = |i: usize| first + i;
    ConsentLogEntry {
        seq: 0,
        site: site.to_owned(),
        consent_id: r.get(at(0)),
        decided_at: r.get(at(1)),
        policy_version: r.get::<_, i32>(at(2)).max(0) as u32,
        source: r.get(at(3)),
        gpc: r.get(at(4)),
        usage: r.get(at(5)),
        errors: r.get(at(6)),
        performance: r.get(at(7)),
        marketing: r.get(at(8)),
        device: r.get(at(9)),
        prev_hash: String::new(),
        hash: String::new(),
        erased: false,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Stores a consent record, linked to the site's chain ([`link`]);
/// `false` when it was stored before. Processes storing records of one
/// site at once take turns (a lock on the site for the transaction), so
/// the head read here is the chain's last link.
pub(super) fn record_consent(
    client: &mut Client,
    record: &ConsentRecord,
    device: &str,
) -> Result<bool, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&record.site],
    )?;
    let stored = tx.query_opt(
        "SELECT 1 FROM consents WHERE consent_id = $1 AND decided_at = $2",
        &[&record.consent_id, &record.decided_at],
    )?;
    if stored.is_some() {
        return Ok(false);
    }
    let head = tx.query_opt(
        "SELECT seq, hash FROM consent_chain WHERE site = $1",
        &[&record.site],
    )?;
    let head = head.map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)));
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
    let seq = entry.seq as i64;
    tx.execute(
        "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version,
                               source, gpc, usage, errors, performance, marketing, device,
                               chain_seq, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &entry.site,
            &entry.consent_id,
            &entry.decided_at,
            &now_ms(),
            &(entry.policy_version.min(i32::MAX as u32) as i32),
            &entry.source,
            &entry.gpc,
            &entry.usage,
            &entry.errors,
            &entry.performance,
            &entry.marketing,
            &entry.device,
            &seq,
            &entry.prev_hash,
            &entry.hash,
        ],
    )?;
    tx.execute(
        "INSERT INTO consent_chain VALUES ($1, $2, $3)
         ON CONFLICT (site) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        &[&entry.site, &seq, &entry.hash],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Removes the consent records of `consent_id` on `site`, leaving each
/// one's link in the chain and nothing about the visitor; says how many.
pub(super) fn erase(client: &mut Client, site: &str, consent_id: &str) -> Result<u64, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO consent_erasures
         SELECT site, chain_seq, prev_hash, hash, received_at, $3
         FROM consents WHERE site = $1 AND consent_id = $2",
        &[&site, &consent_id, &now_ms()],
    )?;
    let deleted = tx.execute(
        "DELETE FROM consents WHERE site = $1 AND consent_id = $2",
        &[&site, &consent_id],
    )?;
    tx.commit()?;
    Ok(deleted)
}

/// The links of `site`'s chain stored in `[from, to)`, in chain order,
/// erased ones included, from the first stored at or after `from` to the
/// last stored before `to`.
pub(super) fn consent_chain(
    client: &mut Client,
    site: &str,
    from: i64,
    to: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let rows = client.query(
        "WITH links AS (
             SELECT chain_seq, consent_id, decided_at, policy_version, source, gpc,
                    usage, errors, performance, marketing,
                    coalesce(device, 'unknown') AS device, prev_hash, hash, received_at,
                    false AS erased
             FROM consents WHERE site = $1
             UNION ALL
             SELECT chain_seq, '', 0, 0, '', false, false, false, false, false, '',
                    prev_hash, hash, received_at, true
             FROM consent_erasures WHERE site = $1
         ),
         period AS (
             SELECT min(chain_seq) FILTER (WHERE received_at >= $2) AS first,
                    max(chain_seq) FILTER (WHERE received_at < $3) AS last
             FROM links
         )
         SELECT chain_seq, consent_id, decided_at, policy_version, source, gpc,
                usage, errors, performance, marketing, device, prev_hash, hash, erased
         FROM links, period
         WHERE chain_seq BETWEEN period.first AND period.last
         ORDER BY chain_seq",
        &[&site, &from, &to],
    )?;
    Ok(rows
        .iter()
        .map(|r| ConsentLogEntry {
            seq: r.get::<_, i64>(0) as u64,
            prev_hash: r.get(11),
            hash: r.get(12),
            erased: r.get(13),
            ..record_at(r, site, 1)
        })
        .collect())
}

/// The consent records of `site` decided in `[from, to)`, in order
/// (decision time, then consent id), numbered from 1, without hashes.
pub(super) fn consent_log(
    client: &mut Client,
    site: &str,
    from: i64,
    to: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let rows = client.query(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM consents
             WHERE site = $1 AND decided_at >= $2 AND decided_at < $3
             ORDER BY decided_at, consent_id"
        ),
        &[&site, &from, &to],
    )?;
    Ok(rows
        .iter()
        .zip(1..)
        .map(|(r, seq)| ConsentLogEntry {
            seq,
            ..record_at(r, site, 0)
        })
        .collect())
}

/// The records of `site` decided in `[from, to)`, counted by alike
/// records on the calendar of `timezone` (PostgreSQL's copy of the same
/// time zone database), sorted.
pub(super) fn consent_tallies(
    client: &mut Client,
    site: &str,
    from: i64,
    to: i64,
    timezone: chrono_tz::Tz,
) -> Result<Vec<DecisionTally>, StoreError> {
    let rows = client.query(
        "SELECT to_char((timestamptz 'epoch' + decided_at * interval '1 millisecond')
                        AT TIME ZONE $4, 'YYYY-MM-DD'),
                source, coalesce(device, 'unknown'), usage, errors, performance, marketing,
                gpc, count(*)
         FROM consents
         WHERE site = $1 AND decided_at >= $2 AND decided_at < $3
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
        &[&site, &from, &to, &timezone.name()],
    )?;
    let mut tallies: Vec<DecisionTally> = rows
        .iter()
        .map(|r| DecisionTally {
            day: r.get(0),
            source: r.get(1),
            device: r.get(2),
            usage: r.get(3),
            errors: r.get(4),
            performance: r.get(5),
            marketing: r.get(6),
            gpc: r.get(7),
            decisions: r.get::<_, i64>(8) as u64,
        })
        .collect();
    tallies.sort();
    Ok(tallies)
}

/// The consent report of `site` for decisions in `[from, to)`, with the
/// banner impressions of the site's days `first_day..=last_day`.
pub(super) fn consent_report(
    client: &mut Client,
    site: &str,
    from: i64,
    to: i64,
    (first_day, last_day): (NaiveDate, NaiveDate),
) -> Result<ConsentReport, StoreError> {
    let banners_shown: i64 = client
        .query_one(
            "SELECT coalesce(sum(count), 0)::bigint FROM banner_impressions
             WHERE site = $1 AND day BETWEEN $2 AND $3",
            &[&site, &first_day, &last_day],
        )?
        .get(0);
    // A share is a division of two counts in floating point, as DuckDB's
    // average of booleans is, so both stores give the same number.
    let r = client.query_one(
        "SELECT
             count(*) FILTER (WHERE source = 'banner'),
             count(*) FILTER (WHERE source = 'banner'
                 AND usage AND errors AND performance AND (marketing OR gpc)),
             count(*) FILTER (WHERE source = 'banner'
                 AND NOT (usage OR errors OR performance OR marketing)),
             count(*) FILTER (WHERE source = 'settings'),
             coalesce((count(*) FILTER (WHERE source = 'banner' AND usage))::float8
                      / nullif(count(*) FILTER (WHERE source = 'banner'), 0), 0),
             coalesce((count(*) FILTER (WHERE source = 'banner' AND errors))::float8
                      / nullif(count(*) FILTER (WHERE source = 'banner'), 0), 0),
             coalesce((count(*) FILTER (WHERE source = 'banner' AND performance))::float8
                      / nullif(count(*) FILTER (WHERE source = 'banner'), 0), 0),
             coalesce((count(*) FILTER (WHERE source = 'banner' AND marketing))::float8
                      / nullif(count(*) FILTER (WHERE source = 'banner'), 0), 0),
             coalesce((count(*) FILTER (WHERE source = 'banner' AND gpc))::float8
                      / nullif(count(*) FILTER (WHERE source = 'banner'), 0), 0)
         FROM consents
         WHERE site = $1 AND decided_at >= $2 AND decided_at < $3",
        &[&site, &from, &to],
    )?;
    let count = |i: usize| r.get::<_, i64>(i) as u64;
    let (decisions, accept_all, reject_all) = (count(0), count(1), count(2));
    Ok(ConsentReport {
        banners_shown: banners_shown as u64,
        decisions,
        accept_all,
        reject_all,
        custom: decisions - accept_all - reject_all,
        settings_changes: count(3),
        grant_rates: GrantRates {
            usage: r.get(4),
            errors: r.get(5),
            performance: r.get(6),
            marketing: r.get(7),
        },
        gpc_share: r.get(8),
        answer_rate: (banners_shown > 0).then(|| decisions as f64 / banners_shown as f64),
        ..ConsentReport::default()
    })
}
