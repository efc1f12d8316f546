//! [`AlertStore`] in PostgreSQL: rules beside the saved funnels and goals,
//! firings as JSON text with the columns they are looked up by, and one
//! row naming the process whose turn it is to evaluate.

use sonde_protocol::alert::{AlertFiring, SavedAlertRule};

use super::PostgresStore;
use super::saved::corrupt;
use crate::store::StoreError;
use crate::store::alerts::AlertStore;

const RULE: &str = "alert_rule";

fn firings_of(rows: Vec<postgres::Row>) -> Result<Vec<AlertFiring>, StoreError> {
    rows.iter()
        .map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
        .collect()
}

impl AlertStore for PostgresStore {
    fn put_alert_rule(&self, r: &SavedAlertRule) -> Result<(), StoreError> {
        self.put_saved(RULE, (&r.id, &r.site, &r.rule.name), r)
    }

    fn alert_rule(&self, id: &str) -> Result<Option<SavedAlertRule>, StoreError> {
        self.saved_one(RULE, id)
    }

    fn alert_rules(&self, site: &str) -> Result<Vec<SavedAlertRule>, StoreError> {
        self.saved_of_site(RULE, site)
    }

    fn all_alert_rules(&self) -> Result<Vec<SavedAlertRule>, StoreError> {
        self.all_saved(RULE)
    }

    fn remove_alert_rule(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_saved(RULE, id)
    }

    fn put_firing(&self, f: &AlertFiring) -> Result<(), StoreError> {
        let body = serde_json::to_string(f).map_err(corrupt)?;
        self.client()?.execute(
            "INSERT INTO alert_firings VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET open = excluded.open,
                 pending = excluded.pending, body = excluded.body",
            &[
                &f.id,
                &f.site,
                &f.rule,
                &f.fired_at,
                &f.resolved_at.is_none(),
                &f.has_pending_delivery(),
                &body,
            ],
        )?;
        Ok(())
    }

    fn open_firings(&self, rule: &str) -> Result<Vec<AlertFiring>, StoreError> {
        firings_of(self.client()?.query(
            "SELECT body FROM alert_firings WHERE rule = $1 AND open ORDER BY fired_at, id",
            &[&rule],
        )?)
    }

    fn undelivered_firings(&self) -> Result<Vec<AlertFiring>, StoreError> {
        firings_of(self.client()?.query(
            "SELECT body FROM alert_firings WHERE pending ORDER BY fired_at, id",
            &[],
        )?)
    }

    fn firings(&self, site: &str, limit: u32) -> Result<Vec<AlertFiring>, StoreError> {
        firings_of(self.client()?.query(
            "SELECT body FROM alert_firings WHERE site = $1
             ORDER BY fired_at DESC, id DESC LIMIT $2",
            &[&site, &i64::from(limit)],
        )?)
    }

    fn take_alert_turn(&self, process: &str, now: i64, lease_ms: i64) -> Result<bool, StoreError> {
        // Taken when free, when its lease ran out, or when it is already
        // this process's (which extends it); the row is locked while a
        // competing process decides, so one of two wins.
        let taken = self.client()?.execute(
            "INSERT INTO alert_turn (process, until) VALUES ($1, $2::bigint + $3::bigint)
             ON CONFLICT (only_row) DO UPDATE SET process = excluded.process, until = excluded.until
             WHERE alert_turn.process = excluded.process OR alert_turn.until < $2::bigint",
            &[&process, &now, &lease_ms],
        )?;
        Ok(taken == 1)
    }
}
