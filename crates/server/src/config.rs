//! What the operator can configure: a flag wins over its `SONDE_*`
//! environment variable, which wins over the configuration file
//! (`--config FILE`, TOML, the flags' names in snake case), which wins over
//! the default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::client_address::{ProxyHeader, TrustedProxies};
use crate::rate_limit::Limits;
use crate::site::Site;

/// A file of the web app compiled into the binary: its bytes and their
/// SHA-256.
pub type WebFile = (std::borrow::Cow<'static, [u8]>, [u8; 32]);

/// Finds a file of the compiled-in web app by its path in `dist/`
/// (`index.html`, `sonde/collector-….wasm.br`).
pub type WebFileLookup = fn(&str) -> Option<WebFile>;

/// A site and its allowed origins, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteOrigins {
    pub key: String,
    pub origins: Vec<String>,
}

impl SiteOrigins {
    /// `KEY=ORIGIN[,ORIGIN...]`.
    pub fn parse(spec: &str) -> Result<SiteOrigins, String> {
        let (key, origins) = Site::parse_origins(spec)?;
        Ok(SiteOrigins { key, origins })
    }
}

/// How to run the server.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// A TOML file with any of these settings, under their flag's name in
    /// snake case (`data_dir = "/var/lib/sonde"`, `sites = ["shop=https://shop.example"]`).
    #[arg(long, env = "SONDE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address and port to listen on.
    #[arg(long, env = "SONDE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory holding the DuckDB file and the daily salt.
    #[arg(long, env = "SONDE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Where events are kept: in the DuckDB file of the data directory
    /// unless this names a ClickHouse cluster,
    /// `clickhouse://HOST:PORT,HOST:PORT;HOST:PORT,HOST:PORT/DATABASE?cluster=NAME`
    /// (shards separated by `;`, a shard's replicas by `,`, each server's
    /// HTTP port; see the README, "Past one machine"). Everything else
    /// stays in the data directory unless `--app-store` names a database.
    #[arg(long, env = "SONDE_STORE")]
    pub store: Option<String>,

    /// With `--store clickhouse://…`: the PostgreSQL database that keeps
    /// everything but the events (sites, accounts, saved funnels and goals,
    /// consent records, the day's salts), `postgres://USER@HOST:PORT/DB`,
    /// shared by every Sonde process of the cluster. Without it, they stay
    /// in the data directory, and only one process may serve the cluster.
    #[arg(long, env = "SONDE_APP_STORE")]
    pub app_store: Option<String>,

    /// Memory the store may use for queries and its caches, in MiB; a
    /// query that needs more spills to a temporary file in the data
    /// directory instead.
    #[arg(long, env = "SONDE_STORE_MEMORY_MB", default_value_t = crate::store::StoreTuning::DEFAULT.memory_limit_mb)]
    pub store_memory_mb: u32,

    /// Size of the store's write-ahead log, in MiB, at which its rows are
    /// checkpointed into the file: larger makes ingest cheaper and holds
    /// more in memory until then.
    #[arg(long, env = "SONDE_STORE_CHECKPOINT_MB", default_value_t = crate::store::StoreTuning::DEFAULT.checkpoint_wal_mb)]
    pub store_checkpoint_mb: u32,

    /// Directory of the built web app (`dist`, as `cargo xtask build-web`
    /// makes it), served instead of the one compiled into the binary: for
    /// development.
    #[arg(long, env = "SONDE_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// The web app compiled into the binary, served when no `--web-dir` is
    /// given; `None` serves the API only.
    #[arg(skip)]
    pub embedded_web: Option<WebFileLookup>,

    /// A site that may send events, as `KEY=ORIGIN[,ORIGIN...]` (`*` allows any
    /// origin). Repeat the flag, or separate sites with `;` in the variable.
    #[arg(long = "site", env = "SONDE_SITES", value_delimiter = ';', value_parser = SiteOrigins::parse)]
    pub sites: Vec<SiteOrigins>,

    /// Accept events for the demo site (key `demo`) from this server's own
    /// origin, where the demo shop is served.
    #[arg(long, env = "SONDE_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Batches that may wait to be committed; beyond that, ingest answers 503
    /// with Retry-After until the writer catches up.
    #[arg(long, env = "SONDE_WRITE_QUEUE", default_value_t = crate::writer::DEFAULT_QUEUE_CAPACITY)]
    pub write_queue: usize,

    /// Ingest requests per second one visitor may send, after a burst of ten
    /// seconds' worth; 0 for no limit.
    #[arg(long, env = "SONDE_RATE_LIMIT_VISITOR", default_value_t = 5)]
    pub rate_limit_visitor: u32,

    /// Ingest requests per second one site may receive, after a burst of ten
    /// seconds' worth; 0 for no limit.
    #[arg(long, env = "SONDE_RATE_LIMIT_SITE", default_value_t = 5_000)]
    pub rate_limit_site: u32,

    /// Requests per second one client address may send to the consent,
    /// erase and banner endpoints, after a burst of ten seconds' worth; 0
    /// for no limit.
    #[arg(long, env = "SONDE_RATE_LIMIT_CLIENT", default_value_t = 5)]
    pub rate_limit_client: u32,

    /// Sign-in attempts per minute one client address may make (on top of
    /// the lockout of an account after repeated failures), after a burst of
    /// that many; 0 for no limit.
    #[arg(long, env = "SONDE_RATE_LIMIT_SIGN_IN", default_value_t = 10)]
    pub rate_limit_sign_in: u32,

    /// A reverse proxy or load balancer (an address or a CIDR network)
    /// whose forwarding header names the client. Repeat the flag, or
    /// separate networks with `,` in the variable. None by default: the
    /// connection's address is the client's and forwarding headers are
    /// ignored.
    #[arg(long = "trusted-proxy", env = "SONDE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// The header the trusted proxies set.
    #[arg(long, env = "SONDE_PROXY_HEADER", value_enum, default_value_t = ProxyHeader::XForwardedFor)]
    pub proxy_header: ProxyHeader,

    /// The token the admin API (`/api/admin`) asks for as a bearer token;
    /// without one the admin API is off.
    #[arg(long, env = "SONDE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Breakdown rows with fewer visitors than this are not listed, only
    /// counted: a small group could point at a person.
    #[arg(long, env = "SONDE_MIN_GROUP_SIZE", default_value_t = 5)]
    pub min_group_size: u64,

    /// Count the dashboard's own use: registers the site `sonde-dashboard`
    /// on this server's own origin, and the dashboard loads the embed for it
    /// (its users meet the banner like any visitor). Off by default.
    #[arg(
        long,
        env = "SONDE_DASHBOARD_TELEMETRY",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub dashboard_telemetry: bool,

    /// The dashboard's address as people reach it (`https://sonde.example`),
    /// for the links in alerts and e-mails; by default this server's own
    /// `http://` address.
    #[arg(long, env = "SONDE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The mail server alerts and digests go out through:
    /// `smtp://HOST:PORT` (add `?tls=required` for STARTTLS) or
    /// `smtps://USER:PASSWORD@HOST:PORT`. Without one, e-mail channels
    /// fail and say so in the alert's history.
    #[arg(long, env = "SONDE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Who Sonde's e-mails are from.
    #[arg(
        long,
        env = "SONDE_MAIL_FROM",
        default_value = "Sonde <sonde@localhost>"
    )]
    pub mail_from: String,

    /// Seconds between two evaluations of the alert rules.
    #[arg(long, env = "SONDE_ALERT_INTERVAL", default_value_t = 300)]
    pub alert_interval: u64,

    /// Deliver four weeks of demo traffic to the demo site (through the
    /// ingest path, see [`crate::demo`]) when it has no events.
    #[arg(long, env = "SONDE_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,
}

