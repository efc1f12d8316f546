//! The ingest pipeline, after a batch is read and checked: bots are counted
//! and dropped, the visitor id is computed, events the consent does not
//! grant are dropped, the rest are scrubbed again and handed to the writer.
//! The ingest endpoint ([`crate::http::ingest`]) runs it with the server's
//! salts, the demo traffic generator ([`crate::demo`]) with its own (it
//! replays past days, whose salts are long gone).

use std::net::IpAddr;

use sonde_protocol::{Event, Grants, IngestReceipt};

use crate::error::AppError;
use crate::site::Site;
use crate::state::AppState;
use crate::store::{StoredEvent, WriteOutcome};
use crate::user_agent::Agent;
use crate::visitor::{DailySalt, Visitor};

/// What the server knows of a delivery besides what it carries: read from
/// the request in one place ([`crate::http::delivery`]).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub received: chrono::DateTime<chrono::Utc>,
    /// Used for the visitor id ([`Delivery::visitor`]), and nowhere else.
    pub peer: IpAddr,
    pub user_agent: String,
    /// `Sec-GPC: 1`.
    pub gpc: bool,
}

impl Delivery {
    /// The sender's anonymous id on `site`'s day of the delivery, from
    /// `salts`: the only use of the sender's address.
    pub fn visitor(&self, salts: &DailySalt, site: &Site) -> Result<Visitor, AppError> {
        salts
            .visitor(
                site.key(),
                site.timezone,
                self.peer,
                &self.user_agent,
                self.received,
            )
            .map_err(AppError::Salt)
    }
}

/// Counts one request from a bot on `site`'s day of the delivery: bots
/// are counted, never stored, whichever endpoint they reach (events,
/// consent records, banner downloads).
pub async fn count_bot(app: &AppState, site: &Site, delivery: &Delivery) -> Result<(), AppError> {
    app.metrics().bot(site.key());
    let (store, key) = (app.stores().ingest.clone(), site.key().to_owned());
    let day = delivery.received.with_timezone(&site.timezone).date_naive();
    tokio::task::spawn_blocking(move || store.count_bot_request(&key, day)).await??;
    Ok(())
}

/// Stores a site's checked events as their delivery allows: bots are
/// counted and dropped; the visitor id is computed from `salts`; events the
/// consent does not grant are dropped; the rest are scrubbed and committed.
pub async fn store(
    app: &AppState,
    site: &Site,
    events: Vec<Event>,
    mut consent: Grants,
    delivery: &Delivery,
    salts: &DailySalt,
    rate_limited: bool,
) -> Result<IngestReceipt, AppError> {
    // Global Privacy Control sent as a header withdraws marketing whatever
    // the page says: no campaign attribution is stored for this request.
    if delivery.gpc {
        consent.marketing = false;
    }
    let software = match app.user_agents().classify(&delivery.user_agent) {
        Agent::Bot => {
            count_bot(app, site, delivery).await?;
            return Ok(IngestReceipt {
                bot: true,
                ..IngestReceipt::default()
            });
        }
        Agent::Visitor(software) => software,
    };
    let visitor = delivery.visitor(salts, site)?.id;
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
