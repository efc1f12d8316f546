//! What the operator can configure, from flags or `SONDE_*` environment
//! variables (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::site::Site;

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
    #[arg(long = "site", env = "SONDE_SITES", value_delimiter = ';', value_parser = Site::parse)]
    pub sites: Vec<Site>,

    /// Accept events for the demo site (key `demo`) from this server's own
    /// origin, where the demo shop is served.
    #[arg(long, env = "SONDE_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Seed the demo site with 30 days of demo data when it has none.
    #[arg(long, env = "SONDE_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,
}

impl Config {
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
        }
    }
}
