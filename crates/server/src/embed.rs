//! The embeddable build a customer's site loads with one script tag:
//! `/sonde.js` (the loader), the collector, and the banner, which is loaded
//! only when a decision is needed. Built by `cargo xtask build-web` into the
//! web directory's `sonde/` folder.
//!
//! The banner's script is served uncached and each download counts as one
//! banner impression for its site: the consent report's denominator, counted
//! in aggregate, with nothing about the visitor kept.

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;

/// Where the banner's module sits under the web directory.
pub const BANNER_SCRIPT: &str = "sonde/banner.js";

#[derive(Debug, Deserialize)]
pub struct BannerQuery {
    site: Option<String>,
}

/// `GET /sonde/banner.js?site=KEY`
pub async fn banner_script(
    State(app): State<AppState>,
    Query(query): Query<BannerQuery>,
    web_dir: PathBuf,
) -> Response {
    let script = match tokio::fs::read(web_dir.join(BANNER_SCRIPT)).await {
        Ok(script) => script,
        Err(e) => {
            tracing::error!(error = %e, "the banner is not built; run `cargo xtask build-web`");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    if let Some(site) = query.site.and_then(|key| app.sites().get(&key)) {
        let store = app.store_handle();
        // The site's own day, as for its events.
        let today = chrono::Utc::now()
            .with_timezone(&site.timezone)
            .date_naive();
        let counted =
            tokio::task::spawn_blocking(move || store.count_banner_impression(site.key(), today))
                .await;
        if !matches!(counted, Ok(Ok(()))) {
            tracing::warn!("a banner impression could not be counted");
        }
    }
    let mut response = script.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
