//! Annotations and site API keys over HTTP: a deploy pipeline's key adds
//! an annotation that every reader of the site sees and downloads as CSV;
//! a stats key reads the reports of its site only; a revoked key opens
//! nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_protocol::annotation::Annotation;
use sonde_protocol::api_key::{ApiKey, CreatedApiKey};
use sonde_server::config::SiteOrigins;

use crate::support::{ORIGIN, TestApp, batch, expect_error, now_ms, page_view};

async fn start() -> TestApp {
    TestApp::start_with(|c| {
        c.sites = vec![
            SiteOrigins::parse(&format!("shop={ORIGIN}")).unwrap(),
            SiteOrigins::parse("blog=https://blog.example").unwrap(),
        ];
    })
    .await
}

/// An admin makes a key for `site` that may do `scopes`.
async fn make_key(app: &TestApp, site: &str, name: &str, scopes: &[&str]) -> CreatedApiKey {
    let res = app
        .http
        .post(app.url(&format!("/api/sites/{site}/api-keys")))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": name, "scopes": scopes}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn revoke(app: &TestApp, id: &str) {
    let res = app
        .http
        .delete(app.url(&format!("/api/api-keys/{id}")))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// The annotations `path` lists, read by the signed-in admin.
async fn listed(app: &TestApp, path: &str) -> Vec<Annotation> {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Posts an annotation as a pipeline would: no cookie, only the key.
async fn annotate_with_key(
    app: &TestApp,
    site: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(&format!("/api/sites/{site}/annotations")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pipelines_key_adds_an_annotation_that_readers_see_and_download() {
    let app = start().await;
    let deploys = make_key(&app, "shop", "deploy pipeline", &["annotations"]).await;
    assert!(deploys.token.starts_with("sonde_"));
    assert!(deploys.token.starts_with(&deploys.key.prefix));
    let at = now_ms() - 3_600_000;

    let res = annotate_with_key(
        &app,
        "shop",
        &deploys.token,
        json!({"at": at, "text": "Deploy 2.4.0, \"checkout\" rewrite"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let added: Annotation = res.json().await.unwrap();
    assert_eq!(added.added_by, "API key deploy pipeline");
    assert_eq!(added.at, at);

    // An admin adds one too, in the dashboard.
    let res = app
        .http
        .post(app.url("/api/sites/shop/annotations"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"at": at - 86_400_000, "text": "Spring campaign starts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // Listed oldest first, within the period asked for.
    let list: Vec<Annotation> = listed(&app, "/api/sites/shop/annotations").await;
    let texts: Vec<&str> = list.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Spring campaign starts",
            "Deploy 2.4.0, \"checkout\" rewrite"
        ]
    );
    let recent: Vec<Annotation> = listed(
        &app,
        &format!("/api/sites/shop/annotations?from={}", at - 1),
    )
    .await;
    assert_eq!(recent, vec![added.clone()]);
    let blog: Vec<Annotation> = listed(&app, "/api/sites/blog/annotations").await;
    assert!(blog.is_empty(), "another site's timeline");

    // The CSV quotes what needs quoting.
    let res = app
        .http
        .get(app.url("/api/sites/shop/annotations?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("annotations-shop.csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,time_utc,text,added_by");
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with(&format!("{at},")), "{}", lines[2]);
    assert!(
        lines[2].ends_with(",\"Deploy 2.4.0, \"\"checkout\"\" rewrite\",API key deploy pipeline"),
        "{}",
        lines[2]
    );

    // The key is for its own site and scope only; revoked, it is no key.
    let res = annotate_with_key(&app, "blog", &deploys.token, json!({"at": at, "text": "x"})).await;
    expect_error(res, StatusCode::FORBIDDEN, "key_for_other_site").await;
    let res = reqwest::Client::new()
        .get(app.url("/api/overview?site=shop&from=0&to=1000"))
        .bearer_auth(&deploys.token)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "api_key_scope").await;
    revoke(&app, &deploys.key.id).await;
    let res = annotate_with_key(&app, "shop", &deploys.token, json!({"at": at, "text": "x"})).await;
    expect_error(res, StatusCode::UNAUTHORIZED, "api_key_invalid").await;

    // An admin removes one.
    let res = app
        .http
        .delete(app.url(&format!("/api/annotations/{}", added.id)))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list: Vec<Annotation> = listed(&app, "/api/sites/shop/annotations").await;
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn a_bad_annotation_is_refused_with_what_is_wrong() {
    let app = start().await;
    let key = make_key(&app, "shop", "deploys", &["annotations"]).await;
    let cases = [
        (json!({"at": now_ms(), "text": "  "}), "empty_field", "text"),
        (
            json!({"at": now_ms(), "text": "x".repeat(201)}),
            "too_long",
            "text",
        ),
        // Seconds, not ms.
        (
            json!({"at": now_ms() / 1000, "text": "Deploy"}),
            "out_of_range",
            "at",
        ),
    ];
    for (body, code, field) in cases {
        let res = annotate_with_key(&app, "shop", &key.token, body).await;
        let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert_eq!(error.field.as_deref(), Some(field));
    }
    let res = annotate_with_key(
        &app,
        "shop",
        "sonde_not-a-key",
        json!({"at": now_ms(), "text": "x"}),
    )
    .await;
    expect_error(res, StatusCode::UNAUTHORIZED, "api_key_invalid").await;
    // Without a key or a session.
    let res = reqwest::Client::new()
        .post(app.url("/api/sites/shop/annotations"))
        .json(&json!({"at": now_ms(), "text": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNAUTHORIZED, "sign_in_required").await;
    let res = app
        .http
        .get(app.url("/api/sites/shop/annotations?format=xml"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}

#[tokio::test]
async fn a_stats_key_reads_its_sites_reports_and_is_refused_once_revoked() {
    let app = start().await;
    let res = app
        .ingest(&batch(vec![
            page_view("e1", "/pricing"),
            page_view("e2", "/docs"),
        ]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let metabase = make_key(&app, "shop", "Metabase", &["stats"]).await;
    let keys: Vec<ApiKey> = app
        .http
        .get(app.url("/api/sites/shop/api-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys, vec![metabase.key.clone()], "listed without the token");

    let now = now_ms();
    let overview = |site: &str| {
        format!(
            "/api/overview?site={site}&from={}&to={}",
            now - 3_600_000,
            now + 3_600_000
        )
    };
    let script = reqwest::Client::new();
    let res = script
        .get(app.url(&overview("shop")))
        .bearer_auth(&metabase.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["current"]["pageviews"], 2, "{report}");

    let res = script
        .get(app.url(&overview("blog")))
        .bearer_auth(&metabase.token)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "key_for_other_site").await;
    // Read-only: it adds no annotation and makes no key.
    let res = annotate_with_key(
        &app,
        "shop",
        &metabase.token,
        json!({"at": now, "text": "x"}),
    )
    .await;
    expect_error(res, StatusCode::FORBIDDEN, "api_key_scope").await;
    let res = script
        .post(app.url("/api/sites/shop/api-keys"))
        .bearer_auth(&metabase.token)
        .json(&json!({"name": "mine", "scopes": ["stats"]}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNAUTHORIZED, "sign_in_required").await;

    revoke(&app, &metabase.key.id).await;
    let res = script
        .get(app.url(&overview("shop")))
        .bearer_auth(&metabase.token)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNAUTHORIZED, "api_key_invalid").await;
}
