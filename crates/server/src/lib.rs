//! Sonde's server: receives consented telemetry from the collector, anonymizes
//! it, stores it in an embedded DuckDB file, answers the dashboard's queries
//! and serves the built web app, all from one origin.
//!
//! The layers point one way (see ARCHITECTURE.md):
//!
//! - [`routes`] (the one route list) and [`http`] (thin handlers and the
//!   extractors they share) receive requests;
//! - [`state`] holds what handlers share; [`ingest`] (the pipeline from a
//!   checked batch to the writer), [`demo`], [`retention`] and [`rollup`]
//!   are the services;
//! - [`reports`] says what every report means, in pure Rust;
//! - [`store`] keeps events, consents, sites and accounts behind traits,
//!   and [`writer`] commits to it in groups.
//!
//! Beside them: [`config`], [`auth`] (who may read and change what),
//! [`token`] (random tokens and their hashes), [`visitor`] (anonymous ids,
//! daily salts), [`user_agent`], [`site`], [`mail`], [`rate_limit`],
//! [`metrics`], [`openapi`], and [`error`], the one place errors become
//! HTTP responses.

pub mod alerts;
pub mod auth;
pub mod client_address;
pub mod config;
pub mod demo;
pub mod digests;
pub mod error;
pub mod http;
pub mod imported;
pub mod ingest;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod raw_events;
pub mod reports;
pub mod retention;
pub mod rollup;
pub mod routes;
pub mod salt_rotation;
pub mod site;
pub mod state;
pub mod store;
pub mod token;
pub mod transfer;
pub mod user_agent;
pub mod visitor;
pub mod writer;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] state::OpenError),
    #[error("cannot create the first admin: {0}")]
    FirstAdmin(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot deliver demo traffic: {0}")]
    Demo(#[from] demo::DemoError),
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stores: store::Stores,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    writer: writer::WriterThread,
    first_admin_password: Option<String>,
}

impl Server {
    /// The password of the admin made at this start because no one could
    /// sign in yet; shown once, as only its hash is kept.
    pub fn first_admin_password(&self) -> Option<&str> {
        self.first_admin_password.as_deref()
    }

    /// The address the server listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the dashboard and API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stores the server writes to, for a process that embeds the
    /// server (the browser tests look at what arrived through them).
    pub fn stores(&self) -> &store::Stores {
        &self.stores
    }

    /// Stops accepting connections, lets in-flight requests finish, commits
    /// what they queued, and waits for all of it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        let served = self
            .task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The router, and with it the last handle on the writer's queue, is
        // gone: the writer drains the queue and stops.
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(std::io::Error::other)?;
        served
    }

    /// Waits until the server stops on its own (it does not, short of an I/O error).
    pub async fn wait(self) -> std::io::Result<()> {
        let _keep_open = self.shutdown;
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Opens the data directory, seeds demo data if asked and the store is new,
/// binds the listener and starts serving in the background.
pub async fn start(config: Config) -> Result<Server, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    // Opening the stores blocks (PostgreSQL's client may not run on the
    // server's runtime).
    let opening = config.clone();
    let (state, writer, first_admin_password) = tokio::task::spawn_blocking(move || {
        let (state, writer) = state::AppState::open(&opening, addr)?;
        let password = auth::accounts::first_admin(state.stores().accounts.as_ref())?;
        Ok::<_, StartError>((state, writer, password))
    })
    .await
    .expect("opening the stores does not panic")?;
    if config.demo
        && config.seed_demo
        && let Some(summary) = demo::seed_if_empty(&state, demo::Plan::default()).await?
    {
        tracing::info!(
            visitors = summary.visitors,
            events = summary.events_stored,
            "delivered demo traffic for site \"demo\""
        );
    }
    let stores = state.stores().clone();
    forget_idle_rate_limits(std::sync::Arc::clone(state.rate_limits()));
    retention::run_periodically(&stores.lifecycle, state.sites());
    rollup::run_periodically(&stores.lifecycle, &stores.saved, state.sites());
    salt_rotation::run_at_midnights(state.salts(), state.sites());
    let postbox = state.postbox().clone();
    alerts::run_periodically(
        stores.clone(),
        Arc::clone(state.sites()),
        alerts::notify::Notifier::new(postbox.mailer.clone()),
        postbox.clone(),
        alerts::AlertSettings {
            interval: std::time::Duration::from_secs(config.alert_interval.max(1)),
            dashboard: postbox.dashboard,
            min_group_size: config.min_group_size.max(1),
            process: format!(
                "{addr}/{}/{}",
                std::process::id(),
                &crate::token::random_token()[..8]
            ),
        },
    );
    if config.app_store.is_some() {
        site::follow_shared_store(Arc::clone(&stores.sites), state.sites());
    }
    let router = routes::router(state, config.web_dir.as_deref(), config.embedded_web);
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = on_shutdown.await;
        })
        .await
    });
    Ok(Server {
        addr,
        stores,
        shutdown,
        task,
        writer,
        first_admin_password,
    })
}

/// Every minute, drops the rate-limit state of visitors who went quiet. The
/// task holds only the limiter, so it does not keep the server alive.
fn forget_idle_rate_limits(limits: Arc<rate_limit::RateLimits>) {
    let limits = Arc::downgrade(&limits);
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            limits.forget_idle();
        }
    });
}

/// The layers as ARCHITECTURE.md draws them, checked on the source: which
/// top-level module may name which, and no cycle among them.
#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module and the other top-level modules its code
    /// (outside comments and tests) names through `crate::`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut pending = vec![src.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&src).unwrap().to_str().unwrap();
                let top = relative.split('/').next().unwrap().trim_end_matches(".rs");
                if matches!(top, "lib" | "main") || !relative.ends_with(".rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                let names = graph.entry(top.to_owned()).or_default();
                for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for (at, _) in line.match_indices("crate::") {
                        let rest = &line[at + "crate::".len()..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != top {
                            names.insert(name);
                        }
                    }
                }
            }
        }
        graph
    }

    #[test]
    fn report_semantics_import_nothing_of_the_server() {
        assert_eq!(imports()["reports"], BTreeSet::new());
    }

    #[test]
    fn lower_layers_do_not_reach_up() {
        let graph = imports();
        for (module, names) in &graph {
            if module != "routes" {
                assert!(!names.contains("routes"), "{module} names the router");
            }
            if !matches!(module.as_str(), "routes" | "http") {
                assert!(!names.contains("http"), "{module} names a handler");
            }
        }
        for below in ["store", "state", "ingest", "writer", "auth"] {
            assert!(!graph[below].contains("demo"), "{below} names the demo");
        }
        for name in &graph["store"] {
            assert!(
                matches!(name.as_str(), "reports" | "user_agent"),
                "the store names {name}"
            );
        }
    }

    #[test]
    fn the_modules_import_each_other_without_a_cycle() {
        let graph = imports();
        // Depth-first, with the path so far: a module met again on it closes a cycle.
        fn visit<'a>(
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            module: &'a str,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if done.contains(module) {
                return;
            }
            assert!(!path.contains(&module), "import cycle: {path:?} → {module}");
            path.push(module);
            for next in graph.get(module).into_iter().flatten() {
                visit(graph, next, path, done);
            }
            path.pop();
            done.insert(module);
        }
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            visit(&graph, module, &mut Vec::new(), &mut done);
        }
    }
}
