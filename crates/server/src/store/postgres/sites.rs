//! [`SiteStore`] in PostgreSQL: each site's settings as one JSON text.

use sonde_protocol::SiteSettings;

use super::PostgresStore;
use crate::store::{SiteStore, StoreError};

impl SiteStore for PostgresStore {
    fn sites(&self) -> Result<Vec<SiteSettings>, StoreError> {
        let rows = self
            .client()?
            .query("SELECT settings FROM sites ORDER BY key", &[])?;
        rows.iter()
            .map(|row| {
                serde_json::from_str(row.get(0)).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    fn put_site(&self, site: &SiteSettings) -> Result<(), StoreError> {
        let json = serde_json::to_string(site).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client()?.execute(
            "INSERT INTO sites VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET settings = excluded.settings",
            &[&site.key, &json],
        )?;
        Ok(())
    }

    fn remove_site(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .execute("DELETE FROM sites WHERE key = $1", &[&key])?
            == 1)
    }
}
