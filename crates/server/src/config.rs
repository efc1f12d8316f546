//! What the operator can configure, from flags or `SONDE_*` environment
//! variables (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::rate_limit::Limits;
use crate::site::Site;

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
    /// Address and port to listen on.
    #[arg(long, env = "SONDE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory holding the DuckDB file and the daily salt.
    #[arg(long, env = "SONDE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory of the built web app (Trunk's `dist`); omit to serve the API only.
    #[arg(long, env = "SONDE_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

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

    /// The token the admin API (`/api/admin`) asks for as a bearer token;
    /// without one the admin API is off.
    #[arg(long, env = "SONDE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Seed the demo site with 30 days of demo data when it has none.
    #[arg(long, env = "SONDE_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,
}

impl Config {
    pub fn rate_limits(&self) -> Limits {
        Limits {
            per_visitor: self.rate_limit_visitor,
            per_site: self.rate_limit_site,
        }
    }

    /// A configuration for tests and embedding: the given data directory, an
    /// ephemeral loopback port, no web app, no demo data.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            web_dir: None,
            sites: Vec::new(),
            demo: false,
            seed_demo: false,
            write_queue: crate::writer::DEFAULT_QUEUE_CAPACITY,
            admin_token: None,
            rate_limit_visitor: 5,
            rate_limit_site: 5_000,
        }
    }
}
