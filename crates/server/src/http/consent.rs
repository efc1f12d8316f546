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

use super::browser_body;
use super::delivery::Client;
use super::report_query::Report;
use crate::error::AppError;
use crate::ingest::Delivery;
use crate::reports::Scope;
use crate::reports::consent::add_insights;
use crate::state::AppState;
use crate::user_agent::Agent;

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
        (status = 429, description = "Too many requests from this client (Retry-After says when to come back)", body = ApiError),
    )
)]
pub async fn record(
    State(app): State<AppState>,
    client: Client,
    delivery: Delivery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ConsentReceipt>, AppError> {
    client.check_rate(&app)?;
    let mut record: ConsentRecord = browser_body::read(&headers, body).await?;
    record.validate(delivery.received.timestamp_millis())?;
    // A browser may send Global Privacy Control as a header without
    // exposing it to scripts; the record says it was on either way.
    record.gpc |= delivery.gpc;
    let site = browser_body::site_for(&app, &record.site, &headers)?;
    // The device class only: the grant rates by device need no more. A
    // bot's "decision" would only inflate the consent report.
    let device = match app.user_agents().classify(&delivery.user_agent) {
        Agent::Visitor(software) => software.device.as_str(),
        Agent::Bot => {
            crate::ingest::count_bot(&app, &site, &delivery).await?;
            return Ok(Json(ConsentReceipt { stored: false }));
        }
    };
    let store = app.stores().ingest.clone();
    let stored =
        tokio::task::spawn_blocking(move || store.record_consent(&record, device)).await??;
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
pub async fn report(report: Report<ConsentReportQuery>) -> Result<Json<ConsentReport>, AppError> {
    report
        .answer(|q, site, stores| {
            let store = &stores.reports;
            // Banner impressions are counted per day of the site's calendar.
            let day = |ms: i64| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .with_timezone(&site.timezone)
                    .date_naive()
            };
            let consent_of = |from: i64, to: i64| -> Result<ConsentReport, AppError> {
                let mut report =
                    store.consent_report(&q.site, from, to, (day(from), day(to - 1)))?;
                let decisions = store.consent_tallies(&q.site, from, to, site.timezone)?;
                let counted =
                    store.visit_count(&Scope::unfiltered(&q.site, from, to), site.timezone)?;
                add_insights(&mut report, &decisions, counted);
                Ok(report)
            };
            let mut report = consent_of(q.from, q.to)?;
            if q.compare {
                let (from, to) = q.versus.period(q.from, q.to);
                let before = consent_of(from, to)?;
                report.previous = Some(before.totals());
            }
            Ok(report)
        })
        .await
}
