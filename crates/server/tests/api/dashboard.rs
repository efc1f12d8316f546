//! Telemetry of the dashboard itself, as the site `sonde-dashboard`.

use crate::support::{self, *};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_protocol::IngestReceipt;

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
        app.server
            .stores()
            .inspection
            .consent_count("sonde-dashboard")
            .unwrap(),
        1
    );
}
