//! Raw events over HTTP: a stats key downloads a period's events as CSV
//! and as Parquet, streamed; a share link is refused; a bad format says
//! what the formats are.

use parquet::file::reader::{FileReader, SerializedFileReader};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, batch, expect_error, now_ms, page_view};

async fn stats_key(app: &TestApp) -> String {
    let res = app
        .http
        .post(app.url("/api/sites/shop/api-keys"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "warehouse", "scopes": ["stats"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    created["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stats_key_downloads_the_periods_events_as_csv_and_parquet() {
    let app = TestApp::start().await;
    let res = app
        .ingest(&batch(vec![
            json!({"id": "e1", "ts": now_ms() - 2, "session": "tab-1", "kind": "page_view",
                   "url": "/pricing", "referrer": "https://news.example/a"}),
            json!({"id": "e2", "ts": now_ms() - 1, "session": "tab-1", "kind": "custom",
                   "url": "/pricing", "name": "signup", "value": 9.5}),
            page_view("e3", "/docs"),
        ]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = stats_key(&app).await;
    let now = now_ms();
    let url = |format: &str| {
        app.url(&format!(
            "/api/raw-events?site=shop&from={}&to={}&format={format}",
            now - 3_600_000,
            now + 60_000
        ))
    };
    let script = reqwest::Client::new();

    let res = script
        .get(url("csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"events-shop-"),
        "{disposition}"
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("id,time,kind,category,visitor,session,path,"));
    let ids: Vec<&str> = lines[1..].iter().map(|l| &l[..2]).collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    assert!(lines[1].contains(",page_view,usage,"), "{}", lines[1]);
    assert!(
        lines[1].contains(",news.example,"),
        "the referrer: {}",
        lines[1]
    );
    assert!(
        lines[2].contains(",signup,") && lines[2].contains(",9.5,"),
        "{}",
        lines[2]
    );

    let res = script
        .get(url("parquet"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apache.parquet"
    );
    let file = res.bytes().await.unwrap();
    assert!(file.starts_with(b"PAR1") && file.ends_with(b"PAR1"));
    let reader = SerializedFileReader::new(file).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 3);

    // Another period holds none of them; the header is still there.
    let res = script
        .get(app.url(&format!(
            "/api/raw-events?site=shop&from={}&to={}",
            now - 7_200_000,
            now - 3_600_000
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.text().await.unwrap().lines().count(),
        1,
        "CSV by default"
    );
}

#[tokio::test]
async fn raw_events_are_refused_to_share_links_and_bad_formats() {
    let app = TestApp::start().await;
    let link: Value = app
        .http
        .post(app.url("/api/sites/shop/share-links"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .get(app.url("/api/raw-events?site=shop&from=0&to=1000"))
        .header("x-sonde-share", link["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "raw_events_not_shared").await;
    let res = app
        .http
        .get(app.url("/api/raw-events?site=shop&from=0&to=1000&format=xlsx"))
        .send()
        .await
        .unwrap();
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(
        error.message.contains("csv") && error.message.contains("parquet"),
        "{}",
        error.message
    );
    let res = app
        .http
        .get(app.url("/api/raw-events?site=shop&from=1000&to=1000"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}
