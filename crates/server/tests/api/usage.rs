//! The usage report and the overview.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_bad_usage_query_says_what_is_wrong() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(app.url("/api/usage?site=shop&from=10&to=5"))
        .send()
        .await
        .unwrap();
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(err.field.as_deref(), Some("to"));
    let res = app
        .http
        .get(app.url("/api/usage?site=shop"))
        .send()
        .await
        .unwrap();
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(err.message.contains("from"), "{err:?}");
    let res = app
        .http
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_overview_answers_key_figures_breakdowns_and_hides_small_groups() {
    let app = TestApp::start_with(|c| c.min_group_size = 2).await;
    let ts = now_ms();
    let view = |id: &str, session: &str, url: &str, referrer: Option<&str>| {
        let mut e =
            json!({"id": id, "ts": ts, "session": session, "kind": "page_view", "url": url});
        if let Some(r) = referrer {
            e["referrer"] = json!(r);
        }
        e
    };
    // Two visitors (two addresses are not available here, so two user
    // agents), three sessions.
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    for (ua, events) in [
        (
            UA,
            vec![
                view("o1", "a", "/", Some("news.example")),
                view("o2", "a", "/cart", None),
            ],
        ),
        (chrome, vec![view("o3", "b", "/", Some("news.example"))]),
        (chrome, vec![view("o4", "c", "/pricing", None)]),
    ] {
        let res = app
            .http
            .post(app.url("/api/ingest"))
            .header("content-type", "application/json")
            .header("origin", ORIGIN)
            .header("user-agent", ua)
            .body(batch(events).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app.query_around("/api/overview", ts, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: sonde_protocol::overview::OverviewReport = res.json().await.unwrap();
    let c = report.current;
    assert_eq!((c.visitors, c.sessions, c.pageviews), (2, 3, 4));
    assert!((c.bounce_rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(report.k, 2);
    let pages: Vec<(&str, u64)> = report
        .pages
        .rows
        .iter()
        .map(|r| (r.label.as_str(), r.visitors))
        .collect();
    assert_eq!(pages, [("/", 2)], "one visitor each on /cart and /pricing");
    assert_eq!(report.pages.small_groups, 2);
    let browsers: Vec<&str> = report
        .browsers
        .rows
        .iter()
        .map(|r| r.label.as_str())
        .collect();
    assert!(browsers.is_empty(), "one visitor per browser: {browsers:?}");

    // Filtered to sessions from news.example.
    let res = app
        .query_around("/api/overview", ts, &[("source", "news.example")])
        .await;
    let filtered: sonde_protocol::overview::OverviewReport = res.json().await.unwrap();
    assert_eq!(
        (filtered.current.sessions, filtered.current.pageviews),
        (2, 3)
    );

    let err = app
        .http
        .get(app.url("/api/overview"))
        .query(&[("site", "shop"), ("from", "10"), ("to", "5")])
        .send()
        .await
        .unwrap();
    let err = expect_error(err, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(err.field.as_deref(), Some("to"));
}
