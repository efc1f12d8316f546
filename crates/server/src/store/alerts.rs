//! Alert rules and their firings, and whose turn it is to evaluate them.

use sonde_protocol::alert::{AlertFiring, SavedAlertRule};

use super::StoreError;

/// Rules (kept with their webhook secret) and firings. Calls block, like
/// [`super::IngestStore`]'s.
pub trait AlertStore: Send + Sync + std::fmt::Debug {
    /// Adds a rule or replaces the one with its id.
    fn put_alert_rule(&self, rule: &SavedAlertRule) -> Result<(), StoreError>;
    fn alert_rule(&self, id: &str) -> Result<Option<SavedAlertRule>, StoreError>;
    /// A site's rules, by name.
    fn alert_rules(&self, site: &str) -> Result<Vec<SavedAlertRule>, StoreError>;
    /// Every site's rules, for the evaluation.
    fn all_alert_rules(&self) -> Result<Vec<SavedAlertRule>, StoreError>;
    /// Removes a rule; its firings stay in the site's history.
    fn remove_alert_rule(&self, id: &str) -> Result<bool, StoreError>;

    /// Adds a firing or replaces the one with its id.
    fn put_firing(&self, firing: &AlertFiring) -> Result<(), StoreError>;
    /// A rule's firings not resolved yet.
    fn open_firings(&self, rule: &str) -> Result<Vec<AlertFiring>, StoreError>;
    /// Firings with a notification not delivered yet, oldest first.
    fn undelivered_firings(&self) -> Result<Vec<AlertFiring>, StoreError>;
    /// A site's firings, the newest first, at most `limit`.
    fn firings(&self, site: &str, limit: u32) -> Result<Vec<AlertFiring>, StoreError>;

    /// Whether `process` may evaluate the rules now, until `now + lease_ms`:
    /// of the Sonde processes sharing a store, one at a time does, so that
    /// a firing is stored and told once. A process that stops loses its
    /// turn when its lease runs out.
    fn take_alert_turn(&self, process: &str, now: i64, lease_ms: i64) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use sonde_protocol::alert::{
        AlertCondition, AlertEvent, AlertRule, Channel, Delivery, Evidence, Unit,
    };

    use super::*;
    use crate::store::DuckDbStore;

    fn rule(id: &str, site: &str, name: &str) -> SavedAlertRule {
        SavedAlertRule {
            id: id.into(),
            site: site.into(),
            rule: AlertRule {
                name: name.into(),
                condition: AlertCondition::Traffic { sensitivity: 3.0 },
                channels: vec![Channel::Email {
                    to: "ops@shop.example".into(),
                }],
            },
            secret: Some("secret".into()),
            updated_at: 1,
        }
    }

    fn firing(id: &str, rule: &str, fired_at: i64) -> AlertFiring {
        AlertFiring {
            id: id.into(),
            site: "shop".into(),
            rule: rule.into(),
            rule_name: "Traffic".into(),
            subject: "traffic".into(),
            fired_at,
            evidence: Evidence {
                figure: 200.0,
                unit: Unit::Count,
                expected: 20.0,
                low: 7.0,
                high: 33.0,
                from: 0,
                to: 3_600_000,
                link: "https://sonde.example/?site=shop".into(),
                summary: "200 visitors".into(),
            },
            resolved_at: None,
            resolved_evidence: None,
            deliveries: vec![Delivery {
                channel: 0,
                event: AlertEvent::Fired,
                attempts: 0,
                delivered_at: None,
                error: None,
                abandoned: false,
            }],
        }
    }

    /// What every store must do with rules and firings.
    fn keeps_rules_and_firings(store: &dyn AlertStore) {
        store
            .put_alert_rule(&rule("r2", "shop", "b traffic"))
            .unwrap();
        store
            .put_alert_rule(&rule("r1", "shop", "A traffic"))
            .unwrap();
        store.put_alert_rule(&rule("r3", "blog", "Blog")).unwrap();
        let names: Vec<String> = store
            .alert_rules("shop")
            .unwrap()
            .into_iter()
            .map(|r| r.rule.name)
            .collect();
        assert_eq!(names, ["A traffic", "b traffic"]);
        assert_eq!(store.all_alert_rules().unwrap().len(), 3);
        assert_eq!(
            store.alert_rule("r1").unwrap(),
            Some(rule("r1", "shop", "A traffic"))
        );

        let mut first = firing("f1", "r1", 1_000);
        store.put_firing(&first).unwrap();
        store.put_firing(&firing("f2", "r1", 2_000)).unwrap();
        assert_eq!(store.open_firings("r1").unwrap().len(), 2);
        assert_eq!(store.undelivered_firings().unwrap().len(), 2);
        first.deliveries[0].delivered_at = Some(1_500);
        first.resolved_at = Some(3_000);
        store.put_firing(&first).unwrap();
        assert_eq!(
            store
                .open_firings("r1")
                .unwrap()
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            ["f2"]
        );
        assert_eq!(store.undelivered_firings().unwrap()[0].id, "f2");
        let history = store.firings("shop", 10).unwrap();
        assert_eq!(
            history.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["f2", "f1"]
        );
        assert_eq!(history[1], first);
        assert_eq!(store.firings("shop", 1).unwrap().len(), 1);

        assert!(store.remove_alert_rule("r1").unwrap());
        assert!(!store.remove_alert_rule("r1").unwrap());
        assert_eq!(store.firings("shop", 10).unwrap().len(), 2, "history stays");
    }

    #[test]
    fn the_file_keeps_rules_and_firings() {
        let store = DuckDbStore::in_memory().unwrap();
        keeps_rules_and_firings(&store);
        assert!(store.take_alert_turn("a", 0, 1_000).unwrap());
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn postgres_keeps_rules_and_firings_and_gives_one_process_the_turn() {
        let store = crate::store::postgres::testing::fresh_store("alerts");
        keeps_rules_and_firings(&store);
        assert!(store.take_alert_turn("a", 0, 1_000).unwrap());
        assert!(
            !store.take_alert_turn("b", 500, 1_000).unwrap(),
            "a holds it"
        );
        assert!(
            store.take_alert_turn("a", 900, 1_000).unwrap(),
            "a renews it"
        );
        assert!(
            !store.take_alert_turn("b", 1_500, 1_000).unwrap(),
            "until 1,900"
        );
        assert!(
            store.take_alert_turn("b", 2_000, 1_000).unwrap(),
            "a's lease ran out"
        );
        assert!(!store.take_alert_turn("a", 2_100, 1_000).unwrap());
    }
}
