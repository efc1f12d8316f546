//! Consent records: storing a decision once, the consent log, and the
//! consent report.

use chrono::NaiveDate;
use duckdb::{Connection, params};
use sonde_protocol::ConsentRecord;
use sonde_protocol::consent_report::{ConsentLogEntry, ConsentReport, GrantRates};

use crate::store::StoreError;

/// Stores a consent record; `false` when it was stored before.
pub(super) fn record_consent(
    conn: &Connection,
    record: &ConsentRecord,
    device: &str,
) -> Result<bool, StoreError> {
    let g = record.grants;
    let inserted = conn.execute(
        "INSERT INTO consents VALUES (?, ?, epoch_ms(?::BIGINT), now(), ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
        params![
            record.site,
            record.consent_id,
            record.decided_at,
            record.policy_version,
            record.source.as_str(),
            record.gpc,
            g.usage,
            g.errors,
            g.performance,
            g.marketing,
            device,
        ],
    )?;
    Ok(inserted == 1)
}

/// The consent records of `site` decided in `[from, to)`, in order
/// (decision time, then consent id), numbered from 1, without hashes.
pub(super) fn consent_log(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
) -> Result<Vec<ConsentLogEntry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT consent_id, epoch_ms(decided_at), policy_version, source, gpc,
                usage, errors, performance, marketing, coalesce(device, 'unknown')
         FROM consents
         WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)
         ORDER BY decided_at, consent_id",
    )?;
    let rows = stmt.query_map(params![site, from, to], |r| {
        Ok(ConsentLogEntry {
            seq: 0,
            site: site.to_owned(),
            consent_id: r.get(0)?,
            decided_at: r.get(1)?,
            policy_version: r.get::<_, i32>(2)?.max(0) as u32,
            source: r.get(3)?,
            gpc: r.get(4)?,
            usage: r.get(5)?,
            errors: r.get(6)?,
            performance: r.get(7)?,
            marketing: r.get(8)?,
            device: r.get(9)?,
            prev_hash: String::new(),
            hash: String::new(),
        })
    })?;
    let mut entries: Vec<ConsentLogEntry> = rows.collect::<Result<_, _>>()?;
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    Ok(entries)
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
    let mut report = conn.query_row(
        "WITH d AS (
             SELECT * FROM consents
             WHERE site = ? AND decided_at >= epoch_ms(?::BIGINT) AND decided_at < epoch_ms(?::BIGINT)
         ), banner AS (SELECT * FROM d WHERE source = 'banner')
         SELECT
             (SELECT count(*) FROM banner),
             (SELECT count(*) FROM banner
                WHERE usage AND errors AND performance AND (marketing OR gpc)),
             (SELECT count(*) FROM banner
                WHERE NOT (usage OR errors OR performance OR marketing)),
             (SELECT count(*) FROM d WHERE source = 'settings'),
             (SELECT coalesce(avg(usage::INTEGER), 0) FROM banner),
             (SELECT coalesce(avg(errors::INTEGER), 0) FROM banner),
             (SELECT coalesce(avg(performance::INTEGER), 0) FROM banner),
             (SELECT coalesce(avg(marketing::INTEGER), 0) FROM banner),
             (SELECT coalesce(avg(gpc::INTEGER), 0) FROM banner)",
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
