//! The HTTP API over a real socket, on a temporary DuckDB file.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_protocol::IngestReceipt;
use sonde_protocol::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use sonde_server::store::{DuckDbStore, EventStore};
use support::*;
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
async fn neither_the_ip_address_nor_the_user_agent_is_stored() {
    let app = TestApp::start().await;
    let res = app.ingest(&batch(vec![page_view("p1", "/")])).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.server.shutdown().await.unwrap();

    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    let stored = store.dump_as_text("events").unwrap();
    assert!(
        stored.contains("p1"),
        "the event itself is stored: {stored}"
    );
    for secret in ["127.0.0.1", UA, "SondeTest"] {
        assert!(!stored.contains(secret), "{secret} is stored: {stored}");
    }
    // Closed first: opening the file checkpoints it and removes its log.
    drop(store);
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("127.0.0.1"),
            "{} holds the IP",
            path.display()
        );
    }
}

fn consent_record(consent_id: &str, decided_at: i64) -> Value {
    json!({
        "site": "shop", "consent_id": consent_id,
        "grants": {"usage": true, "errors": false, "performance": true, "marketing": false},
        "policy_version": 2, "gpc": true, "source": "banner", "decided_at": decided_at
    })
}

#[tokio::test]
async fn a_consent_record_is_stored_once_without_any_visitor_data() {
    let app = TestApp::start().await;
    let record = consent_record("c0ffee01", now_ms());
    let res = app.post("/api/consent", &record).await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: sonde_protocol::ConsentReceipt = res.json().await.unwrap();
    assert!(receipt.stored);
    // A retried send of the same decision is not a second decision.
    let again: sonde_protocol::ConsentReceipt = app
        .post("/api/consent", &record)
        .await
        .json()
        .await
        .unwrap();
    assert!(!again.stored);

    let mut bad = record.clone();
    bad["source"] = json!("popup");
    let err = expect_error(
        app.post("/api/consent", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(err.field.as_deref(), Some("source"));
    let mut unknown = record.clone();
    unknown["site"] = json!("nope");
    expect_error(
        app.post("/api/consent", &unknown).await,
        StatusCode::NOT_FOUND,
        "unknown_site",
    )
    .await;

    // GPC sent as a header only is recorded too.
    let mut header_only = consent_record("c0ffee03", now_ms());
    header_only["gpc"] = json!(false);
    let res = app
        .http
        .post(app.url("/api/consent"))
        .header("content-type", "text/plain")
        .header("sec-gpc", "1")
        .body(header_only.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    assert_eq!(store.consent_count("shop").unwrap(), 2);
    let gpc_rows = store
        .dump_as_text("consents")
        .unwrap()
        .lines()
        .filter(|row| row.contains("c0ffee03") && row.contains("\tbanner\ttrue\t"))
        .count();
    assert_eq!(gpc_rows, 1, "the header counts as GPC");
    let stored = store.dump_as_text("consents").unwrap();
    assert!(
        stored.contains("c0ffee01") && stored.contains("banner"),
        "{stored}"
    );
    for secret in ["127.0.0.1", UA, "SondeTest"] {
        assert!(!stored.contains(secret), "{secret} is stored: {stored}");
    }
}

#[tokio::test]
async fn every_event_kind_is_stored_scrubbed_and_marketing_needs_its_grant() {
    let app = TestApp::start().await;
    let ts = now_ms();
    let events = vec![
        json!({"id": "k1", "ts": ts, "url": "/cart", "kind": "page_view",
               "referrer": "https://news.example/a?b", "campaign": {"source": "news"}}),
        json!({"id": "k2", "ts": ts, "url": "/cart", "kind": "click", "name": "add_to_cart"}),
        json!({"id": "k3", "ts": ts, "url": "/orders/12345678", "kind": "error",
               "message": "failed for jane@example.com", "line": 3, "column": 9, "rejection": false}),
        json!({"id": "k4", "ts": ts, "url": "/", "kind": "vital", "metric": "lcp", "value": 1234.0}),
        json!({"id": "k5", "ts": ts, "url": "/thanks", "kind": "custom", "name": "purchase",
               "props": {"items": 2, "coupon": "SPRING"}, "value": 67.5}),
    ];
    let body = json!({"site": "shop",
        "consent": {"usage": true, "errors": true, "performance": false, "marketing": false},
        "events": events});
    let res = app.ingest(&body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: IngestReceipt = res.json().await.unwrap();
    assert_eq!(receipt.accepted, 4);
    assert_eq!(receipt.dropped_by_consent, 1, "the vital needs performance");

    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    let stored = store.dump_as_text("events").unwrap();
    assert!(
        stored.contains("news.example"),
        "the referrer host is usage: {stored}"
    );
    assert!(
        !stored.contains("\tnews\t"),
        "the campaign needs marketing: {stored}"
    );
    assert!(stored.contains("failed for [email]"), "{stored}");
    assert!(stored.contains("/orders/[number]"), "{stored}");
    assert!(!stored.contains("jane@example.com") && !stored.contains("12345678"));
    assert!(
        stored.contains("{\"coupon\":\"SPRING\",\"items\":2.0}"),
        "{stored}"
    );
    assert!(stored.contains("67.5"), "{stored}");
}

#[tokio::test]
async fn erase_deletes_todays_events_of_this_browser_its_sessions_and_consent_records() {
    let app = TestApp::start().await;
    let ts = now_ms();
    let event = |id: &str, session: &str| json!({"id": id, "ts": ts, "session": session, "url": "/", "kind": "page_view"});
    // Two events from this browser today, one from an older tab session of
    // it, and one from another browser (another user agent).
    app.ingest(&batch(vec![
        event("mine-1", "tab-a"),
        event("mine-2", "tab-a"),
    ]))
    .await;
    let other = reqwest::Client::builder()
        .user_agent("SomeoneElse/2.0")
        .build()
        .unwrap();
    let res = other
        .post(app.url("/api/ingest"))
        .header("content-type", "application/json")
        .body(batch(vec![event("theirs", "tab-z"), event("old-tab", "tab-b")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.post("/api/consent", &consent_record("c0ffee02", ts))
        .await;
    app.post("/api/consent", &consent_record("c0ffee02", ts + 1))
        .await;

    let res = app
        .post(
            "/api/erase",
            &json!({"site": "shop", "sessions": ["tab-b"], "consent_id": "c0ffee02"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: sonde_protocol::EraseReceipt = res.json().await.unwrap();
    assert_eq!(receipt.events_deleted, 3, "mine-1, mine-2 and old-tab");
    assert_eq!(receipt.consent_records_deleted, 2);

    let bad = app
        .post(
            "/api/erase",
            &json!({"site": "shop", "sessions": ["no spaces"]}),
        )
        .await;
    let err = expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_id").await;
    assert_eq!(err.field.as_deref(), Some("sessions[0]"));

    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    let stored = store.dump_as_text("events").unwrap();
    assert!(stored.contains("theirs"), "{stored}");
    for gone in ["mine-1", "mine-2", "old-tab"] {
        assert!(!stored.contains(gone), "{gone} survived: {stored}");
    }
    assert_eq!(store.consent_count("shop").unwrap(), 0);
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
async fn a_sec_gpc_header_keeps_campaigns_out_even_when_the_page_grants_marketing() {
    let app = TestApp::start().await;
    let landing = |id: &str| {
        json!({"id": id, "ts": now_ms(), "url": "/", "kind": "page_view",
               "campaign": {"source": "newsletter", "campaign": "spring"}})
    };
    let body = |id: &str| json!({"site": "shop", "consent": {"usage": true, "marketing": true}, "events": [landing(id)]});
    let res = app
        .http
        .post(app.url("/api/ingest"))
        .header("content-type", "text/plain")
        .header("origin", ORIGIN)
        .header("sec-gpc", "1")
        .body(body("gpc-1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.ingest(&body("no-gpc-1")).await;
    assert_eq!(res.status(), StatusCode::OK);

    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    let rows = store.dump_as_text("events").unwrap();
    let row = |id: &str| {
        rows.lines()
            .find(|l| l.starts_with(&format!("{id}\t")))
            .unwrap_or_else(|| panic!("{id} is not stored: {rows}"))
            .to_owned()
    };
    assert!(!row("gpc-1").contains("newsletter"), "{}", row("gpc-1"));
    assert!(
        row("no-gpc-1").contains("\tnewsletter\t"),
        "{}",
        row("no-gpc-1")
    );
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
async fn readiness_says_the_store_and_writer_are_up() {
    let app = TestApp::start().await;
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_and_the_wire_types() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/ingest",
        "/api/consent",
        "/api/erase",
        "/api/usage",
        "/api/overview",
        "/api/funnel",
        "/api/consent-report",
        "/api/errors",
        "/api/conversions",
        "/api/performance",
        "/api/session",
        "/api/sites/{site}/funnels",
        "/api/sites",
        "/api/admin/sites",
        "/api/banner/{site}",
        "/api/dashboard-telemetry",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not described");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "Batch",
        "Event",
        "IngestReceipt",
        "RejectedEvent",
        "ApiError",
        "BannerSettings",
        "DashboardTelemetry",
    ] {
        assert!(schemas[schema].is_object(), "{schema} is not described");
    }
    assert!(doc["paths"]["/api/ingest"]["post"]["responses"]["429"].is_object());
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token_and_refuses_a_wrong_one() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(app.url("/api/admin/sites"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "admin_off").await;

    let app = TestApp::start_with(|c| c.admin_token = Some("s3cret-admin".into())).await;
    let res = app
        .http
        .get(app.url("/api/admin/sites"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    expect_error(res, StatusCode::UNAUTHORIZED, "not_authorized").await;
}

#[tokio::test]
async fn a_site_added_through_the_admin_api_takes_events_at_once_and_keeps_its_settings() {
    let app = TestApp::start_with(|c| c.admin_token = Some("s3cret-admin".into())).await;
    let put = |body: Value| {
        app.http
            .put(app.url("/api/admin/sites/blog"))
            .bearer_auth("s3cret-admin")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let err = expect_error(
        put(json!({"key": "blog", "origins": ["https://blog.example"], "timezone": "Mars/Base"}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_timezone",
    )
    .await;
    assert_eq!(err.field.as_deref(), Some("timezone"));
    let err = expect_error(
        put(json!({"key": "blog", "origins": ["blog.example"]}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_origin",
    )
    .await;
    assert_eq!(err.field.as_deref(), Some("origins[0]"));

    let res = put(json!({"key": "blog", "name": "The blog", "origins": ["https://blog.example"],
                         "timezone": "Europe/Berlin", "retention": {"usage": 30, "errors": 7, "performance": 7, "marketing": 7}}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let saved: sonde_protocol::SiteSettings = res.json().await.unwrap();
    assert_eq!(saved.timezone, "Europe/Berlin");
    assert_eq!(saved.retention.usage, 30);

    // Events for the new site, from its origin, are taken at once.
    let mut b = batch(vec![page_view("blog-1", "/post")]);
    b["site"] = json!("blog");
    let res = app
        .http
        .post(app.url("/api/ingest"))
        .header("content-type", "application/json")
        .header("origin", "https://blog.example")
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let listed: Vec<sonde_protocol::SiteSettings> = app
        .http
        .get(app.url("/api/admin/sites"))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["blog", "shop"]);

    let res = app
        .http
        .delete(app.url("/api/admin/sites/blog"))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .http
        .post(app.url("/api/ingest"))
        .header("content-type", "application/json")
        .header("origin", "https://blog.example")
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "unknown_site").await;

    // Settings are kept in the store: a restart serves them again.
    let res =
        put(json!({"key": "blog", "origins": ["https://blog.example"], "timezone": "Asia/Tokyo"}))
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.server.shutdown().await.unwrap();
    let store = DuckDbStore::open(&app.data_dir.join("sonde.duckdb")).unwrap();
    let blog = store
        .sites()
        .unwrap()
        .into_iter()
        .find(|s| s.key == "blog")
        .expect("the blog is stored");
    assert_eq!(blog.timezone, "Asia/Tokyo");
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

#[tokio::test]
async fn the_consent_report_counts_banners_decisions_grants_and_gpc() {
    let app = TestApp::start().await;
    // Five banners shown: each downloads the site's banner settings.
    for _ in 0..5 {
        let res = app
            .http
            .get(app.url("/api/banner/shop"))
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let ts = now_ms();
    let decide = |id: &str, grants: [bool; 4], gpc: bool, source: &str| {
        let [usage, errors, performance, marketing] = grants;
        json!({"site": "shop", "consent_id": id, "policy_version": 1, "gpc": gpc,
               "source": source, "decided_at": ts,
               "grants": {"usage": usage, "errors": errors, "performance": performance, "marketing": marketing}})
    };
    for record in [
        decide("c1", [true; 4], false, "banner"),
        // "Accept all" under GPC leaves marketing off: still accept all.
        decide("c2", [true, true, true, false], true, "banner"),
        decide("c3", [false; 4], false, "banner"),
        decide("c4", [true, false, false, false], false, "banner"),
    ] {
        let res = app.post("/api/consent", &record).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Later, c4 withdraws in the settings (a new decision, a new time).
    let mut withdrawn = decide("c4", [false; 4], false, "settings");
    withdrawn["decided_at"] = json!(ts + 60_000);
    let res = app.post("/api/consent", &withdrawn).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.query_around("/api/consent-report", ts, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let r: sonde_protocol::consent_report::ConsentReport = res.json().await.unwrap();
    assert_eq!(r.banners_shown, 5);
    assert_eq!(
        (r.decisions, r.accept_all, r.reject_all, r.custom),
        (4, 2, 1, 1)
    );
    assert_eq!(r.settings_changes, 1);
    assert_eq!(r.grant_rates.usage, 0.75);
    assert_eq!(r.grant_rates.errors, 0.5);
    assert_eq!(r.grant_rates.marketing, 0.25);
    assert_eq!(r.gpc_share, 0.25);
    assert_eq!(r.answer_rate, Some(0.8));
    // 3 of 5 banners granted usage; the decisions were sent by Firefox on
    // Linux, a desktop.
    assert_eq!(r.coverage.unwrap().value, 0.6);
    assert_eq!(r.by_device.len(), 1);
    assert_eq!(
        (r.by_device[0].label.as_str(), r.by_device[0].decisions),
        ("desktop", 4)
    );
    let sources: Vec<(&str, u64)> = r
        .by_decision_source
        .iter()
        .map(|g| (g.label.as_str(), g.decisions))
        .collect();
    assert_eq!(sources, [("banner", 4), ("settings", 1)]);

    // The log, exported in both formats, verifies; a changed line does not.
    for format in ["jsonl", "csv"] {
        let res = app
            .query_around("/api/consent-log", ts + 60_000, &[("format", format)])
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains(&format!("consent-log-shop.{format}"))
        );
        let text = res.text().await.unwrap();
        let entries = sonde_server::reports::consent_log::parse(&text).unwrap();
        assert_eq!(entries.len(), 5, "{text}");
        assert_eq!(sonde_server::reports::consent_log::verify(&entries), Ok(()));
        let tampered = text.replacen("c3", "c9", 1);
        let entries = sonde_server::reports::consent_log::parse(&tampered).unwrap();
        assert!(sonde_server::reports::consent_log::verify(&entries).is_err());
    }
    let bad = app
        .query_around("/api/consent-log", ts, &[("format", "xml")])
        .await;
    let bad = expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(bad.field.as_deref(), Some("format"));
}

/// Every report takes the same filters and the period before, as query
/// parameters over HTTP (the funnel in its JSON body).
#[tokio::test]
async fn every_report_takes_filters_and_the_period_before() {
    let app = TestApp::start().await;
    let now = now_ms();
    // Two visits: one from a newsletter on a phone, one direct; each hits
    // an error and reports its LCP.
    let visit = |session: &str, url: &str, referrer: Option<&str>, campaign: Value| {
        let mut view = json!({"id": format!("{session}-view"), "ts": now, "session": session,
                              "kind": "page_view", "url": url, "campaign": campaign});
        if let Some(r) = referrer {
            view["referrer"] = json!(r);
        }
        vec![
            view,
            json!({"id": format!("{session}-error"), "ts": now + 1, "session": session, "kind": "error",
                   "url": url, "message": format!("Total {session} is NaN")}),
            json!({"id": format!("{session}-lcp"), "ts": now + 2, "session": session, "kind": "vital",
                   "url": url, "metric": "lcp", "value": 1200.0}),
            json!({"id": format!("{session}-buy"), "ts": now + 3, "session": session, "kind": "custom",
                   "url": url, "name": "purchase", "value": 10.0}),
        ]
    };
    let mut events = visit(
        "mail",
        "/",
        Some("https://mail.example/inbox"),
        json!({"source": "newsletter", "medium": "email"}),
    );
    events.extend(visit("typed", "/cart", None, json!({})));
    let body = json!({"site": "shop", "consent": {"usage": true, "errors": true, "performance": true, "marketing": true},
                      "events": events});
    let res = app.ingest(&body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let goal: Value = app
        .http
        .post(app.url("/api/sites/shop/goals"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "Purchase", "target": {"type": "event", "name": "purchase"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let goal = goal["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{goal}"))
        .to_owned();

    let get = |path: &'static str, extra: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut params: Vec<(&str, String)> = vec![("compare", "true".into())];
            params.extend(extra);
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.query_around(path, now, &params).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            res.json::<Value>().await.unwrap()
        }
    };
    let newsletter = || vec![("source", "newsletter".to_owned())];
    let usage = get("/api/usage", newsletter()).await;
    assert_eq!(usage["total_pageviews"], 1);
    assert_eq!(usage["previous"], json!({"pageviews": 0, "visitors": 0}));
    let usage = get("/api/usage", vec![("medium", "email".into())]).await;
    assert_eq!(usage["total_pageviews"], 1);
    let usage = get("/api/usage", vec![("referrer", "direct".into())]).await;
    // The direct visit's one page, hidden as a group under k visitors.
    assert_eq!(
        (
            usage["total_pageviews"].as_u64(),
            usage["top_pages_hidden"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let errors = get("/api/errors", newsletter()).await;
    assert_eq!(errors["groups"].as_array().unwrap().len(), 1);
    assert_eq!(errors["totals"]["errors"], 1);
    assert_eq!(errors["previous"]["errors"], 0);
    assert_eq!(
        errors["groups"][0]["previous_count"], 0,
        "new in this period"
    );
    assert_eq!(get("/api/errors", vec![]).await["totals"]["errors"], 2);

    let performance = get("/api/performance", newsletter()).await;
    assert_eq!(performance["site"][0]["samples"], 1);
    assert_eq!(performance["previous"], json!([]));

    let conversions = get(
        "/api/conversions",
        vec![("goal", goal.clone()), ("entry_page", "/cart".into())],
    )
    .await;
    assert_eq!(
        (
            conversions["visits"].as_u64(),
            conversions["conversions"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(conversions["previous"]["visits"], 0);
    assert_eq!(
        conversions["sources"]["rows"],
        json!([]),
        "one visitor is under k"
    );

    let funnel = app
        .http
        .post(app.url("/api/funnel"))
        .json(&json!({"site": "shop", "from": now - 3_600_000, "to": now + 3_600_000, "compare": true,
                      "filters": {"source": "newsletter"},
                      "funnel": {"name": "Buy", "window_ms": 3_600_000, "unit": "session",
                                 "steps": [{"type": "page", "path": "/*"}, {"type": "event", "name": "purchase"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(funnel.status(), StatusCode::OK);
    let funnel: Value = funnel.json().await.unwrap();
    assert_eq!(funnel["steps"][1]["entrants"], 1);
    assert_eq!(funnel["previous"][0]["entrants"], 0);

    let consent = get("/api/consent-report", vec![]).await;
    assert_eq!(consent["previous"]["decisions"], 0);

    // A filter's value is compared as given: an unknown source selects nothing.
    let nothing = get("/api/usage", vec![("source", "nowhere.example".into())]).await;
    assert_eq!(nothing["total_pageviews"], 0);
    // `compare` must be a boolean.
    let res = app
        .query_around("/api/usage", now, &[("compare", "sometimes")])
        .await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}

/// `GET url` with the given request headers.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_banner_downloads_its_sites_wording_uncached_and_each_download_is_one_impression() {
    let app = TestApp::start_with(|c| c.admin_token = Some("s3cret-admin".into())).await;
    // Before any wording: every part null, the banner's own text applies.
    let res = get_with(&app, "/api/banner/shop", &[("origin", ORIGIN)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    let plain: Value = res.json().await.unwrap();
    assert_eq!(
        plain,
        json!({"title": null, "text": null, "policy_url": null})
    );

    let wording = json!({
        "title": "Privacy at the shop",
        "text": "We count visits, nothing more.\nYou decide.",
        "policy_url": "https://shop.example/privacy"
    });
    let res = app
        .http
        .put(app.url("/api/admin/sites/shop"))
        .bearer_auth("s3cret-admin")
        .json(&json!({"key": "shop", "origins": [ORIGIN], "banner": wording}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let saved: sonde_protocol::SiteSettings = res.json().await.unwrap();
    assert_eq!(
        saved.banner.policy_url.as_deref(),
        Some("https://shop.example/privacy")
    );

    for _ in 0..2 {
        let res = get_with(&app, "/api/banner/shop", &[("origin", ORIGIN)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "cache-control"), Some("no-store"));
        assert_eq!(header(&res, "access-control-allow-origin"), Some(ORIGIN));
        assert!(
            header(&res, "content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let banner: sonde_protocol::BannerSettings = res.json().await.unwrap();
        assert_eq!(banner.title.as_deref(), Some("Privacy at the shop"));
        assert_eq!(
            banner.text.as_deref(),
            Some("We count visits, nothing more.\nYou decide.")
        );
    }
    // Another origin gets the answer (it is no secret) but its page may not
    // read it.
    let res = get_with(
        &app,
        "/api/banner/shop",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    // A HEAD shows no banner to anyone.
    let res = app
        .http
        .head(app.url("/api/banner/shop"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The plain one, the two worded ones and the other origin's: four.
    assert_eq!(app.server.store().banner_impressions("shop").unwrap(), 4);
    // Reopened settings are not a banner asking for a decision.
    let res = get_with(
        &app,
        "/api/banner/shop?reason=settings",
        &[("origin", ORIGIN)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    assert_eq!(app.server.store().banner_impressions("shop").unwrap(), 4);

    let res = get_with(&app, "/api/banner/nope", &[("origin", ORIGIN)]).await;
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let err = expect_error(res, StatusCode::NOT_FOUND, "unknown_site").await;
    assert!(err.message.contains("\"nope\""), "{err:?}");
    assert_eq!(err.field.as_deref(), Some("site"));
    assert_eq!(app.server.store().banner_impressions("nope").unwrap(), 0);

    // The banner code itself counts nothing any more.
    let res = get_with(&app, "/sonde/banner.js?site=shop", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.server.store().banner_impressions("shop").unwrap(), 4);
}

#[tokio::test]
async fn bad_banner_wording_is_refused_by_field_and_old_settings_still_load() {
    // A site stored by a Sonde from before banner wording.
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let file = data_dir.join("sonde.duckdb");
    drop(DuckDbStore::open(&file).unwrap());
    let conn = duckdb::Connection::open(&file).unwrap();
    conn.execute(
        "INSERT INTO sites VALUES ('old', ?)",
        [r#"{"key":"old","name":"Old","origins":["https://old.example"],"timezone":"Europe/Berlin","policy_version":2,"retention":{"usage":30,"errors":7,"performance":7,"marketing":7}}"#],
    )
    .unwrap();
    drop(conn);
    let app = TestApp::start_with(move |c| {
        c.data_dir = data_dir;
        c.admin_token = Some("s3cret-admin".into());
    })
    .await;
    let res = get_with(
        &app,
        "/api/banner/old",
        &[("origin", "https://old.example")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://old.example")
    );
    let banner: sonde_protocol::BannerSettings = res.json().await.unwrap();
    assert!(banner.is_empty());

    let put = |banner: Value| {
        app.http
            .put(app.url("/api/admin/sites/old"))
            .bearer_auth("s3cret-admin")
            .json(&json!({"key": "old", "origins": ["https://old.example"], "banner": banner}))
            .send()
    };
    for (banner, code, field) in [
        (
            json!({"policy_url": "javascript:alert(1)"}),
            "invalid_url",
            "banner.policy_url",
        ),
        (
            json!({"policy_url": "/privacy"}),
            "invalid_url",
            "banner.policy_url",
        ),
        (
            json!({"policy_url": format!("https://old.example/{}", "p".repeat(2048))}),
            "too_long",
            "banner.policy_url",
        ),
        (
            json!({"title": "t".repeat(121)}),
            "too_long",
            "banner.title",
        ),
        (json!({"text": "t".repeat(1001)}), "too_long", "banner.text"),
        (json!({"title": ""}), "empty_field", "banner.title"),
    ] {
        let err = expect_error(
            put(banner.clone()).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
        assert_eq!(err.field.as_deref(), Some(field), "{banner}: {err:?}");
        assert!(err.message.contains(field), "{err:?}");
    }
    // Nothing refused was kept.
    let res = get_with(&app, "/api/banner/old", &[]).await;
    let banner: sonde_protocol::BannerSettings = res.json().await.unwrap();
    assert!(banner.is_empty());
    // The longest title allowed is taken.
    let res = put(json!({"title": "t".repeat(120)})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A built web directory as the build lays it out: the loader and the
/// content-hashed files, each beside its brotli and gzip variants (their
/// content marks which one was sent).
fn built_web_dir() -> tempfile::TempDir {
    let web = tempfile::tempdir().unwrap();
    let dir = web.path();
    std::fs::create_dir_all(dir.join("sonde")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><title>Sonde</title>{}", " ".repeat(2048)),
    )
    .unwrap();
    for (name, body) in [
        ("sonde.js", b"loader".as_slice()),
        ("sonde/collector-0123456789abcdef.js", b"collector glue"),
        ("sonde/collector-0123456789abcdef.wasm", b"\0asm\x01\0\0\0"),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
        std::fs::write(dir.join(format!("{name}.br")), format!("{name} as br")).unwrap();
        std::fs::write(dir.join(format!("{name}.gz")), format!("{name} as gzip")).unwrap();
    }
    web
}

#[tokio::test]
async fn embed_files_are_cached_by_their_name_and_sent_precompressed() {
    let web = built_web_dir();
    let web_dir = web.path().to_owned();
    let app = TestApp::start_with(move |c| c.web_dir = Some(web_dir)).await;
    let loader_cache = "public, max-age=300, stale-while-revalidate=86400";
    let immutable = "public, max-age=31536000, immutable";
    for (path, accept, encoding, body, content_type, cache) in [
        (
            "/sonde.js",
            Some("gzip, deflate, br, zstd"),
            Some("br"),
            "sonde.js as br",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde.js",
            Some("gzip"),
            Some("gzip"),
            "sonde.js as gzip",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde.js",
            None,
            None,
            "loader",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde/collector-0123456789abcdef.js",
            Some("br;q=1.0, gzip;q=0.8"),
            Some("br"),
            "sonde/collector-0123456789abcdef.js as br",
            "text/javascript",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.js",
            Some("identity"),
            None,
            "collector glue",
            "text/javascript",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            Some("gzip"),
            Some("gzip"),
            "sonde/collector-0123456789abcdef.wasm as gzip",
            "application/wasm",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            Some("br"),
            Some("br"),
            "sonde/collector-0123456789abcdef.wasm as br",
            "application/wasm",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            None,
            None,
            "\0asm\x01\0\0\0",
            "application/wasm",
            immutable,
        ),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let res = get_with(&app, path, &headers).await;
        let what = format!("{path} with {accept:?}");
        assert_eq!(res.status(), StatusCode::OK, "{what}");
        assert_eq!(header(&res, "cache-control"), Some(cache), "{what}");
        assert_eq!(header(&res, "content-encoding"), encoding, "{what}");
        assert_eq!(header(&res, "content-type"), Some(content_type), "{what}");
        let vary: Vec<&str> = res
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            vary,
            ["accept-encoding"],
            "{what}: sent once, not compressed again"
        );
        assert_eq!(res.bytes().await.unwrap(), body.as_bytes(), "{what}");
    }
    // A name that is not there is not cached as missing.
    let res = get_with(
        &app,
        "/sonde/collector-ffffffffffffffff.js",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_ne!(header(&res, "cache-control"), Some(immutable));
    // The dashboard is as before, now compressed with brotli too.
    let res = get_with(&app, "/", &[("accept-encoding", "br")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-encoding"), Some("br"));
    assert_eq!(header(&res, "cache-control"), None);
    let res = get_with(&app, "/some/client/route", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn dashboard_telemetry_is_off_by_default_and_on_counts_the_dashboard_as_a_site() {
    let app = TestApp::start().await;
    let res = get_with(&app, "/api/dashboard-telemetry", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"site": null}));
    let res = get_with(&app, "/api/banner/sonde-dashboard", &[]).await;
    expect_error(res, StatusCode::NOT_FOUND, "unknown_site").await;

    let app = TestApp::start_with(|c| c.dashboard_telemetry = true).await;
    // Asked without signing in: the dashboard asks before anyone has.
    let res = support::client()
        .get(app.url("/api/dashboard-telemetry"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let on: sonde_protocol::DashboardTelemetry = res.json().await.unwrap();
    assert_eq!(on.site.as_deref(), Some(sonde_protocol::DASHBOARD_SITE));
    assert_eq!(sonde_protocol::DASHBOARD_SITE, "sonde-dashboard");

    // The dashboard's pages, on the server's own origin, are that site's.
    let own = app.server.url();
    let res = get_with(&app, "/api/banner/sonde-dashboard", &[("origin", &own)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some(own.as_str())
    );
    let send = |path: &'static str, origin: String, body: Value| {
        app.http
            .post(app.url(path))
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", origin)
            .body(body.to_string())
            .send()
    };
    let mut record = consent_record("da5h0001", now_ms());
    record["site"] = json!("sonde-dashboard");
    let res = send("/api/consent", own.clone(), record).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut b = batch(vec![page_view("dash-1", "/overview")]);
    b["site"] = json!("sonde-dashboard");
    let res = send("/api/ingest", own.clone(), b.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: IngestReceipt = res.json().await.unwrap();
    assert_eq!(receipt.accepted, 1);
    // Only from there.
    let res = send("/api/ingest", ORIGIN.to_owned(), b).await.unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "origin_not_allowed").await;
    let sites: Vec<sonde_protocol::SiteSummary> = app
        .http
        .get(app.url("/api/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = sites.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["shop", "sonde-dashboard"]);
    assert_eq!(
        app.server.store().consent_count("sonde-dashboard").unwrap(),
        1
    );
}
