//! What the server learns of the client behind a request besides what it
//! sends: when it arrived, its address, its user agent and Global Privacy
//! Control. This is the only code that reads the connection's address, the
//! forwarding headers ([`crate::client_address`], the trusted-proxy rule)
//! and the `User-Agent` header. The address goes into two keyed hashes
//! under the day's salt and nowhere else: the visitor id
//! ([`crate::ingest::Delivery::visitor`]) and the rate-limit key of a
//! client ([`Client`]).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::ingest::Delivery;
use crate::state::AppState;

/// The client's address, by the trusted-proxy rule.
fn client_address(parts: &Parts, app: &AppState) -> Result<std::net::IpAddr, AppError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
        .ok_or(AppError::NoPeerAddress)?;
    Ok(app.trusted_proxies().client(peer, &parts.headers))
}

/// Whether the request reached Sonde over HTTPS (through a trusted proxy
/// that says so): the dashboard then asks browsers to keep to HTTPS (HSTS).
pub fn over_https(
    app: &AppState,
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
) -> bool {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| app.trusted_proxies().https(*peer, headers))
}

impl FromRequestParts<AppState> for Delivery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Delivery {
            received: chrono::Utc::now(),
            peer: client_address(parts, app)?,
            user_agent,
            gpc: super::browser_body::global_privacy_control(&parts.headers),
        })
    }
}

/// A client, known by the keyed hash of its address that its rate limits
/// are kept under ([`crate::visitor::client_key`]).
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub key: u64,
}

impl Client {
    /// `Err` (429 with `Retry-After`) when the client has sent too many
    /// consent, erase or banner requests.
    pub fn check_rate(&self, app: &AppState) -> Result<(), AppError> {
        app.rate_limits()
            .check_client(self.key)
            .map_err(AppError::RateLimited)
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let address = client_address(parts, app)?;
        let key = app
            .salts()
            .client_key(address, chrono::Utc::now())
            .map_err(AppError::Salt)?;
        Ok(Client { key })
    }
}