/// `10.0.0.0/8`, `2001:db8::/32`, or one address.
fn parse_network(spec: &str) -> Result<ipnet::IpNet, String> {
    let spec = spec.trim();
    spec.parse::<ipnet::IpNet>()
        .or_else(|_| spec.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{spec:?} is not an address or a network such as 10.0.0.0/8"))
}

impl Config {
    pub fn rate_limits(&self) -> Limits {
        Limits {
            per_visitor: self.rate_limit_visitor,
            per_site: self.rate_limit_site,
            per_client: self.rate_limit_client,
            sign_ins_per_minute: self.rate_limit_sign_in,
        }
    }

    /// How the store uses memory and disk.
    pub fn store_tuning(&self) -> crate::store::StoreTuning {
        crate::store::StoreTuning {
            memory_limit_mb: self.store_memory_mb,
            checkpoint_wal_mb: self.store_checkpoint_mb,
        }
    }

    /// The proxies whose forwarding header names the client.
    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::new(self.trusted_proxies.clone(), self.proxy_header)
    }

    /// A configuration for tests and embedding: the given data directory, an
    /// ephemeral loopback port, no web app, no demo data.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            config: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            store: None,
            app_store: None,
            store_memory_mb: crate::store::StoreTuning::DEFAULT.memory_limit_mb,
            store_checkpoint_mb: crate::store::StoreTuning::DEFAULT.checkpoint_wal_mb,
            web_dir: None,
            embedded_web: None,
            sites: Vec::new(),
            demo: false,
            dashboard_telemetry: false,
            seed_demo: false,
            write_queue: crate::writer::DEFAULT_QUEUE_CAPACITY,
            admin_token: None,
            min_group_size: 5,
            rate_limit_visitor: 5,
            rate_limit_site: 5_000,
            rate_limit_client: 5,
            rate_limit_sign_in: 10,
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::XForwardedFor,
            public_url: None,
            smtp_url: None,
            mail_from: "Sonde <sonde@localhost>".into(),
            alert_interval: 300,
        }
    }
}

