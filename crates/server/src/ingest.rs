//! The ingest endpoint: batches of events from the collector.
//!
//! The order of checks is the order of cost: content type, body size, JSON
//! shape, protocol limits, site and origin; only then is the visitor id
//! computed and the batch written. Events whose category the batch's consent
//! does not grant are dropped here even though the collector never sends them.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use sonde_protocol::{Batch, IngestReceipt};

use crate::app::AppState;
use crate::browser_body;
use crate::error::AppError;
use crate::store::StoredEvent;

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
    let batch: Batch = browser_body::read(headers, body).await?;
    let now = chrono::Utc::now();
    batch.validate(now.timestamp_millis())?;
    let site = browser_body::site_for(app, &batch.site, headers)?;
    let visitor = app.visitor_id(now, &site.key, peer, headers)?;

    let total = batch.events.len();
    let rows: Vec<StoredEvent> = batch
        .events
        .into_iter()
        .filter(|e| batch.consent.allows(e.data.category()))
        .map(|mut e| {
            e.strip_ungranted(batch.consent);
            e.scrub();
            StoredEvent {
                id: e.id,
                site: site.key.clone(),
                ts: e.ts,
                visitor_id: visitor,
                session_id: e.session,
                path: e.url,
                data: e.data,
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
