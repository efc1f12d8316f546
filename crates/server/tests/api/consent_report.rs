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

#[tokio::test]
async fn consecutive_exports_link_into_one_chain() {
    let app = TestApp::start().await;
    let export = |from: i64, to: i64| {
        let app = &app;
        async move {
            let res = app
                .http
                .get(app.url("/api/consent-log"))
                .query(&[
                    ("site", "shop".to_owned()),
                    ("from", from.to_string()),
                    ("to", to.to_string()),
                    ("format", "csv".to_owned()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            sonde_server::reports::consent_log::parse(&res.text().await.unwrap()).unwrap()
        }
    };
    let start = now_ms();
    for id in ["c0ffee01", "c0ffee02"] {
        app.post("/api/consent", &consent_record(id, now_ms()))
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let middle = now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for id in ["c0ffee03", "c0ffee04"] {
        app.post("/api/consent", &consent_record(id, now_ms()))
            .await;
    }
    let end = now_ms() + 1_000;

    let first = export(start - 1_000, middle).await;
    let second = export(middle, end).await;
    let ids = |log: &[sonde_protocol::consent_report::ConsentLogEntry]| {
        log.iter()
            .map(|e| (e.seq, e.consent_id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&first),
        [(1, "c0ffee01".into()), (2, "c0ffee02".into())]
    );
    assert_eq!(
        ids(&second),
        [(3, "c0ffee03".into()), (4, "c0ffee04".into())]
    );
    assert_eq!(
        first[0].prev_hash,
        sonde_server::reports::consent_log::GENESIS
    );
    assert_eq!(
        second[0].prev_hash, first[1].hash,
        "the second export starts where the first ended"
    );
    let whole: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(
        sonde_server::reports::consent_log::verify_whole(&whole),
        Ok(())
    );
    assert_eq!(sonde_server::reports::consent_log::verify(&second), Ok(()));
}
