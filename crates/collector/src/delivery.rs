//! Delivery: a bounded queue persisted in `localStorage` (so a reload or an
//! offline spell loses nothing), sent in batches by count and by time, with
//! exponential backoff after a failure. Events leave the queue only when the
//! server acknowledged them; the server drops duplicates by event id, so
//! sending an event twice is harmless and losing one is not.

use std::cell::RefCell;
use std::rc::Weak;

use sonde_protocol::limits::MAX_EVENTS_PER_BATCH;
use sonde_protocol::{Batch, Event, Grants};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::{Collector, Options, State, browser};

/// When to send, and how much to keep while the server cannot be reached.
#[derive(Clone, Debug)]
pub struct DeliveryOptions {
    /// Send as soon as this many events are queued.
    pub batch_size: usize,
    /// Otherwise send this long after the first queued event, in ms.
    pub flush_after_ms: i32,
    /// Most events kept; the oldest go first when it overflows.
    pub max_queued: usize,
    /// First retry delay after a failure, doubled per failure up to `max_backoff_ms`.
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
    events: Vec<Event>,
    timer: Option<i32>,
    in_flight: bool,
    backoff_ms: i32,
}

impl Queue {
    /// The queue left by earlier pages of this site on this device.
    pub fn restore(options: &Options) -> Queue {
        let storage_key = format!("sonde:queue:{}", options.site);
        let events = browser::local_storage()
            .and_then(|s| s.get_item(&storage_key).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Queue {
            options: options.delivery.clone(),
            storage_key,
            events,
            timer: None,
            in_flight: false,
            backoff_ms: 0,
        }
    }

    pub fn push(&mut self, event: Event) {
        self.events.push(event);
        self.persist();
    }

    /// Drops queued events of categories no longer granted.
    pub fn retain_granted(&mut self, grants: Grants) {
        self.events.retain(|e| grants.allows(e.data.category()));
        self.persist();
    }

    fn persist(&mut self) {
        let Some(storage) = browser::local_storage() else {
            return;
        };
        if self.events.is_empty() {
            let _ = storage.remove_item(&self.storage_key);
        } else if let Ok(text) = serde_json::to_string(&self.events) {
            let _ = storage.set_item(&self.storage_key, &text);
        }
    }

    /// Arranges the next send: now when a batch is full, else after the
    /// flush delay (or the backoff, after a failure).
    pub fn schedule(&mut self, collector: Weak<RefCell<State>>) {
        if self.events.is_empty() || self.in_flight || self.timer.is_some() {
            return;
        }
        let delay = if self.backoff_ms > 0 {
            self.backoff_ms
        } else if self.events.len() >= self.options.batch_size {
            0
        } else {
            self.options.flush_after_ms
        };
        self.timer = browser::set_timeout(delay, move || {
            if let Some(c) = Collector::from_weak(&collector) {
                c.0.borrow_mut().queue.timer = None;
                flush(Collector::weak(&c));
            }
        });
    }
}

/// Sends the oldest queued events as one batch, unless a send is in flight.
pub fn flush(collector: Weak<RefCell<State>>) {
    let Some(c) = Collector::from_weak(&collector) else {
        return;
    };
    let (endpoint, body, ids) = {
        let mut state = c.0.borrow_mut();
        let grants = state.grants();
        let State { options, queue, .. } = &mut *state;
        if queue.in_flight || queue.events.is_empty() {
            return;
        }
        if queue.events.len() > options.delivery.max_queued {
            let excess = queue.events.len() - options.delivery.max_queued;
            queue.events.drain(..excess);
        }
        let events: Vec<Event> = queue
            .events
            .iter()
            .take(MAX_EVENTS_PER_BATCH)
            .cloned()
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let batch = Batch {
            site: options.site.clone(),
            consent: grants,
            events,
        };
        let Ok(body) = serde_json::to_string(&batch) else {
            return;
        };
        queue.in_flight = true;
        (options.endpoint.clone(), body, ids)
    };
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = send(&endpoint, &body).await;
        let Some(c) = Collector::from_weak(&collector) else {
            return;
        };
        let mut state = c.0.borrow_mut();
        let (max_backoff, initial_backoff) = (
            state.options.delivery.max_backoff_ms,
            state.options.delivery.initial_backoff_ms,
        );
        let queue = &mut state.queue;
        queue.in_flight = false;
        match outcome {
            Sent::Accepted => {
                queue.events.retain(|e| !ids.contains(&e.id));
                queue.backoff_ms = 0;
            }
            Sent::Refused(status) => {
                // The server will refuse these again; keeping them would
                // block everything queued behind them.
                browser::warn(&format!(
                    "Sonde: the server refused a batch ({status}); dropping it"
                ));
                queue.events.retain(|e| !ids.contains(&e.id));
            }
            Sent::Failed => {
                queue.backoff_ms = (queue.backoff_ms * 2).clamp(initial_backoff, max_backoff);
            }
        }
        queue.persist();
        queue.schedule(collector.clone());
    });
}

enum Sent {
    Accepted,
    Refused(u16),
    Failed,
}

async fn send(endpoint: &str, body: &str) -> Sent {
    let Some(window) = web_sys::window() else {
        return Sent::Failed;
    };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.into());
    // keepalive lets the request outlive the page, so the last batch of a
    // page that is being closed still arrives.
    // (web-sys has no setter for it yet.)
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    // text/plain keeps this a CORS "simple request": no preflight round trip.
    let headers = web_sys::Headers::new().ok();
    if let Some(h) = &headers {
        let _ = h.set("content-type", "text/plain;charset=UTF-8");
        init.set_headers(h);
    }
    let Ok(response) = JsFuture::from(window.fetch_with_str_and_init(endpoint, &init)).await else {
        return Sent::Failed;
    };
    let Ok(response) = response.dyn_into::<Response>() else {
        return Sent::Failed;
    };
    match response.status() {
        200..=299 => Sent::Accepted,
        // Rate limited or overloaded: try again later.
        429 | 503 => Sent::Failed,
        status @ 400..=499 => Sent::Refused(status),
        _ => Sent::Failed,
    }
}
