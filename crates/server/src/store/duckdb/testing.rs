//! What the store's tests share: a calendar to write on, page views and
//! visits, and the overview's hand-worked fixture.

use sonde_protocol::EventData;
use sonde_protocol::overview::{Breakdown, Filters, OverviewQuery};

use super::DuckDbStore;
use crate::store::StoredEvent;
use crate::store::data_roles::*;
use crate::user_agent::Software;

pub(super) const HOUR: i64 = 3_600_000;

pub(super) const DAY: i64 = 24 * HOUR;

/// 2025-11-24T00:00:00Z
pub(super) const MIDNIGHT: i64 = 1_763_942_400_000;

/// A page view of the site `shop` from Firefox on Linux.
pub(super) fn view(id: &str, ts: i64, visitor: i64, path: &str) -> StoredEvent {
    StoredEvent {
        id: id.into(),
        site: "shop".into(),
        ts,
        visitor_id: visitor,
        session_id: None,
        path: path.into(),
        software: Software {
            browser: "Firefox".into(),
            os: "Linux".into(),
            device: crate::user_agent::Device::Desktop,
        },
        data: EventData::PageView {
            referrer: None,
            title: None,
            campaign: Default::default(),
        },
    }
}

/// A page view in a session, from a referrer, in a campaign.
pub(super) fn visit(
    id: &str,
    ts: i64,
    visitor: i64,
    session: &str,
    path: &str,
    from: Option<(&str, Option<&str>)>,
) -> StoredEvent {
    let mut event = view(id, ts, visitor, path);
    event.session_id = Some(session.into());
    if let EventData::PageView {
        referrer, campaign, ..
    } = &mut event.data
    {
        *referrer = from.map(|(host, _)| host.to_owned());
        campaign.campaign = from.and_then(|(_, c)| c).map(Into::into);
    }
    event
}

/// Four sessions today, two yesterday; the overview tests work their
/// figures out by hand from these.
pub(super) fn overview_fixture() -> DuckDbStore {
    let store = DuckDbStore::in_memory().unwrap();
    let t = MIDNIGHT + 10 * HOUR;
    let news = Some(("news.example", None));
    let mut iphone = [
        visit("s2-1", t + HOUR, 2, "s2", "/", None),
        visit("s3-1", t + 2 * HOUR, 2, "s3", "/products", None),
        visit("s3-2", t + 2 * HOUR + 30_000, 2, "s3", "/", None),
    ];
    for e in &mut iphone {
        e.software = Software {
            browser: "Safari".into(),
            os: "iPhone".into(),
            device: crate::user_agent::Device::Mobile,
        };
    }
    store
        .write(&[
            visit("s1-1", t, 1, "s1", "/", news),
            visit("s1-2", t + 60_000, 1, "s1", "/cart", None),
            visit("s1-3", t + 180_000, 1, "s1", "/thanks", None),
            visit(
                "s4-1",
                t + 3 * HOUR,
                3,
                "s4",
                "/cart",
                Some(("news.example", Some("spring"))),
            ),
            visit("p1-1", t - DAY, 9, "p1", "/", None),
            visit("p2-1", t - DAY, 10, "p2", "/", None),
            visit("p2-2", t - DAY + 10_000, 10, "p2", "/cart", None),
        ])
        .unwrap();
    store.write(&iphone).unwrap();
    store
}

pub(super) fn overview_query(filters: Filters) -> OverviewQuery {
    OverviewQuery {
        site: "shop".into(),
        from: MIDNIGHT,
        to: MIDNIGHT + DAY,
        filters,
        versus: Default::default(),
    }
}

pub(super) fn labels(b: &Breakdown) -> Vec<(&str, u64, u64)> {
    b.rows
        .iter()
        .map(|r| (r.label.as_str(), r.visitors, r.count))
        .collect()
}

/// An uncaught error with `message` and nothing else known of it.
pub(super) fn error(message: &str) -> EventData {
    EventData::Error(sonde_protocol::ErrorReport {
        message: message.into(),
        source: None,
        line: None,
        column: None,
        stack: None,
        rejection: false,
    })
}

/// The periods the tally tests read: ten days by the day, part of two
/// days by the hour (a period that cuts days), and ten days by the week
/// under `filters`.
pub(super) fn tally_periods(
    filters: &Filters,
) -> [(i64, i64, sonde_protocol::Granularity, Filters); 3] {
    use sonde_protocol::Granularity;
    [
        (
            MIDNIGHT,
            MIDNIGHT + 10 * DAY,
            Granularity::Day,
            Filters::default(),
        ),
        (
            MIDNIGHT + 2 * DAY + 5 * HOUR,
            MIDNIGHT + 4 * DAY,
            Granularity::Hour,
            Filters::default(),
        ),
        (
            MIDNIGHT,
            MIDNIGHT + 10 * DAY,
            Granularity::Week,
            filters.clone(),
        ),
    ]
}
