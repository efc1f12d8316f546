//! Reading out and writing in PostgreSQL's consent records and daily
//! counts as stored, for moving them to another store (see
//! [`crate::store::TransferStore`]).

use postgres::Client;
use sonde_protocol::consent_report::ConsentLogEntry;

use super::counters::{self, Daily};
use crate::store::StoreError;
use crate::store::transfer::{DailyCount, StoredConsent, all_days};

/// `site`'s consent chain, every link in order.
pub(super) fn stored_consents(
    client: &mut Client,
    site: &str,
) -> Result<Vec<StoredConsent>, StoreError> {
    let rows = client.query(
        "SELECT chain_seq, consent_id, decided_at, policy_version, source, gpc,
                usage, errors, performance, marketing, coalesce(device, 'unknown'),
                prev_hash, hash, received_at, NULL::bigint
         FROM consents WHERE site = $1
         UNION ALL
         SELECT chain_seq, '', 0, 0, '', false, false, false, false, false, '',
                prev_hash, hash, received_at, erased_at
         FROM consent_erasures WHERE site = $1
         ORDER BY chain_seq",
        &[&site],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let erased_at: Option<i64> = r.get(14);
            StoredConsent {
                link: ConsentLogEntry {
                    seq: r.get::<_, i64>(0) as u64,
                    site: site.to_owned(),
                    consent_id: r.get(1),
                    decided_at: r.get(2),
                    policy_version: r.get::<_, i32>(3).max(0) as u32,
                    source: r.get(4),
                    gpc: r.get(5),
                    usage: r.get(6),
                    errors: r.get(7),
                    performance: r.get(8),
                    marketing: r.get(9),
                    device: r.get(10),
                    prev_hash: r.get(11),
                    hash: r.get(12),
                    erased: erased_at.is_some(),
                },
                received_at: r.get(13),
                erased_at,
            }
        })
        .collect())
}

/// Stores chain links as they are, in one transaction; each site's last
/// link becomes its chain's head.
pub(super) fn put_stored_consents(
    client: &mut Client,
    links: &[StoredConsent],
) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    for StoredConsent {
        link: l,
        received_at,
        erased_at,
    } in links
    {
        let seq = l.seq as i64;
        match erased_at {
            None => tx.execute(
                "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version,
                                       source, gpc, usage, errors, performance, marketing,
                                       device, chain_seq, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                &[
                    &l.site,
                    &l.consent_id,
                    &l.decided_at,
                    received_at,
                    &(l.policy_version.min(i32::MAX as u32) as i32),
                    &l.source,
                    &l.gpc,
                    &l.usage,
                    &l.errors,
                    &l.performance,
                    &l.marketing,
                    &l.device,
                    &seq,
                    &l.prev_hash,
                    &l.hash,
                ],
            )?,
            Some(erased_at) => tx.execute(
                "INSERT INTO consent_erasures VALUES ($1, $2, $3, $4, $5, $6)",
                &[&l.site, &seq, &l.prev_hash, &l.hash, received_at, erased_at],
            )?,
        };
        tx.execute(
            "INSERT INTO consent_chain VALUES ($1, $2, $3)
             ON CONFLICT (site) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            &[&l.site, &seq, &l.hash],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// `site`'s daily counts, every day that has one.
pub(super) fn daily_counts(client: &mut Client, site: &str) -> Result<Vec<DailyCount>, StoreError> {
    let (first, last) = all_days();
    let mut all = Vec::new();
    for counter in Daily::ALL {
        for (day, count) in counters::per_day(client, counter, site, first, last)? {
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
    client: &mut Client,
    counts: &[DailyCount],
) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    for c in counts {
        let table = c.counter.table();
        tx.execute(
            &format!(
                "INSERT INTO {table} VALUES ($1, $2, $3)
                 ON CONFLICT (site, day) DO UPDATE SET count = {table}.count + excluded.count"
            ),
            &[&c.site, &c.day, &(c.count as i64)],
        )?;
    }
    tx.commit()?;
    Ok(())
}
