//! Demo data: thirty days of plausible traffic on the demo shop, so a first
//! run shows a dashboard worth looking at.

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use sonde_protocol::EventData;

use crate::app::DEMO_SITE;
use crate::store::{EventStore, StoreError, StoredEvent};
use crate::user_agent::{Device, Software};

const DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The demo shop's pages, and how likely a visitor goes on to the next.
const JOURNEY: [(&str, f64); 6] = [
    ("/demo/", 1.0),
    ("/demo/products.html", 0.75),
    ("/demo/products/kettle.html", 0.6),
    ("/demo/cart.html", 0.35),
    ("/demo/checkout.html", 0.6),
    ("/demo/thanks.html", 0.7),
];
const REFERRERS: [Option<&str>; 4] = [
    None,
    Some("www.google.com"),
    Some("news.ycombinator.com"),
    Some("duckduckgo.com"),
];

/// Browsers, systems and devices, about as common as on a small shop.
const SOFTWARE: [(&str, &str, Device); 6] = [
    ("Chrome", "Windows 10", Device::Desktop),
    ("Chrome", "Windows 10", Device::Desktop),
    ("Safari", "iPhone", Device::Mobile),
    ("Chrome", "Android", Device::Mobile),
    ("Firefox", "Linux", Device::Desktop),
    ("Safari", "Mac OSX", Device::Desktop),
];

/// Seeds the demo site unless it already has events. Returns the number of
/// events written. The same `now` always produces the same data.
pub fn seed_if_empty(store: &dyn EventStore, now: DateTime<Utc>) -> Result<usize, StoreError> {
    if store.event_count(DEMO_SITE)? > 0 {
        return Ok(0);
    }
    let events = generate(now.timestamp_millis());
    let written = events.len();
    for chunk in events.chunks(5_000) {
        store.write(chunk)?;
    }
    Ok(written)
}

fn generate(now_ms: i64) -> Vec<StoredEvent> {
    let mut rng = SmallRng::seed_from_u64(0x5017de);
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    let mut events = Vec::new();
    for day in (0..DAYS).rev() {
        let day_start = today - day * DAY_MS;
        // Weekdays are busier, and the shop grows a little over the month.
        let weekday = (day_start / DAY_MS + 4).rem_euclid(7); // 0 = Sunday
        let base = if weekday == 0 || weekday == 6 {
            60
        } else {
            110
        };
        let visitors = base + (DAYS - day) as usize * 2 + rng.random_range(0..30);
        for v in 0..visitors {
            let visitor_id: i64 = rng.random();
            let session = format!("demo-{day}-{v}");
            // Visits cluster in the daytime.
            let hour = (8.0 + rng.random::<f64>() * 14.0) as i64;
            let mut ts = day_start + hour * 3_600_000 + rng.random_range(0..3_600_000);
            let referrer = REFERRERS[rng.random_range(0..REFERRERS.len())];
            let (browser, os, device) = SOFTWARE[rng.random_range(0..SOFTWARE.len())];
            let software = Software {
                browser: browser.into(),
                os: os.into(),
                device,
            };
            for (step, (path, go_on)) in JOURNEY.iter().enumerate() {
                if rng.random::<f64>() > *go_on || ts >= now_ms {
                    break;
                }
                events.push(StoredEvent {
                    id: format!("demo-{day}-{v}-{step}"),
                    site: DEMO_SITE.into(),
                    ts,
                    visitor_id,
                    session_id: Some(session.clone()),
                    path: (*path).into(),
                    software: software.clone(),
                    data: EventData::PageView {
                        referrer: if step == 0 {
                            referrer.map(Into::into)
                        } else {
                            None
                        },
                        title: None,
                        campaign: Default::default(),
                    },
                });
                ts += rng.random_range(5_000..120_000);
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_a_month_once() {
        let store = crate::store::DuckDbStore::in_memory().unwrap();
        let now = DateTime::from_timestamp_millis(1_764_000_000_000).unwrap();
        let written = seed_if_empty(&store, now).unwrap();
        assert!(written > DAYS as usize * 60, "only {written} demo events");
        assert_eq!(store.event_count(DEMO_SITE).unwrap(), written as u64);
        assert_eq!(seed_if_empty(&store, now).unwrap(), 0);
    }
}
