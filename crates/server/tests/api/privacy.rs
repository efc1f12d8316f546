//! What reaches the store: no IP address or user agent, scrubbed event
//! fields, and campaigns kept out without marketing consent or under GPC.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use sonde_protocol::IngestReceipt;
use sonde_server::store::{DuckDbStore, StoreInspection};

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
async fn a_salt_of_an_ended_day_is_destroyed_when_the_server_starts() {
    // A server stopped over midnight left its salts of an old day behind.
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let old = "ab".repeat(32);
    std::fs::write(
        data_dir.join("salt"),
        format!("UTC 2020-01-01 {old}\nAsia/Tokyo 2020-01-01 {old}\n"),
    )
    .unwrap();
    let server = sonde_server::start(sonde_server::Config::ephemeral(&data_dir))
        .await
        .unwrap();
    let mut on_disk = String::new();
    for _ in 0..100 {
        on_disk = std::fs::read_to_string(data_dir.join("salt")).unwrap();
        if !on_disk.contains(&old) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !on_disk.contains(&old),
        "the old salt is still on disk: {on_disk}"
    );
    assert!(
        !on_disk.contains("Asia/Tokyo"),
        "no site is in Tokyo: {on_disk}"
    );
    server.shutdown().await.unwrap();
}
