//! The consent banner's wording (`/api/banner/{site}`): uncached, counted as
//! impressions, validated by field.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_server::store::DuckDbStore;

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
    assert_eq!(
        app.server
            .stores()
            .inspection
            .banner_impressions("shop")
            .unwrap(),
        4
    );
    // Reopened settings are not a banner asking for a decision.
    let res = get_with(
        &app,
        "/api/banner/shop?reason=settings",
        &[("origin", ORIGIN)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    assert_eq!(
        app.server
            .stores()
            .inspection
            .banner_impressions("shop")
            .unwrap(),
        4
    );

    let res = get_with(&app, "/api/banner/nope", &[("origin", ORIGIN)]).await;
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let err = expect_error(res, StatusCode::NOT_FOUND, "unknown_site").await;
    assert!(err.message.contains("\"nope\""), "{err:?}");
    assert_eq!(err.field.as_deref(), Some("site"));
    assert_eq!(
        app.server
            .stores()
            .inspection
            .banner_impressions("nope")
            .unwrap(),
        0
    );

    // The banner code itself counts nothing any more.
    let res = get_with(&app, "/sonde/banner.js?site=shop", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.server
            .stores()
            .inspection
            .banner_impressions("shop")
            .unwrap(),
        4
    );
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
