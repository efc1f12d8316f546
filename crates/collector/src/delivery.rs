//! Delivery: a bounded queue persisted in `localStorage` (so a reload or an
//! offline spell loses nothing), sent in batches by count and by time, with
//! exponential backoff and jitter after a failure, and handed to
//! `sendBeacon` when the page is hidden. Events leave the queue only when the
//! server acknowledged them; the server drops duplicates by event id, so
//! sending an event twice is harmless and losing one is not.

use sonde_protocol::limits::MAX_EVENTS_PER_BATCH;
use sonde_protocol::{Category, Event, EventData, Grants, json};
use wasm_bindgen::JsValue;

use crate::browser::{self, get};
use crate::transport::{self, Outcome};
use crate::{State, with};

/// A queued event, kept as the JSON it will be sent as: encoding happens once,
/// and persisting the queue is a string join.
struct Queued {
    id: String,
    category: Category,
    json: String,
}

/// When to send, and how much to keep while the server cannot be reached.
#[derive(Clone, Debug)]
pub struct DeliveryOptions {
    /// Send as soon as this many events are queued.
    pub batch_size: usize,
    /// Otherwise send this long after the first queued event, in ms.
    pub flush_after_ms: i32,
    /// Most events kept; the oldest go first when it overflows.
    pub max_queued: usize,
    /// First retry delay after a failure, doubled per failure up to
    /// `max_backoff_ms`; each delay is randomised by up to a half, so that
    /// many browsers cut off together do not retry in lockstep.
    pub initial_backoff_ms: i32,
    pub max_backoff_ms: i32,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            batch_size: 10,
            flush_after_ms: 1_000,
            max_queued: 1_000,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        }
    }
}

pub struct Queue {
    options: DeliveryOptions,
    storage_key: String,
    events: Vec<Queued>,
    timer_set: bool,
    /// A write to storage is pending: writes are coalesced, so tracking an
    /// event costs no serialisation of the whole queue.
    persist_pending: bool,
    /// The ids of the batch being sent.
    in_flight: Option<Vec<String>>,
    backoff_ms: i32,
}

