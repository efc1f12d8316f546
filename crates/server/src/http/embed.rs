//! What a customer's page loads with one script tag, and what the loaded
//! banner asks for.
//!
//! - `/sonde.js`, the loader, at a fixed URL: cached briefly
//!   ([`LOADER_CACHE`]), as it names the current builds of the others.
//! - `/sonde/…`, the collector's and the banner's files, named by a hash of
//!   their content (`collector-3fa9c1d2e4b5a607.wasm`): cached for a year and
//!   never revalidated ([`HASHED_CACHE`]); a new build has new names.
//!
//! Both come precompressed from the build (`NAME.br`, `NAME.gz` beside each
//! file) and are sent in the encoding the browser prefers (brotli, then
//! gzip, else as they are), with `Vary: Accept-Encoding`.
//!
//! - `GET /api/banner/{site}`: the site's wording for the banner
//!   ([`BannerSettings`]), never cached. Each download counts one banner
//!   impression for the site on its day: the consent report's denominator,
//!   counted in aggregate, with nothing about the visitor kept. The banner
//!   code itself stays cacheable.
//! - `GET /api/dashboard-telemetry`: whether the dashboard loads the embed
//!   for its own use, and under which site.

use std::path::Path;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use sonde_protocol::{ApiError, BannerSettings, DashboardTelemetry};
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeader;

use super::delivery::Client;
use crate::error::AppError;
use crate::ingest::Delivery;
use crate::state::AppState;
use crate::user_agent::Agent;

/// `Cache-Control` of the loader: five minutes fresh, then served from the
/// cache while it is revalidated, for up to a day.
pub const LOADER_CACHE: &str = "public, max-age=300, stale-while-revalidate=86400";
/// `Cache-Control` of the content-hashed files: a year, never revalidated.
pub const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

type FileResponse = Response<ServeFileSystemResponseBody>;
type MakeHeader = fn(&FileResponse) -> Option<HeaderValue>;
/// A file service with its `Cache-Control` and `Vary` set.
pub type CachedFiles<S> = SetResponseHeader<SetResponseHeader<S, MakeHeader>, MakeHeader>;

/// `GET /sonde.js` from `web_dir`.
pub fn loader(web_dir: &Path) -> CachedFiles<ServeFile> {
    cached(
        ServeFile::new(web_dir.join("sonde.js"))
            .precompressed_br()
            .precompressed_gzip(),
        |res| cacheable(res).then_some(HeaderValue::from_static(LOADER_CACHE)),
    )
}

/// `GET /sonde/NAME` from `web_dir/sonde`.
pub fn hashed_files(web_dir: &Path) -> CachedFiles<ServeDir> {
    cached(
        ServeDir::new(web_dir.join("sonde"))
            .precompressed_br()
            .precompressed_gzip(),
        |res| cacheable(res).then_some(HeaderValue::from_static(HASHED_CACHE)),
    )
}

fn cached<S>(files: S, cache_control: MakeHeader) -> CachedFiles<S> {
    let vary: MakeHeader = |_| Some(HeaderValue::from_static("accept-encoding"));
    SetResponseHeader::if_not_present(
        SetResponseHeader::overriding(files, header::CACHE_CONTROL, cache_control),
        header::VARY,
        vary,
    )
}

/// A file, a part of one, or "unchanged": never a miss, which must not
/// stay in a cache once the file is there.
fn cacheable(res: &FileResponse) -> bool {
    res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED
}

/// Why the banner downloads its wording.
#[derive(Debug, Default, Deserialize)]
pub struct BannerQuery {
    /// `settings`: the visitor reopened their choices. That is not a banner
    /// shown for a decision, so it is not counted as an impression.
    #[serde(default)]
    reason: Option<String>,
}

/// `GET /api/banner/{site}`: the banner's wording for the site; counts one
/// banner impression, unless the visitor opened the settings.
#[utoipa::path(
    get,
    path = "/api/banner/{site}",
    tag = "collection",
    params(
        ("site" = String, Path, description = "The site's key (the script tag's `data-site`)"),
        ("reason" = Option<String>, Query, description = "`settings` when the visitor reopened their choices: not counted as an impression"),
    ),
    responses(
        (status = 200, description = "The site's banner wording (each part `null` when the banner's built-in text applies); sent with `Cache-Control: no-store`, readable from the site's allowed origins (CORS). Each download counts one banner impression for the site's current day, with nothing about the visitor kept.", body = BannerSettings),
        (status = 404, description = "No such site", body = ApiError),
        (status = 429, description = "Too many requests from this client (Retry-After says when to come back)", body = ApiError),
    )
)]
pub async fn banner_settings(
    State(app): State<AppState>,
    client: Client,
    delivery: Delivery,
    method: Method,
    UrlPath(key): UrlPath<String>,
    Query(query): Query<BannerQuery>,
) -> axum::response::Response {
    if let Err(limited) = client.check_rate(&app) {
        return limited.into_response();
    }
    let mut response = match app.sites().get(&key) {
        None => AppError::UnknownSite(key).into_response(),
        Some(site) => {
            let banner = site.settings.banner.clone();
            // A HEAD request shows nothing to anyone; reopened settings
            // are not a banner asking for a decision.
            let settings = query.reason.as_deref() == Some("settings");
            let bot = matches!(app.user_agents().classify(&delivery.user_agent), Agent::Bot);
            if method == Method::GET && !settings && bot {
                // A crawler fetching the wording saw no banner.
                if crate::ingest::count_bot(&app, &site, &delivery)
                    .await
                    .is_err()
                {
                    tracing::warn!("a bot request could not be counted");
                }
            } else if method == Method::GET && !settings {
                let store = app.stores().ingest.clone();
                // The site's own day, as for its events.
                let today = chrono::Utc::now()
                    .with_timezone(&site.timezone)
                    .date_naive();
                let counted = tokio::task::spawn_blocking(move || {
                    store.count_banner_impression(site.key(), today)
                })
                .await;
                if !matches!(counted, Ok(Ok(()))) {
                    tracing::warn!("a banner impression could not be counted");
                }
            }
            Json(banner).into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/dashboard-telemetry`: the site the dashboard loads the embed
/// for, or `null` when the operator left dashboard telemetry off.
#[utoipa::path(
    get,
    path = "/api/dashboard-telemetry",
    tag = "collection",
    responses(
        (status = 200, description = "`{\"site\": \"sonde-dashboard\"}` when the dashboard counts its own use (`--dashboard-telemetry`), `{\"site\": null}` when not", body = DashboardTelemetry),
    )
)]
pub async fn dashboard_telemetry(State(app): State<AppState>) -> Json<DashboardTelemetry> {
    Json(DashboardTelemetry {
        site: app.dashboard_site().map(str::to_owned),
    })
}
