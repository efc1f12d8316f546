//! What the server learns of the browser behind a request besides what it
//! sends: when it arrived, its address, its user agent and Global Privacy
//! Control. This is the only code that reads the client's address and the
//! `User-Agent` header, so the rule "the address is used for the visitor
//! id and nowhere else" is checked here and in [`crate::ingest::Delivery`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::ingest::Delivery;

impl<S: Send + Sync> FromRequestParts<S> for Delivery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or(AppError::NoPeerAddress)?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Delivery {
            received: chrono::Utc::now(),
            peer,
            user_agent,
            gpc: super::browser_body::global_privacy_control(&parts.headers),
        })
    }
}
