//! The events report over HTTP: custom events, clicks, forms, outbound
//! links and downloads tallied by event, the chosen one per day and by
//! property, small groups only counted, the filters applied.

use reqwest::StatusCode;
use serde_json::json;
use sonde_protocol::events_report::{EventStat, EventsReport, InteractionKind};

use crate::support::history::History;
use crate::support::{TestApp, expect_error, now_ms};

const DAY: i64 = 86_400_000;

/// Over the last three days: 6 visitors sign up (4 on plan pro, 2 on
/// free, 10 each), 5 click "buy", 5 follow a link to the docs, 1 downloads
/// the price list; the 2 from a newsletter view /pricing first.
fn history(app: &TestApp, start: i64) {
    let mut h = History::new();
    for v in 0..6 {
        let at = start + (v % 3) * DAY + 3_600_000;
        let source = if v < 2 {
            "/pricing?utm_source=news"
        } else {
            "/pricing"
        };
        h.add(v, at, json!({"kind": "page_view", "url": source,
                             "campaign": if v < 2 { json!({"source": "news"}) } else { json!({}) }}));
        let plan = if v < 4 { "pro" } else { "free" };
        h.add(
            v,
            at + 1_000,
            json!({"kind": "custom", "url": "/pricing", "name": "signup",
                                     "props": {"plan": plan}, "value": 10}),
        );
        if v < 5 {
            h.add(
                v,
                at + 2_000,
                json!({"kind": "click", "url": "/pricing", "name": "buy"}),
            );
            h.add(
                v,
                at + 3_000,
                json!({"kind": "outbound", "url": "/pricing", "href": "docs.example/api"}),
            );
        }
    }
    h.add(
        0,
        start + 5_000,
        json!({"kind": "download", "url": "/pricing", "href": "shop.example/prices.pdf"}),
    );
    h.write(app);
}

async fn events(app: &TestApp, extra: &str) -> reqwest::Response {
    let now = now_ms();
    let from = now - 3 * DAY;
    app.http
        .get(app.url(&format!(
            "/api/events?site=shop&from={}&to={}&granularity=day{extra}",
            from - from % DAY,
            now + 3_600_000
        )))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn events_are_counted_per_event_with_the_chosen_one_per_day_and_property() {
    let app = TestApp::start().await;
    let now = now_ms();
    let start = now - 3 * DAY;
    history(&app, start - start % DAY);

    let res = events(&app, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: EventsReport = res.json().await.unwrap();
    assert_eq!(report.k, 5);
    let stat = |kind, name: &str, count, visitors, value| EventStat {
        kind,
        name: name.into(),
        count,
        visitors,
        value,
    };
    assert_eq!(
        report.events,
        vec![
            stat(InteractionKind::Custom, "signup", 6, 6, Some(60.0)),
            stat(InteractionKind::Click, "buy", 5, 5, None),
            stat(InteractionKind::Outbound, "docs.example/api", 5, 5, None),
        ]
    );
    assert_eq!(
        (report.hidden_events, report.hidden_count),
        (1, 1),
        "the one download"
    );
    assert_eq!(report.chosen, None);

    let res = events(&app, "&kind=custom&name=signup").await;
    let chosen = res.json::<EventsReport>().await.unwrap().chosen.unwrap();
    assert_eq!(chosen.kind, InteractionKind::Custom);
    assert_eq!(chosen.series.iter().map(|p| p.count).sum::<u64>(), 6);
    assert!(chosen.series.len() >= 3, "every day of the period");
    assert_eq!(chosen.properties.len(), 0, "4 and 2 visitors: under k = 5");
    assert_eq!(chosen.hidden_properties, 2);

    // Under a filter: the newsletter's two visitors are fewer than k.
    let res = events(&app, "&source=news").await;
    let filtered: EventsReport = res.json().await.unwrap();
    assert!(filtered.events.is_empty(), "{filtered:?}");
    assert_eq!(
        filtered.hidden_count, 7,
        "2 signups, 2 clicks, 2 links and the download, all in their sessions"
    );

    let res = events(&app, "&kind=custom").await;
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(error.field.as_deref(), Some("name"));
}
