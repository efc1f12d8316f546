//! The consent report and the exported consent log.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

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
