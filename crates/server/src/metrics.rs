//! What the server exposes at `/metrics`, in the Prometheus (OpenMetrics)
//! text format, through the `prometheus-client` crate.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabel {
    site: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ingest_requests: Counter,
    events_accepted: Counter,
    events_duplicate: Counter,
    events_dropped_by_consent: Counter,
    rejected: Family<Reason, Counter>,
    bots: Family<SiteLabel, Counter>,
    commit_seconds: Histogram,
    batches_per_commit: Histogram,
    queue_depth: Gauge,
    store_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics {
            ingest_requests: Counter::default(),
            events_accepted: Counter::default(),
            events_duplicate: Counter::default(),
            events_dropped_by_consent: Counter::default(),
            rejected: Family::default(),
            bots: Family::default(),
            // 0.5 ms to about 4 s.
            commit_seconds: Histogram::new(exponential_buckets(0.000_5, 2.0, 14)),
            batches_per_commit: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            queue_depth: Gauge::default(),
            store_bytes: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sonde_ingest_requests",
            "Requests to the ingest endpoint",
            metrics.ingest_requests.clone(),
        );
        registry.register(
            "sonde_events_accepted",
            "Events stored",
            metrics.events_accepted.clone(),
        );
        registry.register(
            "sonde_events_duplicate",
            "Events already stored, from retried batches",
            metrics.events_duplicate.clone(),
        );
        registry.register(
            "sonde_events_dropped_by_consent",
            "Events whose category the batch's consent did not grant",
            metrics.events_dropped_by_consent.clone(),
        );
        registry.register(
            "sonde_ingest_rejected",
            "Refused ingest requests and events, by reason",
            metrics.rejected.clone(),
        );
        registry.register(
            "sonde_bot_requests",
            "Ingest requests from bots, not stored, by site",
            metrics.bots.clone(),
        );
        registry.register(
            "sonde_commit_seconds",
            "Time to commit one group of batches",
            metrics.commit_seconds.clone(),
        );
        registry.register(
            "sonde_batches_per_commit",
            "Batches that shared one commit",
            metrics.batches_per_commit.clone(),
        );
        registry.register(
            "sonde_write_queue_depth",
            "Batches waiting for the writer",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "sonde_store_bytes",
            "Size of the store's files on disk",
            metrics.store_bytes.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

/// Readings taken when the metrics are rendered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    pub queue_depth: usize,
    pub store_bytes: u64,
}

impl Metrics {
    pub fn ingest_request(&self) {
        self.ingest_requests.inc();
    }

    pub fn accepted(&self, stored: usize, duplicates: usize, dropped_by_consent: usize) {
        self.events_accepted.inc_by(stored as u64);
        self.events_duplicate.inc_by(duplicates as u64);
        self.events_dropped_by_consent
            .inc_by(dropped_by_consent as u64);
    }

    /// A refusal, of a whole request or of one event in it.
    pub fn rejected(&self, reason: &'static str) {
        self.rejected.get_or_create(&Reason { reason }).inc();
    }

    pub fn bot(&self, site: &str) {
        self.bots
            .get_or_create(&SiteLabel {
                site: site.to_owned(),
            })
            .inc();
    }

    /// One group commit of `batches` batches.
    pub fn commit(&self, took: Duration, batches: usize) {
        self.commit_seconds.observe(took.as_secs_f64());
        self.batches_per_commit.observe(batches as f64);
    }

    /// Requests received by the ingest endpoint, accepted or not.
    pub fn ingest_requests(&self) -> u64 {
        self.ingest_requests.get()
    }

    pub fn render(&self, gauges: Gauges) -> String {
        self.queue_depth
            .set(i64::try_from(gauges.queue_depth).unwrap_or(i64::MAX));
        self.store_bytes
            .set(i64::try_from(gauges.store_bytes).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
