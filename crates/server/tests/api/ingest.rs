//! Ingest and delivery: batches in, receipts out, bad input refused by name,
//! beacons, CORS, bots and the per-visitor rate limit.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use sonde_protocol::IngestReceipt;
use sonde_protocol::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use sonde_server::store::{DuckDbStore, StoreInspection};

#[tokio::test]
async fn an_ingested_batch_shows_up_in_the_usage_report() {
    // Groups of one visitor are listed here: this test reads the pages.
    let app = TestApp::start_with(|c| c.min_group_size = 1).await;
    let res = app
        .ingest(&batch(vec![
            page_view("e1", "/"),
            page_view("e2", "/products?email=me@example.com&utm_source=news"),
            page_view("e3", "/products"),
        ]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: IngestReceipt = res.json().await.unwrap();
    assert_eq!(receipt.accepted, 3);

    for granularity in ["day", "hour"] {
        let report = app.usage(granularity).await;
        assert_eq!(report.total_pageviews, 3, "{granularity}");
        assert_eq!(report.total_visitors, 1, "{granularity}");
        assert_eq!(report.series.iter().map(|p| p.pageviews).sum::<u64>(), 3);
    }
    // One bucket per day of the site's calendar (UTC) the range touches:
    // three, or four when the hour after now runs past midnight.
    const DAY: i64 = 86_400_000;
    let now = now_ms();
    let (from, to) = (now - 2 * DAY, now + 3_600_000);
    let report = app.usage_between("day", from, to).await;
    let days = ((to - 1).div_euclid(DAY) - from.div_euclid(DAY) + 1) as usize;
    assert_eq!(
        report.series.len(),
        days,
        "two days back, today (and tomorrow)"
    );
    let pages: Vec<(&str, u64)> = report
        .top_pages
        .iter()
        .map(|p| (p.path.as_str(), p.pageviews))
        .collect();
    // The query (an e-mail address, a campaign) is not part of the page.
    assert_eq!(pages, vec![("/products", 2), ("/", 1)]);
}

#[tokio::test]
async fn a_retried_batch_counts_once() {
    let app = TestApp::start().await;
    let b = batch(vec![page_view("r1", "/"), page_view("r2", "/cart")]);
    let first: IngestReceipt = app.ingest(&b).await.json().await.unwrap();
    let again: IngestReceipt = app.ingest(&b).await.json().await.unwrap();
    assert_eq!((first.accepted, first.duplicates), (2, 0));
    assert_eq!((again.accepted, again.duplicates), (0, 2));
    assert_eq!(app.usage("day").await.total_pageviews, 2);
}

#[tokio::test]
async fn events_of_an_ungranted_category_are_dropped() {
    let app = TestApp::start().await;
    let mut b = batch(vec![page_view("c1", "/")]);
    b["consent"] = json!({"usage": false, "errors": true});
    let receipt: IngestReceipt = app.ingest(&b).await.json().await.unwrap();
    assert_eq!(receipt.accepted, 0);
    assert_eq!(receipt.dropped_by_consent, 1);
    assert_eq!(app.usage("day").await.total_pageviews, 0);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_server_stays_up() {
    let app = TestApp::start().await;

    expect_error(
        app.post_raw("application/json", "{\"site\": \"shop\", ")
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;

    let missing = expect_error(
        app.ingest(&json!({"site": "shop", "events": [page_view("m1", "/")]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert!(missing.message.contains("consent"), "{missing:?}");

    let mut unknown = batch(vec![page_view("u1", "/")]);
    unknown["site"] = json!("nope");
    let err = expect_error(
        app.ingest(&unknown).await,
        StatusCode::NOT_FOUND,
        "unknown_site",
    )
    .await;
    assert_eq!(err.field.as_deref(), Some("site"));

    let many = (0..=MAX_EVENTS_PER_BATCH)
        .map(|i| page_view(&format!("t{i}"), "/"))
        .collect();
    let err = expect_error(
        app.ingest(&batch(many)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_events",
    )
    .await;
    assert!(err.message.contains(&MAX_EVENTS_PER_BATCH.to_string()));

    let huge = format!(
        "{{\"site\":\"shop\",\"pad\":\"{}\"}}",
        "x".repeat(MAX_BODY_BYTES)
    );
    expect_error(
        app.post_raw("application/json", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;

    expect_error(
        app.post_raw("application/x-www-form-urlencoded", "site=shop")
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_content_type",
    )
    .await;

    let res = app
        .http
        .post(app.url("/api/ingest"))
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(batch(vec![page_view("o1", "/")]).to_string())
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "origin_not_allowed").await;

    // Still serving, and nothing refused was stored.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(app.usage("day").await.total_pageviews, 0);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sonde_ingest_requests_total 7"),
        "{metrics}"
    );
    assert!(metrics.contains("sonde_ingest_rejected_total{reason=\"too_many_events\"} 1"));
}

#[tokio::test]
async fn a_beacon_sent_as_text_plain_is_accepted() {
    let app = TestApp::start().await;
    let res = app
        .post_raw(
            "text/plain;charset=UTF-8",
            batch(vec![page_view("b1", "/")]).to_string(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_preflight_allows_only_configured_origins() {
    let app = TestApp::start().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/ingest"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(ORIGIN).await.unwrap();
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        ORIGIN
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_batch_with_some_bad_events_stores_the_rest_and_names_each_refused_one() {
    let app = TestApp::start().await;
    let long = format!("/{}", "a".repeat(sonde_protocol::limits::MAX_URL_LEN));
    let mut stale = page_view("bad-ts", "/old");
    stale["ts"] = json!(now_ms() - 30 * 86_400_000);
    let res = app
        .ingest(&batch(vec![
            page_view("ok-1", "/"),
            page_view("bad-url", &long),
            stale,
            page_view("ok-2", "/cart"),
        ]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: IngestReceipt = res.json().await.unwrap();
    assert_eq!(receipt.accepted, 2);
    let refused: Vec<(&str, &str, &str)> = receipt
        .rejected
        .iter()
        .map(|r| (r.id.as_str(), r.code.as_str(), r.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("bad-url", "too_long", "events[1].url"),
            ("bad-ts", "timestamp_out_of_range", "events[2].ts")
        ]
    );
    assert!(receipt.rejected[0].message.contains("limit"));
    assert_eq!(app.usage("day").await.total_pageviews, 2);

    // A batch with nothing valid is refused whole, for its first bad event.
    let err = expect_error(
        app.ingest(&batch(vec![page_view("only-bad", &long)])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_long",
    )
    .await;
    assert_eq!(err.field.as_deref(), Some("events[0].url"));
}

#[tokio::test]
async fn bots_are_counted_per_site_and_not_stored() {
    let app = TestApp::start().await;
    for (i, bot) in [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .http
            .post(app.url("/api/ingest"))
            .header("content-type", "application/json")
            .header("origin", ORIGIN)
            .header("user-agent", bot)
            .body(batch(vec![page_view(&format!("bot-{i}"), "/")]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{bot}");
        let receipt: IngestReceipt = res.json().await.unwrap();
        assert!(receipt.bot, "{bot:?} was not taken for a bot");
        assert_eq!(receipt.accepted, 0);
    }
    let res = app.ingest(&batch(vec![page_view("person", "/")])).await;
    let receipt: IngestReceipt = res.json().await.unwrap();
    assert!(!receipt.bot);
    assert_eq!(receipt.accepted, 1);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sonde_bot_requests_total{site=\"shop\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("sonde_write_queue_depth 0"), "{metrics}");
    assert!(
        metrics.contains("sonde_commit_seconds_count 1"),
        "{metrics}"
    );

    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    assert_eq!(store.bot_requests("shop").unwrap(), 3);
    assert_eq!(store.event_count("shop").unwrap(), 1);
    let rows = store.dump_as_text("events").unwrap();
    assert!(rows.contains("\tFirefox\tLinux\tdesktop\t"), "{rows}");
}

#[tokio::test]
async fn a_visitor_over_the_rate_limit_is_told_when_to_come_back() {
    // One request per second after a burst of ten.
    let app = TestApp::start_with(|c| c.rate_limit_visitor = 1).await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..12 {
        let res = app
            .ingest(&batch(vec![page_view(&format!("rl-{i}"), "/")]))
            .await;
        statuses.push(res.status().as_u16());
        if res.status() == StatusCode::TOO_MANY_REQUESTS && refused.is_none() {
            refused = Some(res);
        }
    }
    assert_eq!(&statuses[..10], &[200; 10], "{statuses:?}");
    let res = refused.expect("the burst ends");
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.usage("day").await.total_pageviews, 10);
}
