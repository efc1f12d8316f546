//! Any body a client can send to the ingest endpoint: it parses or is
//! refused, validation and partition never panic, and every event ingest
//! keeps is scrubbed into something the collector's JSON writer and serde
//! agree on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_protocol::event::Partition;
use sonde_protocol::{Batch, Event};

/// 2025-11-24, as the server's clock.
const NOW: i64 = 1_764_000_000_000;

fuzz_target!(|body: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<Batch>(body) else {
        return;
    };
    let whole = batch.validate(NOW);
    let Ok(Partition { valid, refused }) = batch.clone().partition(NOW) else {
        assert!(whole.is_err(), "the envelope was refused by one and not the other");
        return;
    };
    assert_eq!(valid.len() + refused.len(), batch.events.len());
    assert_eq!(whole.is_ok(), refused.is_empty());
    for mut event in valid {
        event.strip_ungranted(batch.consent);
        event.scrub();
        let json = event.to_json();
        let back: Event = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
        assert_eq!(back.id, event.id);
        assert_eq!(back.data.kind(), event.data.kind());
    }
});
