//! Sites and their settings.

use duckdb::{Connection, params};
use sonde_protocol::SiteSettings;

use crate::store::StoreError;

/// The sites' settings, by key.
pub(super) fn sites(conn: &Connection) -> Result<Vec<SiteSettings>, StoreError> {
    let mut stmt = conn.prepare("SELECT settings FROM sites ORDER BY key")?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    rows.iter()
        .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}

/// Adds a site or replaces its settings.
pub(super) fn put_site(conn: &Connection, site: &SiteSettings) -> Result<(), StoreError> {
    let json = serde_json::to_string(site).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO sites VALUES (?, ?) ON CONFLICT DO UPDATE SET settings = excluded.settings",
        params![site.key, json],
    )?;
    // Days counted in another timezone are other days; their visits go
    // with them.
    let changed = conn.execute(
        "DELETE FROM rollup_days WHERE site = ? AND timezone <> ?",
        params![site.key, site.timezone],
    )?;
    if changed > 0 {
        conn.execute(
            "DELETE FROM rollup_day_visits WHERE site = ? AND day_start NOT IN
                 (SELECT day_start FROM rollup_days WHERE site = ?)",
            params![site.key, site.key],
        )?;
    }
    Ok(())
}

/// Forgets a site's settings (its data stays until its retention ends
/// or it is deleted); `false` when there was no such site.
pub(super) fn remove_site(conn: &Connection, key: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM sites WHERE key = ?", [key])? == 1)
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbStore;
    use super::*;
    use crate::store::data_roles::*;

    #[test]
    fn a_site_is_added_replaced_and_removed_by_key() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut shop = SiteSettings::new("shop", vec![]);
        store.put_site(&shop).unwrap();
        store.put_site(&SiteSettings::new("blog", vec![])).unwrap();
        shop.timezone = "Europe/Berlin".into();
        store.put_site(&shop).unwrap();
        let sites = store.sites().unwrap();
        let keys: Vec<&str> = sites.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["blog", "shop"]);
        assert_eq!(sites[1].timezone, "Europe/Berlin");
        assert!(store.remove_site("blog").unwrap());
        assert!(!store.remove_site("blog").unwrap());
        assert_eq!(store.sites().unwrap(), [shop]);
    }
}
