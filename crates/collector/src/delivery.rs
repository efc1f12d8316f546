//! Delivery: a bounded queue persisted in `localStorage` (so a reload or an
//! offline spell loses nothing), sent in batches by count and by time, with
//! exponential backoff and jitter after a failure, and handed to
//! `sendBeacon` when the page is hidden. Events leave the queue only when the
//! server acknowledged them; the server drops duplicates by event id, so
//! sending an event twice is harmless and losing one is not.

use std::cell::RefCell;
use std::rc::Weak;

use sonde_protocol::limits::MAX_EVENTS_PER_BATCH;
use sonde_protocol::{Category, Event, EventData, Grants, json};

use crate::browser::{self, get};
use crate::transport::{self, Outcome};
use crate::{Collector, State};

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
    timer: Option<i32>,
    /// A write to storage is pending: writes are coalesced, so tracking an
    /// event costs no serialisation of the whole queue.
    persist_pending: bool,
    in_flight: bool,
    backoff_ms: i32,
}

impl Queue {
    /// The queue left by earlier pages of this site on this device.
    pub fn restore(site: &str, options: DeliveryOptions) -> Queue {
        let storage_key = "sonde:queue:".to_owned() + site;
        let stored = browser::local_storage()
            .and_then(|s| s.get_item(&storage_key).ok().flatten())
            .and_then(|text| js_sys::JSON::parse(&text).ok())
            .map(|list| js_sys::Array::from(&list))
            .unwrap_or_default();
        let events = stored
            .iter()
            .filter_map(|event| {
                Some(Queued {
                    id: get(&event, "id").as_string()?,
                    category: EventData::category_of_kind(&get(&event, "kind").as_string()?)?,
                    json: js_sys::JSON::stringify(&event).ok()?.into(),
                })
            })
            .collect();
        Queue {
            options,
            storage_key,
            events,
            timer: None,
            persist_pending: false,
            in_flight: false,
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
        let Some(storage) = browser::local_storage() else {
            return;
        };
        if self.events.is_empty() {
            let _ = storage.remove_item(&self.storage_key);
        } else {
            let mut text =
                String::with_capacity(self.events.iter().map(|e| e.json.len() + 1).sum());
            text.push('[');
            for (i, event) in self.events.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&event.json);
            }
            text.push(']');
            let _ = storage.set_item(&self.storage_key, &text);
        }
    }

    /// Arranges a write to storage as soon as the current task ends, and the
    /// next send: now when a batch is full, else after the flush delay (or
    /// the backoff, after a failure).
    pub fn schedule(&mut self, collector: Weak<RefCell<State>>) {
        if !self.persist_pending {
            self.persist_pending = true;
            let collector = collector.clone();
            browser::set_timeout(0, move || {
                if let Some(c) = Collector::from_weak(&collector) {
                    let mut state = c.0.borrow_mut();
                    if state.queue.persist_pending {
                        state.queue.persist();
                    }
                }
            });
        }
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

    fn next_batch(&self, site: &str, grants: Grants) -> Option<(String, Vec<String>)> {
        if self.events.is_empty() {
            return None;
        }
        let events = &self.events[..self.events.len().min(MAX_EVENTS_PER_BATCH)];
        let ids = events.iter().map(|e| e.id.clone()).collect();
        let encoded: Vec<&str> = events.iter().map(|e| e.json.as_str()).collect();
        Some((json::batch(site, grants, &encoded), ids))
    }

    fn failed(&mut self) {
        let doubled = (self.backoff_ms * 2)
            .clamp(self.options.initial_backoff_ms, self.options.max_backoff_ms);
        let jitter = 1.0 - js_sys::Math::random() * 0.5;
        self.backoff_ms = ((doubled as f64) * jitter).max(1.0) as i32;
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
        let site = state.options.site.clone();
        if state.queue.in_flight {
            return;
        }
        let Some((body, ids)) = state.queue.next_batch(&site, grants) else {
            return;
        };
        state.queue.in_flight = true;
        (state.endpoints.ingest.clone(), body, ids)
    };
    transport::post(&endpoint, &body, move |outcome| {
        let Some(c) = Collector::from_weak(&collector) else {
            return;
        };
        let mut state = c.0.borrow_mut();
        let queue = &mut state.queue;
        queue.in_flight = false;
        match outcome {
            Outcome::Accepted(_) => {
                queue.events.retain(|e| !ids.contains(&e.id));
                queue.backoff_ms = 0;
            }
            Outcome::Refused(status) => {
                // The server will refuse these again; keeping them would
                // block everything queued behind them.
                let mut message = "Sonde: the server refused a batch (HTTP ".to_owned();
                json::int(&mut message, status.into());
                message.push_str("); dropping it");
                browser::warn(&message);
                queue.events.retain(|e| !ids.contains(&e.id));
            }
            Outcome::Failed => queue.failed(),
        }
        queue.persist();
        queue.schedule(collector.clone());
    });
}

/// The page is being hidden (tab switch, navigation, close): store the queue
/// and hand the next batch to `sendBeacon`, which outlives the page. The
/// events stay queued until a normal send is acknowledged; if the beacon got
/// through, that later send only counts as duplicates.
pub fn flush_on_hide(state: &mut State) {
    state.queue.persist();
    let grants = state.grants();
    if let Some((body, _)) = state.queue.next_batch(&state.options.site, grants) {
        transport::beacon(&state.endpoints.ingest, &body);
    }
}
