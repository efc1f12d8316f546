//! The application state and the router: which path goes where.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sonde_protocol::SiteSummary;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::site::{Site, Sites};
use crate::store::Store;
use crate::visitor::{DailySalt, visitor_id};
use crate::{StartError, consent, embed, erase, ingest, usage};

/// Key of the demo site, served on the server's own origin.
pub const DEMO_SITE: &str = "demo";

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Arc<Store>,
    salts: DailySalt,
    sites: Sites,
    metrics: Metrics,
}

impl AppState {
    /// Opens the store and salt in the data directory. `addr` is where the
    /// server listens, so the demo site can allow the server's own origin.
    pub fn open(config: &Config, addr: SocketAddr) -> Result<Self, StartError> {
        let store = Store::open(&config.data_dir.join("sonde.duckdb"))?;
        let salts = DailySalt::open(config.data_dir.join("salt")).map_err(StartError::Salt)?;
        let mut sites = config.sites.clone();
        if config.demo && !sites.iter().any(|s| s.key == DEMO_SITE) {
            sites.push(Site {
                key: DEMO_SITE.into(),
                origins: own_origins(addr),
            });
        }
        Ok(AppState(Arc::new(Inner {
            store: Arc::new(store),
            salts,
            sites: Sites::new(sites),
            metrics: Metrics::default(),
        })))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// A handle for blocking tasks.
    pub fn store_handle(&self) -> Arc<Store> {
        Arc::clone(&self.0.store)
    }

    pub fn salts(&self) -> &DailySalt {
        &self.0.salts
    }

    pub fn sites(&self) -> &Sites {
        &self.0.sites
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Today's anonymous id of the browser making a request to `site`: a
    /// keyed hash of the day's salt, the site, the peer address and the user
    /// agent. The address is used here and nowhere else.
    pub fn visitor_id(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        site: &str,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<i64, AppError> {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or_default();
        let salt = self
            .salts()
            .salt_for(now.date_naive())
            .map_err(AppError::Salt)?;
        Ok(visitor_id(&salt, site, peer.ip(), user_agent))
    }
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
    let api = Router::new()
        .route("/ingest", post(ingest::ingest))
        .route("/consent", post(consent::record))
        .route("/erase", post(erase::erase))
        .route_layer(browser_cors)
        .route("/usage", get(usage::usage))
        .route("/sites", get(list_sites))
        .fallback(|| async { AppError::NoRoute });
    let mut router = Router::new()
        .nest("/api", api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }));
    if let Some(dir) = web_dir {
        let banner_dir = dir.to_owned();
        // The loader and the collector load on every page of a customer's
        // site: let browsers keep them for an hour (a new release reaches
        // everyone within it). The banner is never cached (see `embed`).
        let cached = SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        router = router
            .route(
                &format!("/{}", embed::BANNER_SCRIPT),
                get(move |state, query| embed::banner_script(state, query, banner_dir)),
            )
            .route_service(
                "/sonde.js",
                ServiceBuilder::new()
                    .layer(cached.clone())
                    .service(ServeFile::new(dir.join("sonde.js"))),
            )
            .nest_service(
                "/sonde",
                ServiceBuilder::new()
                    .layer(cached)
                    .service(ServeDir::new(dir.join("sonde"))),
            )
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))));
    }
    router
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /api/sites`: the sites the dashboard can show.
async fn list_sites(
    axum::extract::State(app): axum::extract::State<AppState>,
) -> axum::Json<Vec<SiteSummary>> {
    axum::Json(
        app.sites()
            .keys()
            .into_iter()
            .map(|key| SiteSummary { key })
            .collect(),
    )
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(axum::extract::State(app): axum::extract::State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics().render(),
    )
}
