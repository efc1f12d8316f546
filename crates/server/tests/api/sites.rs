//! Sites and the admin API, and the OpenAPI document.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_server::store::{DuckDbStore, SiteStore};

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
