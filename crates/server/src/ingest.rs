//! The ingest endpoint: batches of events from the collector.
//!
//! The order of checks is the order of cost: content type, body size, JSON
//! shape, protocol limits, site and origin; only then is the visitor id
//! computed and the batch written. Events whose category the batch's consent
//! does not grant are dropped here even though the collector never sends them.

use std::net::SocketAddr;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, ORIGIN, USER_AGENT};
use sonde_protocol::limits::MAX_BODY_BYTES;
use sonde_protocol::{Batch, EventData, IngestReceipt, scrub};

use crate::app::AppState;
use crate::error::AppError;
use crate::store::StoredEvent;
use crate::visitor::visitor_id;

/// `POST /api/ingest`
pub async fn ingest(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestReceipt>, AppError> {
    app.metrics().ingest_request();
    let result = accept(&app, peer, &headers, body).await;
    match &result {
        Ok(receipt) => app.metrics().accepted(
            receipt.accepted,
            receipt.duplicates,
            receipt.dropped_by_consent,
        ),
        Err(e) => app.metrics().rejected(e.code()),
    }
    result.map(Json)
}

async fn accept(
    app: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<IngestReceipt, AppError> {
    check_content_type(headers)?;
    let body = read_body(body).await?;
    let batch = parse_batch(&body)?;
    let now = chrono::Utc::now();
    batch.validate(now.timestamp_millis())?;

    let site = app
        .sites()
        .get(&batch.site)
        .ok_or_else(|| AppError::UnknownSite(batch.site.clone()))?;
    if let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok())
        && !site.allows_origin(origin)
    {
        return Err(AppError::OriginNotAllowed {
            origin: origin.to_owned(),
            site: site.key.clone(),
        });
    }

    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .unwrap_or_default();
    let salt = app
        .salts()
        .salt_for(now.date_naive())
        .map_err(AppError::Salt)?;
    let visitor = visitor_id(&salt, &site.key, peer.ip(), user_agent);

    let total = batch.events.len();
    let rows: Vec<StoredEvent> = batch
        .events
        .into_iter()
        .filter(|e| batch.consent.allows(e.data.category()))
        .map(|e| {
            let kind = e.data.kind();
            match e.data {
                EventData::PageView {
                    url,
                    referrer,
                    title,
                } => StoredEvent {
                    id: e.id,
                    site: batch.site.clone(),
                    kind,
                    ts: e.ts,
                    visitor_id: visitor,
                    session_id: e.session,
                    path: scrub::page_url(&url),
                    referrer_host: referrer.as_deref().and_then(scrub::referrer_host),
                    title,
                },
            }
        })
        .collect();
    let dropped_by_consent = total - rows.len();

    let store = app.store_handle();
    let outcome = tokio::task::spawn_blocking(move || store.write(&rows)).await??;
    Ok(IngestReceipt {
        accepted: outcome.inserted,
        duplicates: outcome.duplicates,
        dropped_by_consent,
    })
}

/// JSON, or `text/plain` because `navigator.sendBeacon` cannot send JSON
/// cross-origin without a preflight it does not make.
fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "text/plain" => Ok(()),
        _ => Err(AppError::UnsupportedContentType(content_type.to_owned())),
    }
}

async fn read_body(body: Body) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                AppError::BodyTooLarge
            } else {
                AppError::BodyUnreadable
            }
        })
}

/// Parses a batch, naming the offending field when the JSON is well formed
/// but does not match the schema.
fn parse_batch(body: &[u8]) -> Result<Batch, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let batch = serde_path_to_error::deserialize::<_, Batch>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            AppError::InvalidField {
                field: if path == "." { String::new() } else { path },
                message: inner.to_string(),
            }
        } else {
            AppError::MalformedJson(inner.to_string())
        }
    })?;
    de.end()
        .map_err(|e| AppError::MalformedJson(e.to_string()))?;
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_field_is_named() {
        let err = parse_batch(br#"{"site":"demo","events":[]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("consent"), "{err}");
    }

    #[test]
    fn a_wrong_type_deep_in_the_batch_names_its_path() {
        let body = br#"{"site":"demo","consent":{},"events":[{"id":"a","ts":"soon","kind":"page_view","url":"/"}]}"#;
        match parse_batch(body).unwrap_err() {
            AppError::InvalidField { field, .. } => assert_eq!(field, "events[0].ts"),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn broken_json_is_malformed() {
        assert_eq!(
            parse_batch(b"{\"site\":").unwrap_err().code(),
            "malformed_json"
        );
        let trailing = br#"{"site":"demo","consent":{},"events":[]} trailing"#;
        assert_eq!(parse_batch(trailing).unwrap_err().code(), "malformed_json");
    }
}
