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

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use sonde_protocol::event::Partition;
use sonde_protocol::{ApiError, Batch, Event, Grants, IngestReceipt, RejectedEvent};

use crate::app::AppState;
use crate::browser_body;
use crate::error::AppError;
use crate::site::Site;
use crate::store::{StoredEvent, WriteOutcome};
use crate::user_agent::Agent;
use crate::visitor::{DailySalt, visitor_id};

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
    let received = chrono::Utc::now();
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
    let delivery = Delivery {
        received,
        peer: peer.ip(),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or_default(),
        gpc: browser_body::global_privacy_control(headers),
    };
    let mut receipt = store(app, &site, events, consent, &delivery, app.salts(), true).await?;
    receipt.rejected = refused
        .iter()
        .map(|(id, rejection)| RejectedEvent::new(id, rejection))
        .collect();
    Ok(receipt)
}

/// What the server knows of a delivery besides its batch.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    pub received: chrono::DateTime<chrono::Utc>,
    /// Used for the visitor id, and nowhere else.
    pub peer: IpAddr,
    pub user_agent: &'a str,
    /// `Sec-GPC: 1`.
    pub gpc: bool,
}

/// Stores a site's checked events as their delivery allows: bots are
/// counted and dropped; the visitor id is computed from `salts`; events the
/// consent does not grant are dropped; the rest are scrubbed and committed.
/// The ingest endpoint uses this with the server's salts, the demo traffic
/// generator with its own (it replays past days, whose salts are long gone).
pub async fn store(
    app: &AppState,
    site: &Site,
    events: Vec<Event>,
    mut consent: Grants,
    delivery: &Delivery<'_>,
    salts: &DailySalt,
    rate_limited: bool,
) -> Result<IngestReceipt, AppError> {
    // Global Privacy Control sent as a header withdraws marketing whatever
    // the page says: no campaign attribution is stored for this request.
    if delivery.gpc {
        consent.marketing = false;
    }
    let software = match app.user_agents().classify(delivery.user_agent) {
        Agent::Bot => {
            app.metrics().bot(site.key());
            let (store, key) = (app.store_handle(), site.key().to_owned());
            let day = delivery.received.with_timezone(&site.timezone).date_naive();
            tokio::task::spawn_blocking(move || store.count_bot_request(&key, day)).await??;
            return Ok(IngestReceipt {
                bot: true,
                ..IngestReceipt::default()
            });
        }
        Agent::Visitor(software) => software,
    };
    let day = salts
        .salt_for(site.timezone, delivery.received)
        .map_err(AppError::Salt)?;
    let visitor = visitor_id(&day.salt, site.key(), delivery.peer, delivery.user_agent);
    if rate_limited {
        app.rate_limits()
            .check_visitor(visitor)
            .map_err(AppError::RateLimited)?;
    }

    let total = events.len();
    let rows: Vec<StoredEvent> = events
        .into_iter()
        .filter(|e| consent.allows(e.data.category()))
        .map(|mut e| {
            e.strip_ungranted(consent);
            e.scrub();
            StoredEvent {
                id: e.id,
                site: site.key().to_owned(),
                ts: e.ts,
                visitor_id: visitor,
                session_id: e.session,
                path: e.url,
                software: software.clone(),
                data: e.data,
            }
        })
        .collect();
    let dropped_by_consent = total - rows.len();
    let outcome = if rows.is_empty() {
        WriteOutcome::default()
    } else {
        app.writer().write(rows).await?
    };
    Ok(IngestReceipt {
        accepted: outcome.inserted,
        duplicates: outcome.duplicates,
        dropped_by_consent,
        bot: false,
        rejected: Vec::new(),
    })
}
