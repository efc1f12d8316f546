//! The consent endpoint: one anonymous record per decision, under
//! `necessary`, on an endpoint of its own so it is never mixed with events.
//! No visitor id is computed here: the record is about a decision, not a
//! person.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use sonde_protocol::consent_report::{ConsentReport, ConsentReportQuery};
use sonde_protocol::{ApiError, ConsentReceipt, ConsentRecord};

use crate::app::AppState;
use crate::auth::Reader;
use crate::browser_body;
use crate::error::AppError;
use crate::query::{self, Params};

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

/// `GET /api/consent-report?site=…&from=…&to=…`
#[utoipa::path(
    get,
    path = "/api/consent-report",
    tag = "dashboard",
    params(ConsentReportQuery),
    responses(
        (status = 200, description = "Banners shown, decisions, grant rates, GPC share", body = ConsentReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 403, description = "A share link for another site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn report(
    State(app): State<AppState>,
    reader: Reader,
    Params(q): Params<ConsentReportQuery>,
) -> Result<Json<ConsentReport>, AppError> {
    query::check_period(q.from, q.to)?;
    let site = query::site(&app, &reader, &q.site)?;
    // Banner impressions are counted per day of the site's calendar.
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&site.timezone)
            .date_naive()
    };
    let days = (day(q.from), day(q.to - 1));
    let store = app.store_handle();
    let report =
        tokio::task::spawn_blocking(move || store.consent_report(&q.site, q.from, q.to, days))
            .await??;
    Ok(Json(report))
}
