//! Digest subscriptions: who gets which site's figures by e-mail, and what
//! was last sent to them.

use serde::{Deserialize, Serialize};
use sonde_protocol::digest::SavedDigest;

use super::StoreError;

/// A subscription with the token of its unsubscribe link, which is never
/// listed: only the person it was mailed to has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDigest {
    #[serde(flatten)]
    pub digest: SavedDigest,
    pub token: String,
}

/// Subscriptions. Calls block, like [`super::IngestStore`]'s.
pub trait DigestStore: Send + Sync + std::fmt::Debug {
    /// Adds a subscription or replaces the one with its id.
    fn put_digest(&self, digest: &StoredDigest) -> Result<(), StoreError>;
    fn digest(&self, id: &str) -> Result<Option<StoredDigest>, StoreError>;
    /// A site's subscriptions, by address.
    fn digests(&self, site: &str) -> Result<Vec<StoredDigest>, StoreError>;
    /// Every site's, for the schedule and the unsubscribe links.
    fn all_digests(&self) -> Result<Vec<StoredDigest>, StoreError>;
    fn remove_digest(&self, id: &str) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use sonde_protocol::digest::Frequency;

    use super::*;
    use crate::store::DuckDbStore;

    fn digest(id: &str, site: &str, email: &str) -> StoredDigest {
        StoredDigest {
            digest: SavedDigest {
                id: id.into(),
                site: site.into(),
                email: email.into(),
                frequency: Frequency::Weekly,
                created_at: 1,
                last_period: None,
                last_sent_at: None,
                last_error: None,
            },
            token: format!("token-{id}"),
        }
    }

    /// What every store must do with subscriptions.
    pub(crate) fn keeps_subscriptions(store: &dyn DigestStore) {
        store
            .put_digest(&digest("d2", "shop", "pm@shop.example"))
            .unwrap();
        store
            .put_digest(&digest("d1", "shop", "ceo@shop.example"))
            .unwrap();
        store
            .put_digest(&digest("d3", "blog", "pm@shop.example"))
            .unwrap();
        let emails: Vec<String> = store
            .digests("shop")
            .unwrap()
            .into_iter()
            .map(|d| d.digest.email)
            .collect();
        assert_eq!(emails, ["ceo@shop.example", "pm@shop.example"]);
        assert_eq!(store.all_digests().unwrap().len(), 3);

        let mut sent = digest("d1", "shop", "ceo@shop.example");
        sent.digest.last_period = Some("2026-11-23".into());
        sent.digest.last_sent_at = Some(5);
        store.put_digest(&sent).unwrap();
        assert_eq!(store.digest("d1").unwrap(), Some(sent));

        assert!(store.remove_digest("d1").unwrap());
        assert!(!store.remove_digest("d1").unwrap());
        assert_eq!(store.digest("d1").unwrap(), None);
        assert_eq!(store.all_digests().unwrap().len(), 2);
    }

    #[test]
    fn the_file_keeps_subscriptions() {
        keeps_subscriptions(&DuckDbStore::in_memory().unwrap());
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn postgres_keeps_subscriptions() {
        keeps_subscriptions(&crate::store::postgres::testing::fresh_store("digests"));
    }
}
