//! The consent endpoint: one anonymous record per decision, under
//! `necessary`, on an endpoint of its own so it is never mixed with events.
//! No visitor id is computed here: the record is about a decision, not a
//! person.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use sonde_protocol::{ApiError, ConsentReceipt, ConsentRecord};

use crate::app::AppState;
use crate::browser_body;
use crate::error::AppError;

/// `POST /api/consent`
#[utoipa::path(
    post,
    path = "/api/consent",
    tag = "collection",
    request_body(content = ConsentRecord, description = "One anonymous consent decision"),
    responses(
        (status = 200, description = "Stored, or already stored by an earlier send", body = ConsentReceipt),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A field missing, mistyped or beyond a limit", body = ApiError),
    )
)]
pub async fn record(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ConsentReceipt>, AppError> {
    let mut record: ConsentRecord = browser_body::read(&headers, body).await?;
    record.validate(chrono::Utc::now().timestamp_millis())?;
    // A browser may send Global Privacy Control as a header without
    // exposing it to scripts; the record says it was on either way.
    record.gpc |= browser_body::global_privacy_control(&headers);
    browser_body::site_for(&app, &record.site, &headers)?;
    let store = app.store_handle();
    let stored = tokio::task::spawn_blocking(move || store.record_consent(&record)).await??;
    Ok(Json(ConsentReceipt { stored }))
}
