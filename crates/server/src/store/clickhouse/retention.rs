//! Each site's retention on the cluster. The cutoff of each category is
//! recorded first, in `retention_cutoffs` (on every server), which every
//! read applies ([`super::scope::retained`]): events past their period
//! are out of every report at once. Mutations then delete them on each
//! shard, and strip page views past the marketing period of their
//! campaign; those run in the background (a mutation finishes once its
//! shard has taken a later write, see [`super::erase`]), so a campaign is
//! cleared from the reports when its mutation has run.

use sonde_protocol::SiteSettings;

use super::sql::quoted;
use super::topology::Topology;
use crate::store::{RetentionOutcome, StoreError};

const DAY_MS: i64 = 86_400_000;

pub(super) fn apply_retention(
    topology: &Topology,
    site: &SiteSettings,
    now_ms: i64,
) -> Result<RetentionOutcome, StoreError> {
    let db = &topology.placement.database;
    let cutoff = |days: u32| now_ms - i64::from(days) * DAY_MS;
    let r = site.retention;
    let key = quoted(&site.key);
    let expired: Vec<String> = [
        ("usage", r.usage),
        ("errors", r.errors),
        ("performance", r.performance),
    ]
    .iter()
    .map(|(category, days)| {
        format!(
            "(category = {} AND ts < {})",
            quoted(category),
            cutoff(*days)
        )
    })
    .collect();
    let expired = format!("site = {key} AND ({})", expired.join(" OR "));
    let with_campaign = format!(
        "site = {key} AND ts < {} AND (isNotNull(utm_source) OR isNotNull(utm_medium)
             OR isNotNull(utm_campaign) OR isNotNull(utm_term) OR isNotNull(utm_content))",
        cutoff(r.marketing)
    );
    let mut cutoffs = String::new();
    for (category, days) in [
        ("usage", r.usage),
        ("errors", r.errors),
        ("performance", r.performance),
    ] {
        cutoffs.push_str(&format!(
            "{{\"site\":{},\"category\":\"{category}\",\"before_ms\":{},\"recorded_at\":{now_ms}}}\n",
            serde_json::Value::from(site.key.as_str()),
            cutoff(days)
        ));
    }
    // On every server, acknowledged by two: any server reads it.
    topology.any_server().insert(
        &format!("INSERT INTO {db}.retention_cutoffs FORMAT JSONEachRow"),
        cutoffs.as_bytes(),
        &[("insert_quorum", "2")],
    )?;
    let count = |condition: &str| -> Result<usize, StoreError> {
        let n = topology.any_server().run(&format!(
            "SELECT count() FROM {db}.events WHERE {condition}"
        ))?;
        Ok(n.trim().parse().unwrap_or(0))
    };
    let outcome = RetentionOutcome {
        events_deleted: count(&expired)?,
        campaigns_cleared: count(&format!("{with_campaign} AND NOT ({expired})"))?,
    };
    for replicas in &topology.shards {
        // A mutation of a replicated table is run by one replica and
        // replicated to the others.
        let leader = &replicas[0];
        if outcome.events_deleted > 0 {
            leader.run(&format!(
                "ALTER TABLE {db}.events_local DELETE WHERE {expired}"
            ))?;
        }
        if outcome.campaigns_cleared > 0 {
            leader.run(&format!(
                "ALTER TABLE {db}.events_local UPDATE utm_source = NULL, utm_medium = NULL,
                     utm_campaign = NULL, utm_term = NULL, utm_content = NULL
                 WHERE {with_campaign}"
            ))?;
        }
    }
    Ok(outcome)
}
