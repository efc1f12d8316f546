//! The server's shared state: the stores, the writer, the salts, the sites
//! and the limits every handler may need. It knows nothing of routes or
//! handlers; [`crate::routes`] hands it to them.

use std::net::SocketAddr;
use std::sync::Arc;

use sonde_protocol::{DASHBOARD_SITE, SiteSettings};

use crate::client_address::TrustedProxies;
use crate::config::{Config, SiteOrigins};
use crate::digests::Postbox;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimits;
use crate::site::{Site, Sites};
use crate::store::{
    ClickHouseStore, ClusterStore, DuckDbStore, PostgresStore, SaltKeeper, SiteStore, Stores,
};
use crate::user_agent::Classifier;
use crate::visitor::DailySalt;
use crate::writer::{Writer, WriterThread};

/// Why the state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot open the salt file: {0}")]
    Salt(std::io::Error),
    #[error("site {0:?} cannot be served: {1}")]
    Site(String, sonde_protocol::Rejection),
    #[error("cannot start the writer thread: {0}")]
    Writer(std::io::Error),
    #[error("cannot send e-mail: {0}")]
    Mail(String),
    #[error("--app-store keeps a cluster's application data: it needs --store clickhouse://…")]
    AppStoreWithoutCluster,
}

/// Key of the demo site, served on the server's own origin.
pub const DEMO_SITE: &str = "demo";

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    stores: Stores,
    writer: Writer,
    salts: Arc<DailySalt>,
    sites: Arc<Sites>,
    metrics: Arc<Metrics>,
    user_agents: Classifier,
    rate_limits: Arc<RateLimits>,
    trusted_proxies: TrustedProxies,
    admin_token: Option<String>,
    min_group_size: u64,
    dashboard_telemetry: bool,
    postbox: Postbox,
}

impl AppState {
    /// Opens the store and salt in the data directory and starts the writer,
    /// whose thread the caller joins after the last request (see
    /// [`crate::Server::shutdown`]). `addr` is where the server listens, so
    /// the demo site can allow the server's own origin. With `--smtp-url`,
    /// call it in a Tokio runtime (the mail server's connection pool
    /// starts a task).
    pub fn open(config: &Config, addr: SocketAddr) -> Result<(Self, WriterThread), OpenError> {
        let (stores, shared_salts) = open_stores(config)?;
        let salts = match shared_salts {
            Some(keeper) => DailySalt::shared(keeper),
            None => DailySalt::open(config.data_dir.join("salt")).map_err(OpenError::Salt)?,
        };
        let metrics = Arc::new(Metrics::default());
        let (writer, writer_thread) = Writer::start(
            Arc::clone(&stores.ingest),
            config.write_queue,
            Arc::clone(&metrics),
        )
        .map_err(OpenError::Writer)?;
        let salts = Arc::new(salts);
        let sites = Arc::new(load_sites(stores.sites.as_ref(), config, addr)?);
        let mailer = config
            .smtp_url
            .as_deref()
            .map(|url| Mailer::new(url, &config.mail_from))
            .transpose()
            .map_err(OpenError::Mail)?;
        let postbox = Postbox {
            mailer,
            dashboard: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            min_group_size: config.min_group_size.max(1),
        };
        let state = AppState(Arc::new(Inner {
            stores,
            writer,
            salts,
            sites,
            metrics,
            user_agents: Classifier::default(),
            rate_limits: Arc::new(RateLimits::new(config.rate_limits())),
            trusted_proxies: config.trusted_proxies(),
            admin_token: config.admin_token.clone().filter(|t| !t.is_empty()),
            min_group_size: config.min_group_size.max(1),
            dashboard_telemetry: config.dashboard_telemetry,
            postbox,
        }));
        Ok((state, writer_thread))
    }

    /// The store, one handle per role; clone a handle into a blocking
    /// task, store calls block.
    pub fn stores(&self) -> &Stores {
        &self.0.stores
    }

    /// The mail server and the dashboard's address, for digests.
    pub fn postbox(&self) -> &Postbox {
        &self.0.postbox
    }

    /// Where ingest hands its rows to be committed.
    pub fn writer(&self) -> &Writer {
        &self.0.writer
    }

    pub fn salts(&self) -> &Arc<DailySalt> {
        &self.0.salts
    }

    pub fn sites(&self) -> &Arc<Sites> {
        &self.0.sites
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Breakdown rows need at least this many visitors to be listed.
    pub fn min_group_size(&self) -> u64 {
        self.0.min_group_size
    }

    /// The site the dashboard counts its own use under, when the operator
    /// turned dashboard telemetry on.
    pub fn dashboard_site(&self) -> Option<&'static str> {
        self.0.dashboard_telemetry.then_some(DASHBOARD_SITE)
    }

    /// The admin API's token; `None` turns the admin API off.
    pub fn admin_token(&self) -> Option<&str> {
        self.0.admin_token.as_deref()
    }

    pub fn rate_limits(&self) -> &Arc<RateLimits> {
        &self.0.rate_limits
    }

    /// Whose forwarding headers name the client ([`crate::client_address`]);
    /// read by [`crate::http::delivery`] only.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.0.trusted_proxies
    }

    /// Tells bots from visitors' browsers, systems and devices.
    pub fn user_agents(&self) -> &Classifier {
        &self.0.user_agents
    }
}