impl Queue {
    /// The queue left by earlier pages of this site on this device.
    pub fn restore(site: &str, options: DeliveryOptions) -> Queue {
        let storage_key = "sonde:queue:".to_owned() + site;
        let mut events = Vec::new();
        if let Some(text) = browser::load("localStorage", &storage_key) {
            let list = browser::parse(&text);
            let length = get(&list, "length").as_f64().unwrap_or(0.0) as u32;
            for i in 0..length {
                let event = browser::get_index(&list, i);
                let restored = (|| {
                    let kind = browser::text(&event, "kind")?;
                    Some(Queued {
                        id: browser::text(&event, "id")?,
                        category: EventData::category_of_kind(&kind)?,
                        json: browser::stringify(&event)?,
                    })
                })();
                events.extend(restored);
            }
        }
        Queue {
            options,
            storage_key,
            events,
            timer_set: false,
            persist_pending: false,
            in_flight: None,
            backoff_ms: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn push(&mut self, event: &Event) {
        self.events.push(Queued {
            id: event.id.clone(),
            category: event.data.category(),
            json: event.to_json(),
        });
        if self.events.len() > self.options.max_queued {
            let excess = self.events.len() - self.options.max_queued;
            self.events.drain(..excess);
        }
    }

    /// Drops queued events of categories no longer granted.
    pub fn retain_granted(&mut self, grants: Grants) {
        self.events.retain(|e| grants.allows(e.category));
        self.persist();
    }

    /// Drops every queued event (after "erase my data").
    pub fn clear(&mut self) {
        self.events.clear();
        self.persist();
    }

    /// Writes the queue to storage now.
    pub fn persist(&mut self) {
        self.persist_pending = false;
        if self.events.is_empty() {
            browser::forget("localStorage", &self.storage_key);
            return;
        }
        let mut text = String::with_capacity(self.events.iter().map(|e| e.json.len() + 1).sum());
        for event in &self.events {
            text.push(if text.is_empty() { '[' } else { ',' });
            text.push_str(&event.json);
        }
        text.push(']');
        browser::store("localStorage", &self.storage_key, &text);
    }

    fn next_batch(&self, site: &str, grants: Grants) -> Option<(String, Vec<String>)> {
        if self.events.is_empty() {
            return None;
        }
        let events = &self.events[..self.events.len().min(MAX_EVENTS_PER_BATCH)];
        let ids = events.iter().map(|e| e.id.clone()).collect();
        let encoded: Vec<&str> = events.iter().map(|e| e.json.as_str()).collect();
        Some((json::batch(site, grants, &encoded), ids))
    }

    fn remove(&mut self, ids: &[String]) {
        self.events.retain(|e| !ids.contains(&e.id));
    }

    fn failed(&mut self) {
        let doubled = (self.backoff_ms * 2)
            .clamp(self.options.initial_backoff_ms, self.options.max_backoff_ms);
        let random = browser::call0(&browser::global_get("Math"), "random")
            .as_f64()
            .unwrap_or(0.5);
        self.backoff_ms = ((doubled as f64) * (1.0 - random * 0.5)).max(1.0) as i32;
    }
}

/// Arranges a write to storage as soon as the current task ends, and the
/// next send: now when a batch is full, else after the flush delay (or the
/// backoff, after a failure).
pub fn schedule() {
    let Some((persist, send_after)) = with(|state| {
        let queue = &mut state.queue;
        let persist = !queue.persist_pending;
        queue.persist_pending = true;
        if queue.events.is_empty() || queue.in_flight.is_some() || queue.timer_set {
            return (persist, None);
        }
        queue.timer_set = true;
        let delay = if queue.backoff_ms > 0 {
            queue.backoff_ms
        } else if queue.events.len() >= queue.options.batch_size {
            0
        } else {
            queue.options.flush_after_ms
        };
        (persist, Some(delay))
    }) else {
        return;
    };
    if persist {
        browser::after(
            0,
            Box::new(|_| {
                with(|state| {
                    if state.queue.persist_pending {
                        state.queue.persist();
                    }
                });
            }),
        );
    }
    if let Some(delay) = send_after {
        browser::after(
            delay,
            Box::new(|_| {
                with(|state| state.queue.timer_set = false);
                flush();
            }),
        );
    }
}

/// Sends the oldest queued events as one batch, unless a send is in flight.
pub fn flush() {
    let Some((endpoint, body)) = with(|state| {
        if state.queue.in_flight.is_some() {
            return None;
        }
        let grants = state.grants();
        let (body, ids) = state.queue.next_batch(&state.options.site, grants)?;
        state.queue.in_flight = Some(ids);
        Some((state.endpoints.ingest.clone(), body))
    })
    .flatten() else {
        return;
    };
    transport::post(&endpoint, &body, Box::new(delivered));
}

/// The answer to the batch in flight.
fn delivered(outcome: Outcome) {
    with(|state| {
        let queue = &mut state.queue;
        let ids = queue.in_flight.take().unwrap_or_default();
        match outcome {
            Outcome::Accepted(_) => {
                queue.remove(&ids);
                queue.backoff_ms = 0;
            }
            Outcome::Refused(status) => {
                // The server will refuse these again; keeping them would
                // block everything queued behind them.
                let mut message = "Sonde: the server refused a batch (HTTP ".to_owned();
                json::int(&mut message, status.into());
                message.push_str("); dropping it");
                browser::warn(&message);
                queue.remove(&ids);
            }
            Outcome::Failed => queue.failed(),
        }
        queue.persist();
    });
    schedule();
}

/// When the page is hidden (tab switch, navigation, close): the vitals'
/// final values are queued, the queue stored, and the next batch handed to
/// `sendBeacon`, which outlives the page. The events stay queued until a
/// normal send is acknowledged; if the beacon got through, that later send
/// only counts as duplicates.
pub fn listen_for_hiding() {
    let on_hide = |_: JsValue| {
        if !browser::hidden() {
            return;
        }
        crate::vitals::report_final();
        with(|state: &mut State| {
            state.queue.persist();
            let grants = state.grants();
            if let Some((body, _)) = state.queue.next_batch(&state.options.site, grants) {
                transport::beacon(&state.endpoints.ingest, &body);
            }
        });
    };
    browser::listen(
        &browser::document(),
        "visibilitychange",
        false,
        Box::new(on_hide),
    );
    browser::listen(&browser::global(), "pagehide", false, Box::new(on_hide));
}
