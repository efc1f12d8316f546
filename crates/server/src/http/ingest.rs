//! The ingest endpoint: batches of events from the collector.
//!
//! The order of checks is the order of cost: content type, body size, JSON
//! shape, protocol limits, site and origin; only then is the visitor id
//! computed and the batch written. A batch is refused whole for what concerns
//! all of it (size, site, origin, an envelope beyond the limits, or no valid
//! event at all); otherwise the events that break a limit are refused one by
//! one, named in the answer, and the rest are stored. Events whose category
//! the batch's consent does not grant are dropped here even though the
//! collector never sends them.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use sonde_protocol::event::Partition;
use sonde_protocol::{ApiError, Batch, IngestReceipt, RejectedEvent};

use super::browser_body;
use crate::error::AppError;
use crate::ingest::{self, Delivery};
use crate::state::AppState;

/// `POST /api/ingest`
#[utoipa::path(
    post,
    path = "/api/ingest",
    tag = "collection",
    request_body(content = Batch, description = "Events of one site, with the consent they were collected under; `text/plain` is accepted too, for beacons"),
    responses(
        (status = 200, description = "Committed: what was stored, repeated, dropped by consent or refused", body = IngestReceipt),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "The origin may not send for this site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 413, description = "Body over 64 KiB, or too many events", body = ApiError),
        (status = 415, description = "Neither JSON nor text", body = ApiError),
        (status = 422, description = "A field missing or mistyped, or no valid event", body = ApiError),
        (status = 429, description = "Rate limited; see Retry-After", body = ApiError),
        (status = 503, description = "The write queue is full; see Retry-After", body = ApiError),
    )
)]
pub async fn ingest(
    State(app): State<AppState>,
    delivery: Delivery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestReceipt>, AppError> {
    app.metrics().ingest_request();
    let result = accept(&app, delivery, &headers, body).await;
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
    delivery: Delivery,
    headers: &HeaderMap,
    body: Body,
) -> Result<IngestReceipt, AppError> {
    let batch: Batch = browser_body::read(headers, body).await?;
    let received = delivery.received;
    let (site_key, consent) = (batch.site.clone(), batch.consent);
    let Partition {
        valid: events,
        refused,
    } = batch.partition(received.timestamp_millis())?;
    if events.is_empty()
        && let Some((_, rejection)) = refused.first()
    {
        // Nothing to accept: the batch is refused, for its first bad event.
        return Err(rejection.clone().into());
    }
    for (_, rejection) in &refused {
        app.metrics().rejected(rejection.code());
    }
    let site = browser_body::site_for(app, &site_key, headers)?;
    app.rate_limits()
        .check_site(site.key())
        .map_err(AppError::RateLimited)?;
    let mut receipt =
        ingest::store(app, &site, events, consent, &delivery, app.salts(), true).await?;
    receipt.rejected = refused
        .iter()
        .map(|(id, rejection)| RejectedEvent::new(id, rejection))
        .collect();
    Ok(receipt)
}