/// The stores `config` names, and the keeper of the day's salts when they
/// are kept with the application's data (else they are in the data
/// directory).
pub fn open_stores(config: &Config) -> Result<(Stores, Option<Box<dyn SaltKeeper>>), OpenError> {
    let data_dir_file = || {
        DuckDbStore::open_tuned(
            &config.data_dir.join("sonde.duckdb"),
            &config.store_tuning(),
        )
    };
    Ok(match (&config.store, &config.app_store) {
        // Everything in the data directory.
        (None, None) => (Stores::all_in(Arc::new(data_dir_file()?)), None),
        // Events on the cluster, the rest in the data directory: one
        // process only.
        (Some(events), None) => {
            let events = ClickHouseStore::open(events)?;
            let app = Arc::new(data_dir_file()?);
            (ClusterStore::new(events, app).stores(), None)
        }
        // Events on the cluster, the rest in PostgreSQL, salts too: any
        // number of processes.
        (Some(events), Some(app)) => {
            let events = ClickHouseStore::open(events)?;
            let app = PostgresStore::open(app)?;
            let salts: Box<dyn SaltKeeper> = Box::new(app.salts());
            (
                ClusterStore::new(events, Arc::new(app)).stores(),
                Some(salts),
            )
        }
        (None, Some(_)) => return Err(OpenError::AppStoreWithoutCluster),
    })
}

/// The sites kept in the store, with the origins the configuration names
/// (`--site`, and the demo and dashboard sites on this server's own origin)
/// applied and saved: a configured site keeps its other settings from the
/// store. The server's own sites keep the origins stored too: the Sonde
/// processes of a cluster share one store, each on its own origin.
fn load_sites(
    store: &dyn SiteStore,
    config: &Config,
    addr: SocketAddr,
) -> Result<Sites, OpenError> {
    let mut stored: std::collections::HashMap<String, SiteSettings> = store
        .sites()?
        .into_iter()
        .map(|s| (s.key.clone(), s))
        .collect();
    // Each with the name a new site gets, and whether the stored origins
    // stay.
    let mut configured: Vec<(SiteOrigins, &str, bool)> = config
        .sites
        .iter()
        .map(|s| (s.clone(), "", false))
        .collect();
    // The server's own sites; a `--site` of the same key wins (behind a
    // proxy, the operator names the public origin).
    for (on, key, name) in [
        (config.demo, DEMO_SITE, ""),
        (
            config.dashboard_telemetry,
            DASHBOARD_SITE,
            "Sonde dashboard",
        ),
    ] {
        if on && !configured.iter().any(|(s, ..)| s.key == key) {
            configured.push((
                SiteOrigins {
                    key: key.into(),
                    origins: own_origins(addr),
                },
                name,
                true,
            ));
        }
    }
    for (SiteOrigins { key, mut origins }, name, keep_stored) in configured {
        let settings = match stored.remove(&key) {
            Some(existing) => {
                if keep_stored {
                    let new = std::mem::take(&mut origins);
                    origins = existing.origins.clone();
                    origins.extend(new.into_iter().filter(|o| !existing.origins.contains(o)));
                }
                SiteSettings {
                    origins,
                    ..existing
                }
            }
            None => SiteSettings {
                name: name.to_owned(),
                ..SiteSettings::new(&key, origins)
            },
        };
        let site = Site::new(settings).map_err(|e| OpenError::Site(key.clone(), e))?;
        store.put_site(&site.settings)?;
        stored.insert(key, site.settings);
    }
    let sites = stored
        .into_values()
        .map(|settings| {
            let key = settings.key.clone();
            Site::new(settings).map_err(|e| OpenError::Site(key, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sites::new(sites))
}

/// The origins a browser uses for this server: its address, and `localhost`
/// for a loopback address.
fn own_origins(addr: SocketAddr) -> Vec<String> {
    let mut origins = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", addr.port()));
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SiteOrigins;

    fn origins_of(store: &DuckDbStore, key: &str) -> Vec<String> {
        let sites = store.sites().unwrap();
        sites.into_iter().find(|s| s.key == key).unwrap().origins
    }

    /// Two processes of a cluster on one store each add their own origin
    /// to the demo site; an operator's `--site` replaces the list.
    #[test]
    fn own_sites_keep_the_origins_of_other_processes_and_a_configured_site_replaces() {
        let store = DuckDbStore::in_memory().unwrap();
        let config = Config {
            demo: true,
            ..Config::ephemeral("unused")
        };
        let first = SocketAddr::from(([127, 0, 0, 1], 18080));
        let second = SocketAddr::from(([10, 0, 0, 2], 8080));
        load_sites(&store, &config, first).unwrap();
        let sites = load_sites(&store, &config, second).unwrap();
        let both = vec![
            "http://127.0.0.1:18080".to_owned(),
            "http://localhost:18080".to_owned(),
            "http://10.0.0.2:8080".to_owned(),
        ];
        assert_eq!(origins_of(&store, DEMO_SITE), both);
        assert!(sites.get(DEMO_SITE).is_some());
        // Started again: nothing added twice.
        load_sites(&store, &config, second).unwrap();
        assert_eq!(origins_of(&store, DEMO_SITE), both);

        let configured = Config {
            sites: vec![SiteOrigins {
                key: DEMO_SITE.into(),
                origins: vec!["https://demo.example".into()],
            }],
            ..config
        };
        load_sites(&store, &configured, second).unwrap();
        assert_eq!(
            origins_of(&store, DEMO_SITE),
            vec!["https://demo.example".to_owned()]
        );
    }
}
