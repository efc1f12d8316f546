//! "Erase my data": deletes everything that can still be linked to the
//! visitor who asks. See [`sonde_protocol::erase`] for why that is all.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use sonde_protocol::{ApiError, EraseReceipt, EraseRequest};

use super::browser_body;
use super::delivery::Client;
use crate::error::AppError;
use crate::ingest::Delivery;
use crate::state::AppState;

/// `POST /api/erase`
#[utoipa::path(
    post,
    path = "/api/erase",
    tag = "collection",
    request_body(content = EraseRequest, description = "What this browser still holds: its session ids and consent id"),
    responses(
        (status = 200, description = "What was deleted", body = EraseReceipt),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A field missing, mistyped or beyond a limit", body = ApiError),
        (status = 429, description = "Too many requests from this client (Retry-After says when to come back)", body = ApiError),
    )
)]
pub async fn erase(
    State(app): State<AppState>,
    client: Client,
    delivery: Delivery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<EraseReceipt>, AppError> {
    client.check_rate(&app)?;
    let request: EraseRequest = browser_body::read(&headers, body).await?;
    request.validate()?;
    let site = browser_body::site_for(&app, &request.site, &headers)?;
    // Today's id for this browser, computed as at ingest: the same request
    // properties and today's salt give the same id.
    let visitor = delivery.visitor(app.salts(), &site)?;
    let store = app.stores().lifecycle.clone();
    let receipt = tokio::task::spawn_blocking(move || {
        store.erase(
            site.key(),
            visitor.id,
            visitor.day_start_ms,
            &request.sessions,
            request.consent_id.as_deref(),
        )
    })
    .await??;
    tracing::info!(
        site = %request.site,
        events = receipt.events_deleted,
        consent_records = receipt.consent_records_deleted,
        "erased a visitor's data on request"
    );
    Ok(Json(receipt))
}
