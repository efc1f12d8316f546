//! A site's history written straight to the store, as ingest would have
//! stored it, at times a test chooses (ingest takes only recent events).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sonde_protocol::Event;
use sonde_server::store::StoredEvent;
use sonde_server::user_agent::{Device, Software};

use super::TestApp;

const DAY: i64 = 86_400_000;

/// The shop's history, written to the store as ingest would have stored it.
pub struct History {
    events: Vec<StoredEvent>,
}

impl History {
    pub fn new() -> Self {
        History { events: Vec::new() }
    }

    pub fn add(&mut self, visitor: i64, ts: i64, event: Value) {
        let mut event = event;
        // Ids unique across histories: a repeated id is a retried event, stored once.
        static WRITTEN: AtomicUsize = AtomicUsize::new(0);
        event["id"] = json!(format!("e{}", WRITTEN.fetch_add(1, Ordering::Relaxed)));
        event["ts"] = json!(ts);
        event["session"] = json!(format!("s{visitor}-{}", ts / DAY));
        let event: Event = serde_json::from_value(event).unwrap();
        self.events.push(StoredEvent {
            id: event.id,
            site: "shop".into(),
            ts,
            visitor_id: visitor,
            session_id: event.session,
            path: event.url,
            software: Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: Device::Desktop,
            },
            data: event.data,
        });
    }

    pub fn views(&mut self, first_visitor: i64, visitors: i64, at: i64, path: &str) {
        for v in 0..visitors {
            self.add(
                first_visitor + v,
                at + v,
                json!({"kind": "page_view", "url": path}),
            );
        }
    }

    pub fn write(self, app: &TestApp) {
        let rows = self.events;
        app.server.stores().ingest.write(&rows).unwrap();
    }
}
