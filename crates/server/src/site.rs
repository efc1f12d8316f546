//! Sites: who may send events, from which origins, on which calendar, and
//! how long their data is kept. The settings live in the store (changed by
//! `sonde site` and the admin API); [`Sites`] is the running server's copy.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono_tz::Tz;
use sonde_protocol::{Rejection, SiteSettings};

/// A site instrumented with Sonde, ready for requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub settings: SiteSettings,
    pub timezone: Tz,
}

impl Site {
    /// Validated settings, with their timezone looked up.
    pub fn new(settings: SiteSettings) -> Result<Site, Rejection> {
        settings.validate()?;
        let timezone = settings
            .timezone
            .parse::<Tz>()
            .map_err(|_| Rejection::UnknownTimezone {
                field: "timezone".into(),
                timezone: settings.timezone.clone(),
            })?;
        Ok(Site { settings, timezone })
    }

    /// Parses `KEY=ORIGIN[,ORIGIN...]`, the form used by the CLI and
    /// environment for the sites to serve: the site's other settings are
    /// kept from the store, or take their defaults.
    pub fn parse_origins(spec: &str) -> Result<(String, Vec<String>), String> {
        let (key, origins) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=ORIGIN[,ORIGIN...], got {spec:?}"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("the site key is empty in {spec:?}"));
        }
        let origins: Vec<String> = origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Err(format!("site {key:?} has no allowed origin"));
        }
        Ok((key.to_owned(), origins))
    }

    /// What people call the site: its name, or its key without one.
    pub fn name(&self) -> &str {
        if self.settings.name.trim().is_empty() {
            &self.settings.key
        } else {
            &self.settings.name
        }
    }

    pub fn key(&self) -> &str {
        &self.settings.key
    }

    /// Whether a browser page at `origin` may send events for this site.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.settings
            .origins
            .iter()
            .any(|o| o == "*" || o == origin)
    }
}

/// The sites being served, by key; changes apply to the next request.
#[derive(Debug, Default)]
pub struct Sites(RwLock<HashMap<String, Arc<Site>>>);

impl Sites {
    pub fn new(sites: impl IntoIterator<Item = Site>) -> Self {
        Sites(RwLock::new(
            sites
                .into_iter()
                .map(|s| (s.key().to_owned(), Arc::new(s)))
                .collect(),
        ))
    }

    /// Becomes `sites`, as the store has them now.
    pub fn replace_all(&self, sites: impl IntoIterator<Item = Site>) {
        let next = Sites::new(sites)
            .0
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = next;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Site>>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Arc<Site>> {
        self.read().get(key).cloned()
    }

    /// Adds a site or replaces its settings.
    pub fn put(&self, site: Site) {
        let mut sites = self.0.write().unwrap_or_else(|e| e.into_inner());
        sites.insert(site.key().to_owned(), Arc::new(site));
    }

    pub fn remove(&self, key: &str) -> bool {
        let mut sites = self.0.write().unwrap_or_else(|e| e.into_inner());
        sites.remove(key).is_some()
    }

    /// Whether any site accepts `origin`; used to answer CORS preflights,
    /// which do not say which site the batch is for.
    pub fn any_allows_origin(&self, origin: &str) -> bool {
        self.read().values().any(|s| s.allows_origin(origin))
    }

    /// Every site, by key.
    pub fn all(&self) -> Vec<Arc<Site>> {
        let mut sites: Vec<Arc<Site>> = self.read().values().cloned().collect();
        sites.sort_by(|a, b| a.key().cmp(b.key()));
        sites
    }

    pub fn keys(&self) -> Vec<String> {
        self.all().iter().map(|s| s.key().to_owned()).collect()
    }
}

/// How soon a site changed by another Sonde process is served here.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// When several Sonde processes share the application's store: reads the
/// sites from `store` every few seconds, so that a site added, changed or
/// removed through one process is served the same way by all. The task
/// holds the sites weakly, so it ends with them.
pub fn follow_shared_store(store: Arc<dyn crate::store::SiteStore>, sites: &Arc<Sites>) {
    let sites = Arc::downgrade(sites);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FOLLOW_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if sites.strong_count() == 0 {
                return;
            }
            let store = Arc::clone(&store);
            let stored = tokio::task::spawn_blocking(move || store.sites()).await;
            let Some(sites) = sites.upgrade() else { return };
            match stored {
                Ok(Ok(stored)) => sites.replace_all(stored.into_iter().filter_map(|settings| {
                    let key = settings.key.clone();
                    Site::new(settings)
                        .inspect_err(|e| tracing::warn!(site = %key, error = %e, "a stored site cannot be served"))
                        .ok()
                })),
                Ok(Err(e)) => tracing::warn!(error = %e, "the sites could not be read"),
                Err(e) => tracing::warn!(error = %e, "the sites could not be read"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(spec: &str) -> Site {
        let (key, origins) = Site::parse_origins(spec).unwrap();
        Site::new(SiteSettings::new(&key, origins)).unwrap()
    }

    #[test]
    fn parses_a_site_with_several_origins() {
        let site = site("shop=https://shop.example/, https://www.shop.example");
        assert_eq!(site.key(), "shop");
        assert!(site.allows_origin("https://shop.example"));
        assert!(site.allows_origin("https://www.shop.example"));
        assert!(!site.allows_origin("https://evil.example"));
    }

    #[test]
    fn refuses_a_site_without_origins_or_key() {
        assert!(
            Site::parse_origins("shop")
                .unwrap_err()
                .contains("KEY=ORIGIN")
        );
        assert!(
            Site::parse_origins("shop=")
                .unwrap_err()
                .contains("no allowed origin")
        );
        assert!(
            Site::parse_origins("=https://a.example")
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn a_wildcard_allows_any_origin() {
        assert!(site("dev=*").allows_origin("http://localhost:3000"));
    }

    #[test]
    fn an_unknown_timezone_is_refused_by_name() {
        let mut settings = SiteSettings::new("shop", vec!["*".into()]);
        settings.timezone = "Mars/Olympus_Mons".into();
        let err = Site::new(settings).unwrap_err();
        assert_eq!(err.field(), "timezone");
        assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
        let mut settings = SiteSettings::new("shop", vec!["*".into()]);
        settings.timezone = "Pacific/Auckland".into();
        assert_eq!(
            Site::new(settings).unwrap().timezone,
            chrono_tz::Pacific::Auckland
        );
    }
}