/// The configuration file: every setting optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    app_store: Option<String>,
    store_memory_mb: Option<u32>,
    store_checkpoint_mb: Option<u32>,
    web_dir: Option<PathBuf>,
    sites: Option<Vec<String>>,
    demo: Option<bool>,
    dashboard_telemetry: Option<bool>,
    seed_demo: Option<bool>,
    write_queue: Option<usize>,
    rate_limit_visitor: Option<u32>,
    rate_limit_site: Option<u32>,
    rate_limit_client: Option<u32>,
    rate_limit_sign_in: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
    proxy_header: Option<ProxyHeader>,
    admin_token: Option<String>,
    min_group_size: Option<u64>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    alert_interval: Option<u64>,
}

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid configuration: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl FileConfig {
    pub fn read(path: &std::path::Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

impl Config {
    /// Takes each setting from `file` where `unset(name)` says neither a
    /// flag nor an environment variable gave it.
    pub fn apply_file(
        &mut self,
        file: FileConfig,
        unset: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        fn take<T>(slot: &mut T, value: Option<T>, unset: bool) {
            if let (Some(value), true) = (value, unset) {
                *slot = value;
            }
        }
        take(&mut self.bind, file.bind, unset("bind"));
        take(&mut self.data_dir, file.data_dir, unset("data_dir"));
        take(&mut self.store, file.store.map(Some), unset("store"));
        take(
            &mut self.app_store,
            file.app_store.map(Some),
            unset("app_store"),
        );
        take(
            &mut self.store_memory_mb,
            file.store_memory_mb,
            unset("store_memory_mb"),
        );
        take(
            &mut self.store_checkpoint_mb,
            file.store_checkpoint_mb,
            unset("store_checkpoint_mb"),
        );
        take(&mut self.web_dir, file.web_dir.map(Some), unset("web_dir"));
        take(
            &mut self.public_url,
            file.public_url.map(Some),
            unset("public_url"),
        );
        take(
            &mut self.smtp_url,
            file.smtp_url.map(Some),
            unset("smtp_url"),
        );
        take(&mut self.mail_from, file.mail_from, unset("mail_from"));
        take(
            &mut self.alert_interval,
            file.alert_interval,
            unset("alert_interval"),
        );
        take(&mut self.demo, file.demo, unset("demo"));
        take(&mut self.seed_demo, file.seed_demo, unset("seed_demo"));
        take(
            &mut self.dashboard_telemetry,
            file.dashboard_telemetry,
            unset("dashboard_telemetry"),
        );
        take(
            &mut self.write_queue,
            file.write_queue,
            unset("write_queue"),
        );
        take(
            &mut self.rate_limit_visitor,
            file.rate_limit_visitor,
            unset("rate_limit_visitor"),
        );
        take(
            &mut self.rate_limit_site,
            file.rate_limit_site,
            unset("rate_limit_site"),
        );
        take(
            &mut self.rate_limit_client,
            file.rate_limit_client,
            unset("rate_limit_client"),
        );
        take(
            &mut self.rate_limit_sign_in,
            file.rate_limit_sign_in,
            unset("rate_limit_sign_in"),
        );
        take(
            &mut self.proxy_header,
            file.proxy_header,
            unset("proxy_header"),
        );
        if let (Some(specs), true) = (file.trusted_proxies, unset("trusted_proxies")) {
            self.trusted_proxies = specs
                .iter()
                .map(|spec| parse_network(spec))
                .collect::<Result<_, _>>()?;
        }
        take(
            &mut self.min_group_size,
            file.min_group_size,
            unset("min_group_size"),
        );
        take(
            &mut self.admin_token,
            file.admin_token.map(Some),
            unset("admin_token"),
        );
        if let (Some(specs), true) = (file.sites, unset("sites")) {
            self.sites = specs
                .iter()
                .map(|spec| SiteOrigins::parse(spec))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fills_what_flags_and_variables_left_unset() {
        let file = FileConfig::parse(
            r#"
            bind = "0.0.0.0:9000"
            data_dir = "/var/lib/sonde"
            sites = ["shop=https://shop.example,https://www.shop.example"]
            rate_limit_visitor = 20
            dashboard_telemetry = true
            trusted_proxies = ["10.0.0.0/8", "2001:db8::1"]
            proxy_header = "forwarded"
            "#,
        )
        .unwrap();
        let mut config = Config::ephemeral("data");
        // As if --data-dir had been given on the command line.
        config.apply_file(file, |name| name != "data_dir").unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("data"), "the flag wins");
        assert_eq!(config.sites[0].key, "shop");
        assert_eq!(config.sites[0].origins.len(), 2);
        assert_eq!(config.rate_limit_visitor, 20);
        assert!(config.dashboard_telemetry);
        assert!(!config.demo, "unchanged when the file says nothing");
        assert_eq!(
            config.trusted_proxies,
            vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::1/128".parse().unwrap()
            ]
        );
        assert_eq!(config.proxy_header, ProxyHeader::Forwarded);
    }

    #[test]
    fn dashboard_telemetry_is_off_unless_asked_for() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            config: Config,
        }
        let parse = |args: &[&str]| {
            <Cli as clap::Parser>::try_parse_from(
                std::iter::once("sonde").chain(args.iter().copied()),
            )
            .unwrap()
            .config
            .dashboard_telemetry
        };
        assert!(!parse(&[]));
        assert!(parse(&["--dashboard-telemetry"]));
        assert!(parse(&["--dashboard-telemetry", "true"]));
        assert!(!parse(&["--dashboard-telemetry=false"]));
    }

    #[test]
    fn a_mistake_in_the_file_is_named() {
        let unknown = FileConfig::parse("bnid = \"0.0.0.0:9000\"").unwrap_err();
        assert!(unknown.contains("bnid"), "{unknown}");
        let wrong_type = FileConfig::parse("write_queue = \"lots\"").unwrap_err();
        assert!(wrong_type.contains("write_queue"), "{wrong_type}");
        let bad_site = FileConfig::parse("sites = [\"shop\"]").unwrap();
        let err = Config::ephemeral("data")
            .apply_file(bad_site, |_| true)
            .unwrap_err();
        assert!(err.contains("KEY=ORIGIN"), "{err}");
        let bad_proxy = FileConfig::parse("trusted_proxies = [\"10.0.0.0/33\"]").unwrap();
        let err = Config::ephemeral("data")
            .apply_file(bad_proxy, |_| true)
            .unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}
