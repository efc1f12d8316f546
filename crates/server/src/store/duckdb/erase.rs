//! Deleting: a visitor's erasure, and what a site's retention no longer
//! allows. Either takes the days it changes out of the rollup and forgets
//! the paths no stored event has any more, in the same transaction.

use duckdb::{Connection, params};
use sonde_protocol::{EraseReceipt, SiteSettings};

use super::rollup::DAY_TABLES;
use super::{consents, paths};
use crate::store::{RetentionOutcome, StoreError};

/// Deletes what can still be linked to one visitor of `site`: events of
/// `visitor_id` at or after `since_ms` (the start of the salt's day),
/// events of the given sessions, and the consent records of `consent_id`.
pub(super) fn erase(
    conn: &mut Connection,
    site: &str,
    visitor_id: i64,
    since_ms: i64,
    sessions: &[String],
    consent_id: Option<&str>,
) -> Result<EraseReceipt, StoreError> {
    let tx = conn.transaction()?;
    let placeholders = vec!["?"; sessions.len()].join(", ");
    let by_session = if sessions.is_empty() {
        String::new()
    } else {
        format!(" OR session_id IN ({placeholders})")
    };
    let mut values: Vec<&dyn duckdb::ToSql> = vec![&site, &visitor_id, &since_ms];
    values.extend(sessions.iter().map(|s| s as &dyn duckdb::ToSql));
    let events_deleted = tx.execute(
        &format!(
            "DELETE FROM events WHERE site = ?
             AND ((visitor_id = ? AND ts >= epoch_ms(?::BIGINT)){by_session})"
        ),
        values.as_slice(),
    )?;
    if events_deleted > 0 {
        // A rolled-up visit, and the visits a day's tallies count, are the
        // visitor's too.
        for table in std::iter::once("rollup_days").chain(DAY_TABLES) {
            tx.execute(&format!("DELETE FROM {table} WHERE site = ?"), [site])?;
        }
        // A path only this visitor viewed goes with their events.
        paths::delete_unused(&tx, site)?;
    }
    let consent_records_deleted = match consent_id {
        Some(id) => consents::erase(&tx, site, id)?,
        None => 0,
    };
    tx.commit()?;
    Ok(EraseReceipt {
        events_deleted: events_deleted as u64,
        consent_records_deleted: consent_records_deleted as u64,
    })
}

/// Deletes what `site`'s retention no longer allows, as of `now_ms`:
/// events of each category older than its period, and the campaign
/// parameters of page views older than the marketing period.
pub(super) fn apply_retention(
    conn: &mut Connection,
    site: &SiteSettings,
    now_ms: i64,
) -> Result<RetentionOutcome, StoreError> {
    const DAY_MS: i64 = 86_400_000;
    let cutoff = |days: u32| now_ms - i64::from(days) * DAY_MS;
    let r = site.retention;
    let tx = conn.transaction()?;
    let mut events_deleted = 0;
    for (category, days) in [
        ("usage", r.usage),
        ("errors", r.errors),
        ("performance", r.performance),
    ] {
        events_deleted += tx.execute(
            "DELETE FROM events WHERE site = ? AND category = ? AND ts < epoch_ms(?::BIGINT)",
            params![site.key, category, cutoff(days)],
        )?;
    }
    let campaigns_cleared = tx.execute(
        "UPDATE events SET utm_source = NULL, utm_medium = NULL, utm_campaign = NULL,
                           utm_term = NULL, utm_content = NULL
         WHERE site = ? AND ts < epoch_ms(?::BIGINT)
           AND (utm_source IS NOT NULL OR utm_medium IS NOT NULL OR utm_campaign IS NOT NULL
                OR utm_term IS NOT NULL OR utm_content IS NOT NULL)",
        params![site.key, cutoff(r.marketing)],
    )?;
    // The days concerned are counted again from what is left; a day's
    // visits go with its events, and campaigns cleared from page views
    // are cleared from its visits when it is counted again.
    let mut unrolled_before = None;
    if events_deleted > 0 {
        unrolled_before = Some(cutoff(r.usage.max(r.errors).max(r.performance)));
        paths::delete_unused(&tx, &site.key)?;
    }
    if campaigns_cleared > 0 {
        let marketing = cutoff(r.marketing);
        unrolled_before = Some(unrolled_before.map_or(marketing, |c: i64| c.max(marketing)));
    }
    if let Some(before) = unrolled_before {
        for table in std::iter::once("rollup_days").chain(DAY_TABLES) {
            tx.execute(
                &format!("DELETE FROM {table} WHERE site = ? AND day_start < ?"),
                params![site.key, before],
            )?;
        }
    }
    tx.commit()?;
    Ok(RetentionOutcome {
        events_deleted,
        campaigns_cleared,
    })
}

#[cfg(test)]
mod tests {
    use sonde_protocol::EventData;

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, MIDNIGHT, view};
    use super::*;
    use crate::store::data_roles::*;

    #[test]
    fn retention_deletes_each_category_after_its_period_and_campaigns_after_theirs() {
        let store = DuckDbStore::in_memory().unwrap();
        let now = MIDNIGHT + 100 * DAY;
        let mut old_landing = view("old-landing", now - 40 * DAY, 1, "/");
        if let EventData::PageView { campaign, .. } = &mut old_landing.data {
            campaign.source = Some("newsletter".into());
        }
        let mut new_landing = old_landing.clone();
        new_landing.id = "new-landing".into();
        new_landing.ts = now - DAY;
        let mut old_vital = view("old-vital", now - 20 * DAY, 1, "/");
        old_vital.data = EventData::Vital {
            metric: sonde_protocol::Vital::Lcp,
            value: 1200.0,
        };
        let mut other_site = view("other-site", now - 90 * DAY, 1, "/");
        other_site.site = "blog".into();
        store
            .write(&[
                view("ancient", now - 90 * DAY, 1, "/"),
                old_landing,
                new_landing,
                old_vital,
                other_site,
            ])
            .unwrap();
        let mut settings = SiteSettings::new("shop", vec!["*".into()]);
        settings.retention = sonde_protocol::Retention {
            usage: 60,
            errors: 7,
            performance: 14,
            marketing: 30,
        };
        let done = store.apply_retention(&settings, now).unwrap();
        assert_eq!(
            done,
            RetentionOutcome {
                events_deleted: 2,
                campaigns_cleared: 1
            }
        );
        let rows = store.dump_as_text("events").unwrap();
        assert!(
            !rows.contains("ancient") && !rows.contains("old-vital"),
            "{rows}"
        );
        assert!(
            rows.contains("other-site"),
            "another site's data is its own"
        );
        let landing = |id: &str| rows.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
        assert!(!landing("old-landing").contains("newsletter"));
        assert!(landing("new-landing").contains("newsletter"));
    }
}
