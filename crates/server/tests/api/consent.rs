//! Consent records (`/api/consent`) and erasure (`/api/erase`).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use sonde_server::store::{DuckDbStore, StoreInspection};

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
        // Another real browser: a bare `Name/1.0` is a bot by the list.
        .user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/151.0.0.0 Safari/537.36")
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
