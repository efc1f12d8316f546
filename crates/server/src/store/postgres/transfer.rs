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
///
/// Each table is written in one statement from arrays, one per column: a
/// move brings millions of links, and an `INSERT` each took most of the
/// time of moving 10 million events.
pub(super) fn put_stored_consents(
    client: &mut Client,
    links: &[StoredConsent],
) -> Result<(), StoreError> {
    let (kept, erased): (Vec<&StoredConsent>, Vec<&StoredConsent>) =
        links.iter().partition(|c| c.erased_at.is_none());
    let column = |f: fn(&StoredConsent) -> String, of: &[&StoredConsent]| -> Vec<String> {
        of.iter().map(|c| f(c)).collect()
    };
    let flag = |f: fn(&ConsentLogEntry) -> bool| -> Vec<bool> {
        kept.iter().map(|c| f(&c.link)).collect()
    };
    let seqs =
        |of: &[&StoredConsent]| -> Vec<i64> { of.iter().map(|c| c.link.seq as i64).collect() };
    let received =
        |of: &[&StoredConsent]| -> Vec<i64> { of.iter().map(|c| c.received_at).collect() };

    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version,
                               source, gpc, usage, errors, performance, marketing,
                               device, chain_seq, prev_hash, hash)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[],
                              $6::text[], $7::boolean[], $8::boolean[], $9::boolean[],
                              $10::boolean[], $11::boolean[], $12::text[], $13::bigint[],
                              $14::text[], $15::text[])",
        &[
            &column(|c| c.link.site.clone(), &kept),
            &column(|c| c.link.consent_id.clone(), &kept),
            &kept.iter().map(|c| c.link.decided_at).collect::<Vec<i64>>(),
            &received(&kept),
            &kept
                .iter()
                .map(|c| c.link.policy_version.min(i32::MAX as u32) as i32)
                .collect::<Vec<i32>>(),
            &column(|c| c.link.source.clone(), &kept),
            &flag(|l| l.gpc),
            &flag(|l| l.usage),
            &flag(|l| l.errors),
            &flag(|l| l.performance),
            &flag(|l| l.marketing),
            &column(|c| c.link.device.clone(), &kept),
            &seqs(&kept),
            &column(|c| c.link.prev_hash.clone(), &kept),
            &column(|c| c.link.hash.clone(), &kept),
        ],
    )?;
    tx.execute(
        "INSERT INTO consent_erasures
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],
                              $6::bigint[])",
        &[
            &column(|c| c.link.site.clone(), &erased),
            &seqs(&erased),
            &column(|c| c.link.prev_hash.clone(), &erased),
            &column(|c| c.link.hash.clone(), &erased),
            &received(&erased),
            &erased
                .iter()
                .filter_map(|c| c.erased_at)
                .collect::<Vec<i64>>(),
        ],
    )?;
    let mut heads: Vec<(&str, i64, &str)> = Vec::new();
    for l in links.iter().map(|c| &c.link) {
        match heads.iter_mut().find(|(site, ..)| *site == l.site) {
            Some(head) => *head = (&l.site, l.seq as i64, &l.hash),
            None => heads.push((&l.site, l.seq as i64, &l.hash)),
        }
    }
    for (site, seq, hash) in heads {
        tx.execute(
            "INSERT INTO consent_chain VALUES ($1, $2, $3)
             ON CONFLICT (site) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            &[&site, &seq, &hash],
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
