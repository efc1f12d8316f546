//! Funnels (`/api/funnel`).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_funnel_counts_sessions_through_pages_and_an_event_in_order() {
    let app = TestApp::start().await;
    let ts = now_ms();
    let at = |id: &str, session: &str, dt: i64, kind: &str, extra: Value| {
        let mut e = json!({"id": id, "ts": ts + dt, "session": session, "kind": kind, "url": "/"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let page = |id: &str, s: &str, dt: i64, path: &str| {
        let mut e = at(id, s, dt, "page_view", json!({}));
        e["url"] = json!(path);
        e
    };
    let purchase = |id: &str, s: &str, dt: i64, plan: &str| {
        at(
            id,
            s,
            dt,
            "custom",
            json!({"name": "purchase", "props": {"plan": plan}}),
        )
    };
    let events = vec![
        // a: the whole way, in 1 min then 2 min.
        page("a1", "a", 0, "/products/kettle"),
        page("a2", "a", 60_000, "/cart"),
        purchase("a3", "a", 180_000, "pro"),
        // b: to the cart, then buys the wrong plan.
        page("b1", "b", 0, "/products/teapot"),
        page("b2", "b", 120_000, "/cart"),
        purchase("b3", "b", 130_000, "free"),
        // c: the cart first does not count; then a product page only.
        page("c1", "c", 0, "/cart"),
        page("c2", "c", 10_000, "/products/mug"),
        // d: never enters.
        page("d1", "d", 0, "/about"),
    ];
    let res = app.ingest(&batch(events)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let funnel = |steps: Value| {
        json!({"site": "shop", "from": ts - 60_000, "to": ts + 3_600_000,
               "funnel": {"name": "checkout", "window_ms": 3_600_000, "steps": steps}})
    };
    let steps = json!([
        {"type": "page", "path": "/products/*"},
        {"type": "page", "path": "/cart"},
        {"type": "event", "name": "purchase", "property": "plan", "value": "pro"}
    ]);
    let res = app
        .http
        .post(app.url("/api/funnel"))
        .header("content-type", "application/json")
        .body(funnel(steps).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let report: sonde_protocol::funnel::FunnelReport = res.json().await.unwrap();
    let entrants: Vec<u64> = report.steps.iter().map(|s| s.entrants).collect();
    assert_eq!(entrants, [3, 2, 1]);
    assert_eq!(report.steps[1].dropped, 1);
    // From the product page to the cart: 1 min (a) and 2 min (b); the lower middle.
    assert_eq!(report.steps[1].median_ms_from_previous, Some(60_000));
    assert_eq!(report.steps[2].median_ms_from_previous, Some(120_000));

    // Pages and events without a property are counted in SQL: the same
    // figures; and the period before, asked for, is empty.
    let mut in_sql = funnel(json!([
        {"type": "page", "path": "/products/*"},
        {"type": "page", "path": "/cart"},
        {"type": "event", "name": "purchase"}
    ]));
    in_sql["compare"] = json!(true);
    let report: sonde_protocol::funnel::FunnelReport = app
        .http
        .post(app.url("/api/funnel"))
        .json(&in_sql)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entrants: Vec<u64> = report.steps.iter().map(|s| s.entrants).collect();
    assert_eq!(entrants, [3, 2, 2], "b's free plan is a purchase too");
    assert_eq!(report.steps[1].median_ms_from_previous, Some(60_000));
    let before: Vec<u64> = report
        .previous
        .unwrap()
        .iter()
        .map(|s| s.entrants)
        .collect();
    assert_eq!(before, [0, 0, 0]);

    // Broken down by browser: every visit here came from Firefox, and a
    // group of fewer than k = 5 units is only counted: the one group of 3.
    in_sql["breakdown"] = json!("browser");
    let report: sonde_protocol::funnel::FunnelReport = app
        .http
        .post(app.url("/api/funnel"))
        .json(&in_sql)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report.breakdown.is_empty());
    assert_eq!(report.breakdown_hidden, 1);

    let err = app
        .http
        .post(app.url("/api/funnel"))
        .header("content-type", "application/json")
        .body(funnel(json!([{"type": "page", "path": "/"}])).to_string())
        .send()
        .await
        .unwrap();
    let err = expect_error(err, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range").await;
    assert_eq!(err.field.as_deref(), Some("steps"));
}
