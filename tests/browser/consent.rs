//! What each consent decision lets the collector send, and nothing more:
//! reject all, one category, Global Privacy Control, withdrawal, erasure
//! and a new policy version.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::{Harness, ONE_BROWSER, QUIET_PERIOD};

#[tokio::test]
async fn reject_all_sends_nothing_to_the_ingest_endpoint() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=reject]").await;
    h.click_to(
        "header a[href='/demo/products.html']",
        "/demo/products.html",
    )
    .await;
    h.click("button[data-add-to-cart=kettle]").await;
    h.click_to(
        "a[href='/demo/products/teapot.html']",
        "/demo/products/teapot.html",
    )
    .await;
    h.js("sonde.track('signup', {plan: 'pro'})").await;
    h.open("/demo/error.html").await;
    h.wait_for_sonde().await;
    tokio::time::sleep(QUIET_PERIOD).await;

    assert_eq!(
        h.ingest_requests().await,
        0,
        "the server received no ingest request"
    );
    assert_eq!(
        h.ingest_requests_seen_by_browser().await,
        0,
        "the browser made no ingest request"
    );
    assert!(h.stored().is_empty(), "{:?}", h.stored());
    assert_eq!(
        h.server.stores().inspection.consent_count("demo").unwrap(),
        1,
        "the refusal itself is recorded, anonymously"
    );
    assert_eq!(
        h.server
            .stores()
            .inspection
            .banner_impressions("demo")
            .unwrap(),
        1,
        "the download of the banner's wording counts one impression"
    );
    h.finish().await;
}

