//! The application state and the router: which path goes where.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use sonde_protocol::{DASHBOARD_SITE, SiteSettings, SiteSummary};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::auth::{self, Reader};
use crate::config::{Config, SiteOrigins};
use crate::error::AppError;
use crate::metrics::{Gauges, Metrics};
use crate::rate_limit::RateLimits;
use crate::site::{Site, Sites};
use crate::store::{AccountStore, DuckDbStore, EventStore, SavedStore};
use crate::user_agent::Classifier;
use crate::visitor::{DailySalt, visitor_id};
use crate::writer::{Writer, WriterThread};
use crate::{
    StartError, admin, consent, consent_log, conversions, embed, erase, errors, funnel, ingest,
    openapi, performance, saved, usage,
};

/// Key of the demo site, served on the server's own origin.
pub const DEMO_SITE: &str = "demo";

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Arc<dyn EventStore>,
    accounts: Arc<dyn AccountStore>,
    saved: Arc<dyn SavedStore>,
    writer: Writer,
    salts: DailySalt,
    sites: Arc<Sites>,
    metrics: Arc<Metrics>,
    user_agents: Classifier,
    rate_limits: Arc<RateLimits>,
    admin_token: Option<String>,
    min_group_size: u64,
    dashboard_telemetry: bool,
}

impl AppState {
    /// Opens the store and salt in the data directory and starts the writer,
    /// whose thread the caller joins after the last request (see
    /// [`crate::Server::shutdown`]). `addr` is where the server listens, so
    /// the demo site can allow the server's own origin.
    pub fn open(config: &Config, addr: SocketAddr) -> Result<(Self, WriterThread), StartError> {
        let duckdb = Arc::new(DuckDbStore::open(&config.data_dir.join("sonde.duckdb"))?);
        let (store, accounts, saved): (
            Arc<dyn EventStore>,
            Arc<dyn AccountStore>,
            Arc<dyn SavedStore>,
        ) = (duckdb.clone(), duckdb.clone(), duckdb);
        let metrics = Arc::new(Metrics::default());
        let (writer, writer_thread) =
            Writer::start(Arc::clone(&store), config.write_queue, Arc::clone(&metrics))
                .map_err(StartError::Writer)?;
        let salts = DailySalt::open(config.data_dir.join("salt")).map_err(StartError::Salt)?;
        let sites = Arc::new(load_sites(store.as_ref(), config, addr)?);
        let state = AppState(Arc::new(Inner {
            store,
            accounts,
            saved,
            writer,
            salts,
            sites,
            metrics,
            user_agents: Classifier::default(),
            rate_limits: Arc::new(RateLimits::new(config.rate_limits())),
            admin_token: config.admin_token.clone().filter(|t| !t.is_empty()),
            min_group_size: config.min_group_size.max(1),
            dashboard_telemetry: config.dashboard_telemetry,
        }));
        Ok((state, writer_thread))
    }

    pub fn store(&self) -> &dyn EventStore {
        self.0.store.as_ref()
    }

    /// A handle for blocking tasks.
    pub fn store_handle(&self) -> Arc<dyn EventStore> {
        Arc::clone(&self.0.store)
    }

    /// People, sessions and share links, for blocking tasks.
    pub fn accounts_handle(&self) -> Arc<dyn AccountStore> {
        Arc::clone(&self.0.accounts)
    }

    /// Saved funnels and goals, for blocking tasks.
    pub fn saved_handle(&self) -> Arc<dyn SavedStore> {
        Arc::clone(&self.0.saved)
    }

    /// Where ingest hands its rows to be committed.
    pub fn writer(&self) -> &Writer {
        &self.0.writer
    }

