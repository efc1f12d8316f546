//! The sites Sonde serves and their settings (origins, consent banner,
//! retention, time zone).

use sonde_protocol::SiteSettings;

use super::StoreError;

/// The sites' settings. Calls block, like [`super::IngestStore`]'s.
pub trait SiteStore: Send + Sync + std::fmt::Debug {
    /// The sites' settings, by key.
    fn sites(&self) -> Result<Vec<SiteSettings>, StoreError>;

    /// Adds a site or replaces its settings.
    fn put_site(&self, site: &SiteSettings) -> Result<(), StoreError>;

    /// Forgets a site's settings (its data stays until its retention ends
    /// or it is deleted); `false` when there was no such site.
    fn remove_site(&self, key: &str) -> Result<bool, StoreError>;
}