#[tokio::test]
async fn usage_only_collects_page_views_and_interactions_but_no_errors_or_vitals() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.choose(&["usage"]).await;
    // Outbound links and downloads are recorded on click; keep the browser
    // here rather than follow them.
    h.js("document.querySelectorAll('a[download], a[href^=\"https://\"]').forEach(a => a.addEventListener('click', e => e.preventDefault()))").await;
    h.click("a[download]").await;
    h.click("a[href^='https://tea.example.org']").await;
    h.click_to("a[data-sonde-event=browse_products]", "/demo/products.html")
        .await;
    h.click("button[data-add-to-cart=mug]").await;
    h.click_to("header a[href='/demo/cart.html']", "/demo/cart.html")
        .await;
    h.click_to("a[href='/demo/checkout.html']", "/demo/checkout.html")
        .await;
    for (field, value) in [
        ("name", "Jane Doe"),
        ("email", "jane.doe@example.com"),
        ("address", "1 Secret Lane"),
        ("card", "4111111111111111"),
    ] {
        h.browser
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    h.click_to("#place-order", "/demo/thanks.html").await;
    h.open("/demo/error.html").await;
    h.wait_for_sonde().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Leaving the page hides it: that is when vitals would be reported.
    h.open("/demo/").await;
    h.wait_for_sonde().await;
    // Navigation inside a single-page app: a new path is a page view, a
    // changed query string on the same path is not.
    h.js(
        "history.pushState({}, '', '/demo/?tab=tea'); history.pushState({}, '', '/demo/spa-view')",
    )
    .await;
    // Limits on custom events are enforced with a console warning.
    let warnings = h
        .js(
            "const seen = []; const warn = console.warn; console.warn = m => seen.push(String(m));
             sonde.track('x'.repeat(65)); sonde.track('nested', { ok: 1, bad: { deep: true } });
             console.warn = warn; return seen",
        )
        .await;
    let warnings: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("longer than 64 characters"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("\"bad\" must be a string, number or boolean"),
        "{warnings:?}"
    );
    h.wait_for_stored("page_view", 8).await;
    h.wait_for_stored("custom", 2).await;
    tokio::time::sleep(QUIET_PERIOD).await;

    let stored = h.stored();
    // Home, products, cart, checkout, thanks, error, home, the SPA view.
    assert_eq!(stored.get("page_view"), Some(&8), "{stored:?}");
    assert_eq!(
        stored.get("click"),
        Some(&3),
        "browse, add to cart, checkout: {stored:?}"
    );
    assert_eq!(stored.get("outbound"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("download"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("form_submit"), Some(&1), "{stored:?}");
    assert_eq!(
        stored.get("custom"),
        Some(&2),
        "the purchase, and `nested` without `bad`: {stored:?}"
    );
    assert_eq!(
        stored.get("error"),
        None,
        "errors were not granted: {stored:?}"
    );
    assert_eq!(
        stored.get("vital"),
        None,
        "performance was not granted: {stored:?}"
    );

    let text = h.stored_text();
    for expected in [
        "tea.example.org/brewing-guide",
        "/demo/files/catalogue.pdf",
        "checkout",
        "purchase",
        "/demo/thanks.html",
        "/demo/spa-view",
        "{\"ok\":1.0}",
    ] {
        assert!(text.contains(expected), "{expected} is missing: {text}");
    }
    h.assert_nothing_stored_of(&[
        "Jane",
        "jane.doe",
        "Secret Lane",
        "4111111111111111",
        "4111",
    ]);
    h.finish().await;
}

#[tokio::test]
async fn errors_only_reports_the_error_page_exception_scrubbed_and_no_page_views() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.choose(&["errors"]).await;
    h.visit("/demo/error.html").await;
    h.click("#reject-promise").await;
    h.wait_for_stored("error", 2).await;
    tokio::time::sleep(QUIET_PERIOD).await;

    let stored = h.stored();
    assert_eq!(stored.len(), 1, "only errors: {stored:?}");
    assert_eq!(stored.get("error"), Some(&2), "{stored:?}");
    let text = h.stored_text();
    assert!(
        text.contains("Payment failed for [email] with card [number], session token [token]"),
        "the thrown error, scrubbed: {text}"
    );
    assert!(
        text.contains("Stock lookup failed for order [number]"),
        "the unhandled rejection, scrubbed: {text}"
    );
    assert!(text.contains("/demo/error.html"), "{text}");
    h.assert_nothing_stored_of(&[
        "jane.doe@example.com",
        "4111",
        "abcdef0123456789abcdef0123456789",
        "12345678",
    ]);
    h.finish().await;
}

#[tokio::test]
async fn global_privacy_control_starts_everything_off_and_marketing_needs_its_own_tick() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"}),
    )
    .await;
    h.visit("/demo/?utm_source=newsletter&utm_campaign=spring")
        .await;
    h.wait_for_banner().await;
    let note = h
        .browser
        .find(Locator::Css("#sonde-consent [data-gpc]"))
        .await
        .expect("the banner says GPC was honoured");
    assert!(
        note.text()
            .await
            .unwrap()
            .contains("Global Privacy Control")
    );
    h.screenshot("banner-gpc-desktop").await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.ingest_requests().await, 0, "GPC alone grants nothing");

    h.click("button[data-action=accept]").await;
    let grants = h
        .js("return JSON.parse(localStorage.getItem('sonde:consent:demo'))")
        .await;
    assert_eq!(grants["gpc"], true);
    assert_eq!(grants["grants"]["usage"], true);
    assert_eq!(
        grants["grants"]["marketing"], false,
        "accept all does not grant marketing under GPC: {grants}"
    );
    h.visit("/demo/?utm_source=newsletter&utm_campaign=spring")
        .await;
    h.wait_for_stored("page_view", 1).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert!(
        !h.stored_text().contains("newsletter"),
        "no campaign without marketing"
    );

    // An explicit tick does grant it.
    h.click("[data-sonde-settings]").await;
    h.wait_for_banner().await;
    let marketing = h
        .browser
        .find(Locator::Css("#sonde-category-marketing"))
        .await
        .unwrap();
    assert_eq!(
        marketing.prop("checked").await.unwrap().as_deref(),
        Some("false")
    );
    h.choose_in_open_details(&["usage", "marketing"]).await;
    h.visit("/demo/products.html?utm_source=newsletter&utm_campaign=spring")
        .await;
    h.wait_until("the campaign to arrive", || async {
        h.stored_text().contains("newsletter")
    })
    .await;
    h.finish().await;
}