    pub fn salts(&self) -> &DailySalt {
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

    /// Tells bots from visitors' browsers, systems and devices.
    pub fn user_agents(&self) -> &Classifier {
        &self.0.user_agents
    }

    /// Today's anonymous id of the browser making a request to `site`: a
    /// keyed hash of the site's day's salt, the site, the peer address and
    /// the user agent. The address is used here and nowhere else.
    pub fn visitor(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        site: &Site,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<Visitor, AppError> {
        let day = self
            .salts()
            .salt_for(site.timezone, now)
            .map_err(AppError::Salt)?;
        Ok(Visitor {
            id: visitor_id(&day.salt, site.key(), peer.ip(), user_agent(headers)),
            day_start_ms: day.day_start_ms,
        })
    }
}

/// A request's visitor, as far as Sonde can tell on the site's current day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub id: i64,
    /// When the site's day began (ms since the epoch): the id links nothing
    /// from before.
    pub day_start_ms: i64,
}

/// The sites kept in the store, with the origins the configuration names
/// (`--site`, and the demo and dashboard sites on this server's own origin)
/// applied and saved: a configured site keeps its other settings from the
/// store.
fn load_sites(
    store: &dyn EventStore,
    config: &Config,
    addr: SocketAddr,
) -> Result<Sites, StartError> {
    let mut stored: std::collections::HashMap<String, SiteSettings> = store
        .sites()?
        .into_iter()
        .map(|s| (s.key.clone(), s))
        .collect();
    // Each with the name a new site gets.
    let mut configured: Vec<(SiteOrigins, &str)> =
        config.sites.iter().map(|s| (s.clone(), "")).collect();
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
        if on && !configured.iter().any(|(s, _)| s.key == key) {
            configured.push((
                SiteOrigins {
                    key: key.into(),
                    origins: own_origins(addr),
                },
                name,
            ));
        }
    }
    for (SiteOrigins { key, origins }, name) in configured {
        let settings = match stored.remove(&key) {
            Some(existing) => SiteSettings {
                origins,
                ..existing
            },
            None => SiteSettings {
                name: name.to_owned(),
                ..SiteSettings::new(&key, origins)
            },
        };
        let site = Site::new(settings).map_err(|e| StartError::Site(key.clone(), e))?;
        store.put_site(&site.settings)?;
        stored.insert(key, site.settings);
    }
    let sites = stored
        .into_values()
        .map(|settings| {
            let key = settings.key.clone();
            Site::new(settings).map_err(|e| StartError::Site(key, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sites::new(sites))
}

fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .unwrap_or_default()
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

/// All routes: the API under `/api`, operations endpoints, and the web app
/// (with `index.html` for any other path, so client-side routes load).
pub fn router(state: AppState, web_dir: Option<&Path>) -> Router {
    // The collector posts from customers' origins, as CORS "simple"
    // requests (text/plain); only configured origins may read the answers.
    let browser_cors = {
        let state = state.clone();
        CorsLayer::new()
            .allow_methods([Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                origin
                    .to_str()
                    .is_ok_and(|o| state.sites().any_allows_origin(o))
            }))
    };
    // The banner's settings: answered to the origins its site allows.
    let banner_cors = {
        let state = state.clone();
        CorsLayer::new()
            .allow_methods([Method::GET])
            .allow_origin(AllowOrigin::predicate(
                move |origin: &HeaderValue, parts: &axum::http::request::Parts| {
                    let key = parts.uri.path().rsplit('/').next().unwrap_or_default();
                    origin.to_str().is_ok_and(|o| {
                        state
                            .sites()
                            .get(key)
                            .is_some_and(|site| site.allows_origin(o))
                    })
                },
            ))
    };
    let api = Router::new()
        .route("/ingest", post(ingest::ingest))
        .route("/consent", post(consent::record))
        .route("/erase", post(erase::erase))
        .route_layer(browser_cors)
        // The banner downloads its site's wording from the customer's page:
        // a plain cross-origin GET, readable by the site's own origins.
        .route(
            "/banner/{site}",
            get(embed::banner_settings).layer(banner_cors),
        )
        .route("/dashboard-telemetry", get(embed::dashboard_telemetry))
        .route("/usage", get(usage::usage))
        .route("/overview", get(usage::overview))
        .route("/realtime", get(usage::realtime))
        .route("/funnel", post(funnel::funnel))
        .route("/consent-report", get(consent::report))
        .route("/errors", get(errors::errors))
        .route("/consent-log", get(consent_log::export))
        .route("/conversions", get(conversions::conversions))
        .route("/performance", get(performance::performance))
        .route("/sites", get(list_sites))
        .route(
            "/session",
            post(auth::sign_in::sign_in)
                .get(auth::sign_in::current)
                .delete(auth::sign_in::sign_out),
        )
        .route("/users", get(auth::users::list).post(auth::users::put_user))
        .route("/users/{username}", delete(auth::users::remove))
        .route(
            "/sites/{site}/share-links",
            get(auth::share_links::list).post(auth::share_links::create),
        )
        .route("/share-links/{id}", delete(auth::share_links::revoke))
        .route(
            "/sites/{site}/funnels",
            get(saved::list_funnels).post(saved::create_funnel),
        )
        .route(
            "/funnels/{id}",
            get(saved::get_funnel)
                .put(saved::update_funnel)
                .delete(saved::delete_funnel),
        )
        .route(
            "/sites/{site}/goals",
            get(saved::list_goals).post(saved::create_goal),
        )
        .route(
            "/goals/{id}",
            axum::routing::put(saved::update_goal).delete(saved::delete_goal),
        )
        .route("/openapi.json", get(openapi::document))
        .nest("/admin", admin::routes())
        .fallback(|| async { AppError::NoRoute });
    let mut router = Router::new()
        .nest("/api", api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    if let Some(dir) = web_dir {
        router = router
            .route_service("/sonde.js", embed::loader(dir))
            .nest_service("/sonde", embed::hashed_files(dir))
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))));
    }
    // Compresses what is not compressed yet (the dashboard, the API); the
    // embed's files come precompressed and are left alone.
    router
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /api/sites`: the sites the reader may see.
#[utoipa::path(
    get,
    path = "/api/sites",
    tag = "dashboard",
    responses(
        (status = 200, description = "The sites the reader may see", body = [SiteSummary]),
        (status = 401, description = "Not signed in and no share link", body = sonde_protocol::ApiError),
    )
)]
pub(crate) async fn list_sites(
    axum::extract::State(app): axum::extract::State<AppState>,
    reader: Reader,
) -> axum::Json<Vec<SiteSummary>> {
    axum::Json(
        app.sites()
            .keys()
            .into_iter()
            .filter(|key| reader.may_read(key))
            .map(|key| SiteSummary { key })
            .collect(),
    )
}

/// `GET /readyz`: ready to take events: the store answers and the writer runs.
async fn readyz(axum::extract::State(app): axum::extract::State<AppState>) -> impl IntoResponse {
    let store = app.store_handle();
    let store_ok = tokio::task::spawn_blocking(move || store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    if store_ok && app.writer().is_running() {
        (axum::http::StatusCode::OK, "ready")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `GET /metrics`: Prometheus (OpenMetrics) text format.
async fn metrics(axum::extract::State(app): axum::extract::State<AppState>) -> impl IntoResponse {
    let gauges = Gauges {
        queue_depth: app.writer().depth(),
        store_bytes: app.store().size_on_disk(),
    };
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        app.metrics().render(gauges),
    )
}
