//! Properties of scrubbing and validation over generated input (proptest):
//! what must hold for any text a page or a client can send.
#![cfg(not(target_arch = "wasm32"))]

#[path = "reference/scrub_by_chars.rs"]
mod scrub_by_chars;

use proptest::prelude::*;
use sonde_protocol::event::Partition;
use sonde_protocol::limits::*;
use sonde_protocol::{Batch, ErrorReport, Event, EventData, Grants, scrub};

const NOW: i64 = 1_764_000_000_000;

/// Text that mixes words, e-mail addresses, digit runs, tokens and noise.
fn messy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,12}",
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org|example)",
        "[0-9]{6,16}",
        "[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}",
        "[A-Za-z0-9_-]{20,40}",
        "[ ./?=&#%+:-]{1,3}",
        "\\PC{1,4}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.join(" "))
}

/// `local@domain.tld`, with a letter-only top-level domain of two or more.
fn has_email(s: &str) -> bool {
    s.match_indices('@').any(|(at, _)| {
        let local = s[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let domain: String = s[at + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '-'))
            .collect();
        let tld = domain
            .trim_end_matches('.')
            .rsplit_once('.')
            .map(|(_, t)| t);
        local && tld.is_some_and(|t| t.len() >= 2 && t.chars().all(char::is_alphabetic))
    })
}

fn has_digit_run(s: &str, n: usize) -> bool {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= n {
            return true;
        }
    }
    false
}

fn event(url: String, data: EventData) -> Event {
    Event {
        id: "e1".into(),
        ts: NOW,
        session: None,
        url,
        data,
    }
}

proptest! {
    #[test]
    fn scrubbed_text_has_no_email_address_or_long_digit_run(text in messy_text()) {
        let clean = scrub::text(&text);
        prop_assert!(!has_email(&clean), "{clean}");
        prop_assert!(!has_digit_run(&clean, scrub::MIN_DIGITS), "{clean}");
    }

    #[test]
    fn scrubbing_bytes_redacts_exactly_what_scrubbing_characters_did(
        text in prop_oneof![messy_text(), "\\PC{0,60}", "[a-zé日@._ 0-9-]{0,60}"],
    ) {
        prop_assert_eq!(scrub::text(&text), scrub_by_chars::text(&text));
        for max in [0, 1, 5, 30] {
            prop_assert_eq!(scrub::truncate(&text, max), scrub_by_chars::truncate(&text, max));
        }
        prop_assert_eq!(scrub::char_count(&text), text.chars().count());
    }

    #[test]
    fn scrubbing_twice_changes_nothing_more(text in messy_text()) {
        let once = scrub::text(&text);
        prop_assert_eq!(scrub::text(&once), once);
    }

    #[test]
    fn a_page_url_is_a_path_without_query_or_fragment(
        path in "(/[a-zA-Z0-9@._%-]{0,12}){0,4}",
        query in "[a-z=&@.0-9]{0,20}",
        fragment in "[a-z0-9]{0,8}",
    ) {
        let url = format!("https://shop.example{path}?{query}#{fragment}");
        let clean = scrub::page_url(&url);
        prop_assert!(clean.starts_with('/'), "{clean}");
        prop_assert!(!clean.contains('?') && !clean.contains('#'), "{clean}");
    }

    #[test]
    fn a_scrubbed_event_always_fits_the_limits(
        title in "\\PC{0,700}",
        message in "\\PC{1,1500}",
        stack in "\\PC{0,5000}",
        path in "/\\PC{0,2100}",
    ) {
        let mut page = event(path.clone(), EventData::PageView {
            referrer: None,
            title: Some(title),
            campaign: Default::default(),
        });
        let mut error = event(path, EventData::Error(ErrorReport {
            message,
            source: None,
            line: None,
            column: None,
            stack: Some(stack),
            rejection: false,
        }));
        page.scrub();
        error.scrub();
        let batch = Batch { site: "shop".into(), consent: Grants::ALL, events: vec![page, error] };
        // An empty message or path after scrubbing is refused as empty; a
        // scrubbed event is never refused for its length.
        if let Err(rejection) = batch.validate(NOW) {
            prop_assert_ne!(rejection.code(), "too_long", "{}", rejection);
        }
    }

    #[test]
    fn a_partition_keeps_each_event_once_and_only_valid_ones(
        urls in prop::collection::vec(prop_oneof!["/[a-z]{0,10}", "[a-z]{1,5}", Just(String::new())], 1..MAX_EVENTS_PER_BATCH),
        offsets in prop::collection::vec(-2 * MAX_EVENT_AGE_MS..2 * MAX_EVENT_SKEW_MS, 1..MAX_EVENTS_PER_BATCH),
    ) {
        let events: Vec<Event> = urls
            .into_iter()
            .zip(offsets)
            .enumerate()
            .map(|(i, (url, offset))| Event {
                id: format!("e{i}"),
                ts: NOW + offset,
                session: None,
                url,
                data: EventData::Click { name: "buy".into() },
            })
            .collect();
        let total = events.len();
        let batch = Batch { site: "shop".into(), consent: Grants::ALL, events };
        let Partition { valid, refused } = batch.partition(NOW).unwrap();
        prop_assert_eq!(valid.len() + refused.len(), total);
        for event in &valid {
            prop_assert!(event.url.starts_with('/'));
            prop_assert!((-MAX_EVENT_AGE_MS..=MAX_EVENT_SKEW_MS).contains(&(event.ts - NOW)));
        }
        let single = Batch { site: "shop".into(), consent: Grants::ALL, events: valid };
        if !single.events.is_empty() {
            prop_assert_eq!(single.validate(NOW), Ok(()));
        }
    }

    #[test]
    fn the_collectors_json_reads_back_as_the_same_event(
        name in "[a-z_]{1,20}",
        title in "\\PC{0,40}",
        value in (-1_000_000_000i64..1_000_000_000).prop_map(|v| v as f64 / 1000.0),
    ) {
        for data in [
            EventData::Custom { name: name.clone(), props: Default::default(), value: Some(value) },
            EventData::PageView { referrer: None, title: Some(title.clone()), campaign: Default::default() },
        ] {
            let event = event("/p".into(), data);
            let parsed: Event = serde_json::from_str(&event.to_json()).unwrap();
            prop_assert_eq!(parsed, event);
        }
    }
}
