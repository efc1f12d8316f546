//! Counters exposed at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    ingest_requests: AtomicU64,
    events_accepted: AtomicU64,
    events_duplicate: AtomicU64,
    events_dropped_by_consent: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn ingest_request(&self) {
        self.ingest_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn accepted(&self, stored: usize, duplicates: usize, dropped_by_consent: usize) {
        self.events_accepted
            .fetch_add(stored as u64, Ordering::Relaxed);
        self.events_duplicate
            .fetch_add(duplicates as u64, Ordering::Relaxed);
        self.events_dropped_by_consent
            .fetch_add(dropped_by_consent as u64, Ordering::Relaxed);
    }

    pub fn rejected(&self, code: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// Requests received by the ingest endpoint, accepted or not.
    pub fn ingest_requests(&self) -> u64 {
        self.ingest_requests.load(Ordering::Relaxed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "sonde_ingest_requests_total",
                "Requests to the ingest endpoint.",
                &self.ingest_requests,
            ),
            (
                "sonde_events_accepted_total",
                "Events stored.",
                &self.events_accepted,
            ),
            (
                "sonde_events_duplicate_total",
                "Events already stored, from retried batches.",
                &self.events_duplicate,
            ),
            (
                "sonde_events_dropped_by_consent_total",
                "Events whose category the batch's consent did not grant.",
                &self.events_dropped_by_consent,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sonde_ingest_rejected_total Refused ingest requests, by reason.\n# TYPE sonde_ingest_rejected_total counter"
        );
        for (code, count) in self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "sonde_ingest_rejected_total{{reason=\"{code}\"}} {count}"
            );
        }
        out
    }
}
