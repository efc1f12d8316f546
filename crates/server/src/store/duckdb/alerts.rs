//! [`AlertStore`] on the DuckDB file: rules beside the saved funnels and
//! goals, firings in a table of their own (each kept as its protocol
//! type's JSON, with the columns they are looked up by).

use duckdb::params;
use sonde_protocol::alert::{AlertFiring, SavedAlertRule};

use super::DuckDbStore;
use super::saved::corrupt;
use crate::store::StoreError;
use crate::store::alerts::AlertStore;

const RULE: &str = "alert_rule";

impl DuckDbStore {
    fn firings_where(
        &self,
        condition: &str,
        params: &[&dyn duckdb::ToSql],
    ) -> Result<Vec<AlertFiring>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT body FROM alert_firings WHERE {condition}"))?;
        let bodies: Vec<String> = stmt
            .query_map(params, |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(corrupt))
            .collect()
    }
}

impl AlertStore for DuckDbStore {
    fn put_alert_rule(&self, r: &SavedAlertRule) -> Result<(), StoreError> {
        self.put_saved(RULE, &r.id, &r.site, &r.rule.name, r)
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
        self.conn().execute(
            "INSERT INTO alert_firings VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO UPDATE SET open = excluded.open,
                 pending = excluded.pending, body = excluded.body",
            params![
                f.id,
                f.site,
                f.rule,
                f.fired_at,
                f.resolved_at.is_none(),
                f.has_pending_delivery(),
                body
            ],
        )?;
        Ok(())
    }

    fn open_firings(&self, rule: &str) -> Result<Vec<AlertFiring>, StoreError> {
        self.firings_where("rule = ? AND open ORDER BY fired_at, id", &[&rule])
    }

    fn undelivered_firings(&self) -> Result<Vec<AlertFiring>, StoreError> {
        self.firings_where("pending ORDER BY fired_at, id", &[])
    }

    fn firings(&self, site: &str, limit: u32) -> Result<Vec<AlertFiring>, StoreError> {
        self.firings_where(
            "site = ? ORDER BY fired_at DESC, id DESC LIMIT ?",
            &[&site, &i64::from(limit)],
        )
    }

    fn take_alert_turn(&self, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        // The file is opened by one process at a time: its turn, always.
        Ok(true)
    }
}
