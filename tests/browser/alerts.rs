//! The alerts page: an admin makes a rule in the form, the server fires it
//! on its schedule, and the history shows the evidence and why it was not
//! delivered.

use serde_json::json;
use sonde_protocol::{ErrorReport, EventData};

use crate::support::{Harness, ONE_BROWSER};

#[tokio::test]
async fn an_admin_makes_a_rule_and_sees_it_fire_with_its_evidence() {
    let _one = ONE_BROWSER.lock().await;
    // A round every second, and no mail server: the e-mail cannot go out.
    let h = Harness::start_with(|c| c.alert_interval = 1).await;
    h.sign_in_to_dashboard().await;
    h.click("nav.pages a[href='/alerts']").await;
    assert_eq!(
        h.text(".alert-rules .empty").await,
        "No alert rule yet: nobody is told when something changes."
    );

    h.click(".alert-form summary").await;
    h.type_into("input[name=alert-name]", "Checkout errors")
        .await;
    h.js("const s = document.querySelector('select[name=alert-kind]'); s.value = 'new_error_group'; s.dispatchEvent(new Event('change'))")
        .await;
    h.type_into("input[name=alert-target]", "support@shop.example")
        .await;
    h.click(".alert-form button[type=submit]").await;
    let notice = h.text(".alerts-outcome .notice").await;
    assert!(
        notice.starts_with("Saved “Checkout errors”. Webhooks are signed with the secret "),
        "{notice}"
    );
    h.wait_until("the rule listed", || async {
        h.js("return [...document.querySelectorAll('table[data-alert-rules] tbody td')].map(td => td.textContent)")
            .await
            == json!(["Checkout errors", "a new error group", "e-mail support@shop.example", "Remove"])
    })
    .await;
    let rules = h.api("/api/sites/demo/alerts").await;
    assert_eq!(
        rules[0]["rule"]["condition"],
        json!({"type": "new_error_group"})
    );

    h.store_events(vec![(
        "s1",
        "/demo/cart.html",
        EventData::Error(ErrorReport {
            message: "Cannot read properties of undefined (reading 'total')".into(),
            source: None,
            line: None,
            column: None,
            stack: None,
            rejection: false,
        }),
    )]);
    h.wait_until("the firing stored", || async {
        h.api("/api/sites/demo/alerts/firings")
            .await
            .as_array()
            .is_some_and(|f| f.len() == 1 && f[0]["deliveries"][0]["attempts"] == 1)
    })
    .await;
    h.open("/alerts").await;
    let history = h.table("table[data-alert-history]").await;
    assert_eq!(history.len(), 1, "{history:?}");
    let row = &history[0];
    assert_eq!(row[1], "Checkout errors");
    assert!(
        row[2].starts_with(
            "A new error, first seen in the last hour (once): Cannot read properties of undefined"
        ),
        "{row:?}"
    );
    assert_eq!(row[3], "1");
    assert_eq!(row[5], "still firing");
    assert_eq!(row[6], "0 of 1: no mail server is configured (--smtp-url)");
    let link = h
        .attribute("table[data-alert-history] td a", "href")
        .await
        .unwrap();
    assert!(link.ends_with("/errors?range=24h&site=demo"), "{link}");
    h.screenshot("alerts-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("alerts-360").await;
    h.js("document.querySelector('.alert-history').scrollIntoView()")
        .await;
    h.screenshot("alerts-history-360").await;

    // The link opens the errors of that site.
    h.click("table[data-alert-history] td a").await;
    h.wait_until("the errors page", || async {
        h.browser
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/errors")
    })
    .await;
    h.finish().await;
}
