//! Annotations: a deploy pipeline posts one with a site API key, and it is
//! drawn, numbered, on every chart over time (usage, conversions,
//! performance, consent) with its key under the chart; an admin adds one
//! on the annotations page, downloads the list as CSV and removes one.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER, now_ms};

const DAY: i64 = 86_400_000;

/// How many marks the chart at `chart` draws, and what its key says.
async fn marks(h: &Harness, chart: &str) -> (u64, String) {
    let found = h
        .js(&format!(
            "const c = document.querySelector('{chart}'); \
             if (!c) return null; \
             const root = c.closest('figure') || c.parentElement; \
             return [c.querySelectorAll('g.mark').length, \
                     (root.querySelector('.mark-key') || {{textContent: ''}}).textContent];"
        ))
        .await;
    match found.as_array() {
        Some(pair) => (
            pair[0].as_u64().unwrap_or(0),
            pair[1].as_str().unwrap_or_default().to_owned(),
        ),
        None => (0, String::new()),
    }
}

async fn wait_for_mark(h: &Harness, page: &str, chart: &str) {
    h.click(&format!("nav.pages a[href^='{page}']")).await;
    h.wait_until(&format!("the mark on {chart}"), || async {
        marks(h, chart).await.1.ends_with("Deploy 2.4.0")
    })
    .await;
    let (count, key) = marks(h, chart).await;
    assert_eq!(count, 1, "{chart}");
    assert!(
        key.starts_with('1') && key.ends_with("Deploy 2.4.0"),
        "{key}"
    );
}

#[tokio::test]
async fn a_pipelines_annotation_is_drawn_on_every_chart_over_time() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;

    // The pipeline's key: made by an admin, used without a session.
    let key = h
        .api_post(
            "/api/sites/demo/api-keys",
            &json!({"name": "deploys", "scopes": ["annotations"]}),
        )
        .await;
    let token = key["token"].as_str().expect("the key's token");
    let deployed_at = now_ms() - 3 * DAY;
    let res = reqwest::Client::new()
        .post(h.url("/api/sites/demo/annotations"))
        .bearer_auth(token)
        .json(&json!({"at": deployed_at, "text": "Deploy 2.4.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    h.open("/").await;
    h.wait_until("the usage chart's mark", || async {
        marks(&h, "figure[data-chart=usage]").await.0 == 1
    })
    .await;
    let (_, key_text) = marks(&h, "figure[data-chart=usage]").await;
    assert!(key_text.ends_with("Deploy 2.4.0"), "{key_text}");
    let title = h
        .js("return document.querySelector('figure[data-chart=usage] g.mark title').textContent")
        .await;
    assert!(
        title.as_str().unwrap().starts_with("1. ")
            && title.as_str().unwrap().ends_with(": Deploy 2.4.0"),
        "{title}"
    );
    h.screenshot("annotations-usage-desktop").await;
    // The overview offers the range's raw events to people signed in.
    let raw = h
        .attribute("section.raw-events a[data-export=raw-csv]", "href")
        .await
        .unwrap();
    assert!(raw.starts_with("/api/raw-events?site=demo&from="), "{raw}");
    let rows = h.api_text(&raw).await;
    assert!(
        rows.starts_with("id,time,kind,category,"),
        "{}",
        &rows[..80]
    );
    assert!(rows.lines().count() > 1000, "the demo's four weeks");

    wait_for_mark(
        &h,
        "/conversions",
        "figure[data-chart=conversions-over-time]",
    )
    .await;
    wait_for_mark(&h, "/performance", "figure[data-chart=vitals-over-time]").await;
    wait_for_mark(&h, "/consent", "figure[data-chart=decisions]").await;

    // The page lists it, and an admin adds another there.
    h.click("nav.pages a[href^='/annotations']").await;
    h.wait_until("the pipeline's annotation listed", || async {
        h.table("table[data-annotations]")
            .await
            .first()
            .map(|r| r[1..].to_vec())
            == Some(vec![
                "Deploy 2.4.0".into(),
                "API key deploys".into(),
                "Remove".into(),
            ])
    })
    .await;
    h.type_into("input[name=annotation-text]", "Spring campaign starts")
        .await;
    h.click(".annotation-form button[type=submit]").await;
    h.wait_until("the second annotation listed", || async {
        h.table("table[data-annotations]").await.len() == 2
    })
    .await;
    let rows = h.table("table[data-annotations]").await;
    assert_eq!(rows[1][1..3], ["Spring campaign starts", "admin"]);
    let notice = h
        .js("return document.querySelector('.annotations-outcome .notice')?.textContent")
        .await;
    assert!(
        notice
            .as_str()
            .unwrap()
            .starts_with("Added “Spring campaign starts” at "),
        "{notice}"
    );
    let csv_href = h
        .attribute(".annotation-list a[data-export=csv]", "href")
        .await
        .unwrap();
    let csv = h.api_text(&csv_href).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].ends_with(",Deploy 2.4.0,API key deploys"), "{csv}");
    assert!(lines[2].ends_with(",Spring campaign starts,admin"), "{csv}");
    h.screenshot("annotations-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("annotations-360").await;

    h.click("table[data-annotations] button[aria-label='Remove Deploy 2.4.0']")
        .await;
    h.wait_until("the removed annotation gone", || async {
        h.table("table[data-annotations]").await.len() == 1
    })
    .await;
    assert_eq!(
        h.api("/api/sites/demo/annotations").await[0]["text"],
        json!("Spring campaign starts")
    );

    // The usage chart on a phone, with the campaign's mark.
    h.click("nav.pages a[href^='/?'], nav.pages a[href='/']")
        .await;
    h.wait_until("the campaign's mark", || async {
        marks(&h, "figure[data-chart=usage]")
            .await
            .1
            .ends_with("Spring campaign starts")
    })
    .await;
    h.screenshot("annotations-usage-360").await;
    h.finish().await;
}
