//! The funnels page: building, running, saving and reopening a funnel.

use serde_json::json;

use crate::support::{Harness, ONE_BROWSER};

#[tokio::test]
async fn a_funnel_is_built_run_saved_and_reopened_from_its_url() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.store_page_views(&[
        ("s1", "/demo/"),
        ("s1", "/demo/cart.html"),
        ("s2", "/demo/"),
        ("s2", "/demo/cart.html"),
        ("s3", "/demo/"),
        ("s4", "/demo/cart.html"),
    ]);
    h.sign_in_to_dashboard().await;
    h.click("nav.pages a[href='/funnels']").await;
    h.type_into("input[name=funnel-name]", "Cart").await;
    h.type_into(".funnel-step:nth-child(1) input[type=text]", "/demo/")
        .await;
    h.type_into(".funnel-step:nth-child(2) input[type=text]", "/demo/cart*")
        .await;
    h.click(".funnel-actions button[type=submit]").await;
    // Three visits entered; two of them reached the cart after the home page
    // (s4's cart view has no home page before it).
    assert_eq!(h.funnel_entrants().await.as_deref(), Some("3,2"));
    let second_row = h
        .js("return [...document.querySelectorAll('table[data-table=funnel] tbody tr:nth-child(2) td')].map(td => td.textContent)")
        .await;
    assert_eq!(
        second_row,
        json!([
            "Page /demo/cart*",
            "2",
            "66.7 %",
            "66.7 %",
            "1",
            "1 min 0 s",
            // Nothing happened in the 30 days before.
            "0",
            "0.0 %"
        ])
    );
    let svg = h
        .js("return document.querySelector('figure[data-chart=funnel] svg').outerHTML")
        .await;
    assert!(svg.as_str().unwrap().contains("2 (67 %)"), "{svg}");
    h.screenshot("funnel-desktop").await;

    h.click(".funnel-actions button:nth-child(2)").await;
    h.wait_until("the saved funnel's id in the URL", || async {
        h.browser
            .current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.starts_with("id=")))
    })
    .await;
    let saved_url = h.browser.current_url().await.unwrap();
    // The list of saved funnels is fetched again after the save answers, so
    // it may lag the URL by a request.
    h.wait_until("the saved funnel listed", || async {
        h.js("return [...document.querySelectorAll('.saved-funnels li a')].map(a => a.textContent)")
            .await
            == json!(["Cart"])
    })
    .await;

    // Reopened from its URL (a bookmark), it shows the same funnel and runs it.
    h.open("/funnels").await;
    h.browser.goto(saved_url.as_str()).await.unwrap();
    assert_eq!(h.funnel_entrants().await.as_deref(), Some("3,2"));
    let name = h
        .js("return document.querySelector('input[name=funnel-name]').value")
        .await;
    assert_eq!(name, json!("Cart"));
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("funnel-360").await;
    h.finish().await;
}

#[tokio::test]
async fn a_funnel_step_can_require_an_event_property() {
    use sonde_protocol::{EventData, PropValue};
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.store_page_views(&[("s1", "/demo/"), ("s2", "/demo/"), ("s3", "/demo/")]);
    let signup = |plan: &str| EventData::Custom {
        name: "signup".into(),
        props: [("plan".to_owned(), PropValue::Text(plan.into()))].into(),
        value: None,
    };
    h.store_events(vec![
        ("s1", "/demo/", signup("pro")),
        ("s2", "/demo/", signup("free")),
    ]);
    h.sign_in_to_dashboard().await;
    h.click("nav.pages a[href='/funnels']").await;
    h.type_into("input[name=funnel-name]", "Pro signups").await;
    h.type_into(".funnel-step:nth-child(1) input[type=text]", "/demo/")
        .await;
    h.js("const s = document.querySelector('.funnel-step:nth-child(2) select'); s.value = 'event'; s.dispatchEvent(new Event('change')); return null")
        .await;
    h.type_into(
        ".funnel-step:nth-child(2) input[aria-label='Page path or event name']",
        "signup",
    )
    .await;
    h.type_into("input[name=window]", "120").await;
    // Any signup first: two of the three visits.
    h.click(".funnel-actions button[type=submit]").await;
    assert_eq!(h.funnel_entrants().await.as_deref(), Some("3,2"));
    // Then only signups to the pro plan: one.
    h.type_into(
        ".funnel-step:nth-child(2) input[name=step-property]",
        "plan",
    )
    .await;
    h.type_into(".funnel-step:nth-child(2) input[name=step-value]", "pro")
        .await;
    h.click(".funnel-actions button[type=submit]").await;
    h.wait_until("the pro signups", || async {
        h.js("const f = document.querySelector('figure[data-chart=funnel]'); return f && f.dataset.entrants")
            .await
            == json!("3,1")
    })
    .await;
    let label = h
        .js("return document.querySelector('table[data-table=funnel] tbody tr:nth-child(2) td').textContent")
        .await;
    assert_eq!(label, json!("Event signup (plan = pro)"));
    h.screenshot("funnel-property-desktop").await;
    h.finish().await;
}
