//! The events page: the demo's custom events listed as the API counts
//! them; choosing one draws it over time; its links open the funnel
//! builder with it as a step and the goal form with it filled in.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER, now_ms};

const DAY: i64 = 86_400_000;

#[tokio::test]
async fn an_event_is_listed_drawn_and_opens_the_funnel_builder_and_the_goal_form() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;
    let to = (now_ms() / DAY + 1) * DAY;
    let from = to - 30 * DAY;
    let api = h
        .api(&format!(
            "/api/events?site=demo&from={from}&to={to}&granularity=day"
        ))
        .await;
    let first = &api["events"][0];
    let name = first["name"]
        .as_str()
        .expect("the demo has events")
        .to_owned();
    assert_eq!(first["kind"], json!("custom"));

    h.click("nav.pages a[href^='/events']").await;
    h.wait_until("the events listed", || async {
        h.table("table[data-table=events]")
            .await
            .first()
            .map(|r| r[..3].to_vec())
            == Some(vec![
                name.clone(),
                "Custom event".into(),
                first["count"].to_string(),
            ])
    })
    .await;
    assert_eq!(
        h.table("table[data-table=events]").await.len(),
        api["events"].as_array().unwrap().len()
    );

    h.click(&format!("tr[data-event='custom:{name}'] td:first-child a"))
        .await;
    let chosen = h
        .api(&format!(
            "/api/events?site=demo&from={from}&to={to}&granularity=day&kind=custom&name={name}"
        ))
        .await;
    let total: u64 = chosen["chosen"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    h.wait_until("the chosen event drawn", || async {
        h.js("return document.querySelector('figure[data-chart=event-over-time]')?.dataset.total")
            .await
            == json!(total.to_string())
    })
    .await;
    let search = h.js("return decodeURIComponent(location.search)").await;
    assert!(
        search
            .as_str()
            .unwrap()
            .contains(&format!("event=custom:{name}")),
        "the choice is in the URL: {search}"
    );
    h.screenshot("events-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("events-360").await;
    h.set_screen(1280, 800, 1.0).await;

    h.click(&format!(
        "tr[data-event='custom:{name}'] a[data-use=funnel]"
    ))
    .await;
    h.wait_until("the builder with the event as its last step", || async {
        h.js("return location.pathname").await == json!("/funnels")
            && h.js(&format!(
                "return [...document.querySelectorAll('input')].some(i => i.value === '{name}')"
            ))
            .await
                == json!(true)
    })
    .await;

    h.open("/events").await;
    h.click(&format!("tr[data-event='custom:{name}'] a[data-use=goal]"))
        .await;
    h.wait_until("the goal form filled in", || async {
        h.js("return document.querySelector('details.goal-form')?.open === true && document.querySelector('input[name=goal-target]')?.value")
            .await
            == json!(name)
    })
    .await;
    h.finish().await;
}