#[tokio::test]
async fn withdrawing_stops_collection_and_drops_queued_events() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.wait_for_stored("page_view", 1).await;
    // Open the settings (their module loads), then queue an event while the
    // browser is offline, so it waits in the queue, and withdraw.
    h.click("[data-sonde-settings]").await;
    h.wait_for_banner().await;
    h.set_offline(true).await;
    h.js("sonde.track('queued_before_withdrawal')").await;
    assert_eq!(h.js("return sonde.queued()").await, 1);
    h.click("button[data-action=reject]").await;
    assert_eq!(
        h.js("return sonde.queued()").await,
        0,
        "withdrawal drops the queue"
    );
    h.set_offline(false).await;
    h.js("sonde.track('after_withdrawal')").await;
    h.click_to(
        "header a[href='/demo/products.html']",
        "/demo/products.html",
    )
    .await;
    tokio::time::sleep(QUIET_PERIOD).await;

    let stored = h.stored();
    assert_eq!(stored.get("page_view"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("custom"), None, "{stored:?}");
    assert_eq!(
        h.server.stores().inspection.consent_count("demo").unwrap(),
        2,
        "accept, then withdraw"
    );
    h.finish().await;
}

#[tokio::test]
async fn erase_deletes_the_visitors_events_and_says_how_many() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.click_to(
        "header a[href='/demo/products.html']",
        "/demo/products.html",
    )
    .await;
    h.click("button[data-add-to-cart=teapot]").await;
    h.wait_for_stored("click", 1).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    let before: u64 = h.stored().values().sum();
    assert!(before >= 3, "{:?}", h.stored());

    h.click("[data-sonde-settings]").await;
    h.wait_for_banner().await;
    h.screenshot("settings-desktop").await;
    h.click("button[data-action=erase]").await;
    let result = h
        .browser
        .find(Locator::Css("[data-erase-result]"))
        .await
        .unwrap();
    h.wait_until("the erase result", || async {
        result.text().await.unwrap().starts_with("Erased")
    })
    .await;
    let message = result.text().await.unwrap();
    assert!(
        message.starts_with(&format!("Erased {before} events and 1 consent record.")),
        "{message}"
    );
    assert!(message.contains("Older data needs no erasing"), "{message}");
    h.screenshot("settings-erased-desktop").await;
    assert_eq!(h.stored().values().sum::<u64>(), 0, "{:?}", h.stored());
    assert_eq!(
        h.server.stores().inspection.consent_count("demo").unwrap(),
        0
    );
    h.finish().await;
}

#[tokio::test]
async fn a_policy_version_bump_asks_again() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.browser.refresh().await.unwrap();
    h.wait_for_sonde().await;
    h.wait_for_stored("page_view", 2).await;
    assert!(!h.banner_shown().await, "the decision is remembered");
    assert_eq!(
        h.js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/sonde/banner') || e.name.includes('/api/banner/')).length")
            .await,
        0,
        "a returning visitor downloads neither the banner nor its wording"
    );
    // The demo shop is at policy version 1; a decision stored under an
    // earlier version no longer counts.
    h.js("const d = JSON.parse(localStorage.getItem('sonde:consent:demo')); d.policy_version = 0; localStorage.setItem('sonde:consent:demo', JSON.stringify(d))").await;
    let page_views = h.stored_kind("page_view");
    h.browser.refresh().await.unwrap();
    h.wait_for_sonde().await;
    h.wait_for_banner().await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        h.stored_kind("page_view"),
        page_views,
        "nothing collected until asked again"
    );
    h.finish().await;
}
