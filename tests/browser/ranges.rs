//! Ranges people use: the last 12 months and the year to date from the
//! picker, and a range of one's own chosen by its days; each is kept in
//! the URL, and the reports ask the API for exactly that period.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER};

/// The overview's total page views, once drawn.
async fn pageviews(h: &Harness) -> Option<u64> {
    h.js("return document.querySelector('[data-total=pageviews]')?.textContent")
        .await
        .as_str()
        .and_then(|t| t.parse().ok())
}

#[tokio::test]
async fn twelve_months_the_year_to_date_and_chosen_days_are_shown_and_kept_in_the_url() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;

    h.click(".range-picker button[data-range='12m']").await;
    h.wait_until("the 12 months in the URL", || async {
        h.js("return location.search").await == json!("?range=12m")
    })
    .await;
    // The demo's four weeks are all within the last 12 months.
    let to = (crate::support::now_ms() / 86_400_000 + 1) * 86_400_000;
    let all = h
        .api(&format!(
            "/api/usage?site=demo&from={}&to={to}&granularity=day",
            to - 40 * 86_400_000
        ))
        .await["total_pageviews"]
        .as_u64()
        .unwrap();
    h.wait_until("a year's page views", || async {
        pageviews(&h).await == Some(all)
    })
    .await;

    h.click(".range-picker button[data-range='ytd']").await;
    h.wait_until("the year to date pressed", || async {
        h.js("return document.querySelector('.range-picker [aria-pressed=true]')?.textContent")
            .await
            == json!("Year to date")
    })
    .await;

    // Three chosen days, of which the middle one's figures are the API's.
    h.click(".custom-range summary").await;
    let day = |n: i64| {
        chrono::DateTime::from_timestamp_millis(to - n * 86_400_000)
            .unwrap()
            .date_naive()
    };
    let (first, last) = (day(10), day(8));
    let set = |name: &str, value: String| {
        format!(
            "const i = document.querySelector('input[name={name}]'); i.value = '{value}'; i.dispatchEvent(new Event('input'))"
        )
    };
    h.js(&set("range-first", first.to_string())).await;
    h.js(&set("range-last", last.to_string())).await;
    h.click(".custom-range button[type=submit]").await;
    let wanted = format!("?range={first}..{last}");
    h.wait_until("the chosen days in the URL", || async {
        h.js("return decodeURIComponent(location.search)").await == json!(wanted)
    })
    .await;
    let from_ms = to - 10 * 86_400_000;
    let to_ms = to - 7 * 86_400_000;
    let chosen = h
        .api(&format!(
            "/api/usage?site=demo&from={from_ms}&to={to_ms}&granularity=day"
        ))
        .await["total_pageviews"]
        .as_u64()
        .unwrap();
    assert!(chosen > 0 && chosen < all);
    h.wait_until("the chosen days' page views", || async {
        pageviews(&h).await == Some(chosen)
    })
    .await;
    let label = h
        .js("return document.querySelector('.custom-range summary').textContent")
        .await;
    assert_eq!(
        label,
        json!(format!(
            "{} to {}",
            first.format("%-d %b %Y"),
            last.format("%-d %b %Y")
        ))
    );
    h.screenshot("ranges-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("ranges-360").await;

    // Backwards days say so, and the URL stays.
    h.js(&set("range-first", last.to_string())).await;
    h.js(&set("range-last", first.to_string())).await;
    h.click(".custom-range button[type=submit]").await;
    h.wait_until("the reason", || async {
        h.js("return document.querySelector('.custom-range .error')?.textContent")
            .await
            == json!(format!("{first} is before {last}"))
    })
    .await;
    assert_eq!(
        h.js("return decodeURIComponent(location.search)").await,
        json!(wanted)
    );
    h.finish().await;
}

/// The visitors figure's change and what it is measured against, once drawn.
async fn visitors_change(h: &Harness) -> serde_json::Value {
    h.js(
        "const c = document.querySelector('[data-figure=visitors]')?.nextElementSibling; \
          return c ? [c.textContent, c.title] : null",
    )
    .await
}

#[tokio::test]
async fn the_figures_compare_with_a_year_before_when_asked_and_the_choice_travels() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;
    h.click(".range-picker button[data-range='7d']").await;
    // The demo's four weeks hold the week before: a change in per cent.
    h.wait_until("a change against the week before", || async {
        let change = visitors_change(&h).await;
        change[1] == json!("against the period before")
            && change[0].as_str().is_some_and(|c| c.ends_with(" %"))
    })
    .await;

    h.click(".versus button[data-versus='year_before']").await;
    h.wait_until("the comparison in the URL", || async {
        h.js("return location.search").await == json!("?range=7d&versus=year_before")
    })
    .await;
    // The demo holds nothing a year back: no change to show.
    h.wait_until("nothing to compare with a year before", || async {
        visitors_change(&h).await == json!(["–", "against a year before"])
    })
    .await;
    assert_eq!(
        h.js("return document.querySelector('.versus [aria-pressed=true]').textContent")
            .await,
        json!("Year before")
    );
    h.screenshot("versus-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("versus-360").await;
    h.set_screen(1280, 900, 1.0).await;

    // Another page keeps the choice and says what its figures are against.
    h.click("nav.pages a[href^='/errors']").await;
    h.wait_until("the errors page, compared with a year before", || async {
        h.js("return location.pathname + location.search").await
            == json!("/errors?range=7d&versus=year_before")
    })
    .await;
    h.wait_until("the errors' column of a year before", || async {
        h.js("return [...document.querySelectorAll('th')].some(th => th.textContent == 'Errors a year before')")
            .await
            == json!(true)
    })
    .await;

    // Back to the period before: the URL drops the choice.
    h.click(".versus button[data-versus='previous']").await;
    h.wait_until("the default comparison", || async {
        h.js("return location.search").await == json!("?range=7d")
    })
    .await;
    h.finish().await;
}
