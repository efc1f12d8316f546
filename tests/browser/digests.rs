//! The digests page: an admin subscribes someone, sends the digest now
//! (on a server without a mail server, so it says why it did not go out,
//! and keeps that with the subscription), and removes it; a viewer is not
//! shown the page.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER};

/// Waits for the page's outcome (`.notice` or `.error`) to say `text`; the
/// list reloads under it, so the element is looked up afresh each time.
async fn said(h: &Harness, kind: &str, text: &str) {
    let script = format!("return document.querySelector('.digests-outcome {kind}')?.textContent");
    h.wait_until(text, || async { h.js(&script).await == json!(text) })
        .await;
}

#[tokio::test]
async fn an_admin_subscribes_someone_sends_now_and_sees_why_it_failed() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.sign_in_to_dashboard().await;
    h.click("nav.pages a[href='/digests']").await;
    assert_eq!(
        h.text(".digest-list .empty").await,
        "No one gets this site's digest yet."
    );

    h.type_into("input[name=digest-email]", "pm@shop.example")
        .await;
    h.js("const s = document.querySelector('select[name=digest-frequency]'); s.value = 'monthly'; s.dispatchEvent(new Event('change'))")
        .await;
    h.click(".digest-form button[type=submit]").await;
    said(
        &h,
        ".notice",
        "pm@shop.example gets the monthly digest from the next round on.",
    )
    .await;
    h.wait_until("the subscription listed", || async {
        h.table("table[data-digests]").await
            == [[
                "pm@shop.example",
                "Monthly, on the 1st",
                "not yet",
                "none",
                "Send nowRemove",
            ]]
    })
    .await;
    assert_eq!(
        h.api("/api/sites/demo/digests").await[0]["frequency"],
        json!("monthly")
    );

    h.click("table[data-digests] button[aria-label='Send now to pm@shop.example']")
        .await;
    said(
        &h,
        ".error",
        "the e-mail was not sent: no mail server is configured (--smtp-url)",
    )
    .await;
    h.wait_until("the problem kept", || async {
        h.table("table[data-digests]").await[0][3] == "no mail server is configured (--smtp-url)"
    })
    .await;
    h.screenshot("digests-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("digests-360").await;

    h.click("table[data-digests] button[aria-label='Remove pm@shop.example']")
        .await;
    assert_eq!(
        h.text(".digest-list .empty").await,
        "No one gets this site's digest yet."
    );
    assert_eq!(h.api("/api/sites/demo/digests").await, json!([]));
    h.finish().await;
}
