//! [`DigestStore`] in PostgreSQL: subscriptions beside the saved
//! funnels and goals.

use super::PostgresStore;
use crate::store::StoreError;
use crate::store::digests::{DigestStore, StoredDigest};

const DIGEST: &str = "digest";

impl DigestStore for PostgresStore {
    fn put_digest(&self, d: &StoredDigest) -> Result<(), StoreError> {
        let s = &d.digest;
        self.put_saved(DIGEST, (&s.id, &s.site, &s.email), d)
    }

    fn digest(&self, id: &str) -> Result<Option<StoredDigest>, StoreError> {
        self.saved_one(DIGEST, id)
    }

    fn digests(&self, site: &str) -> Result<Vec<StoredDigest>, StoreError> {
        self.saved_of_site(DIGEST, site)
    }

    fn all_digests(&self) -> Result<Vec<StoredDigest>, StoreError> {
        self.all_saved(DIGEST)
    }

    fn remove_digest(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_saved(DIGEST, id)
    }
}
