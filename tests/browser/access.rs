//! Who may read the dashboard: signing in, and share links.

use fantoccini::Locator;

use crate::support::{Harness, ONE_BROWSER, WAIT};

#[tokio::test]
async fn a_wrong_password_is_told_and_a_share_link_opens_its_site_read_only() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.open("/").await;
    h.browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("form input[name=username]"))
        .await
        .expect("the dashboard asks to sign in")
        .send_keys("admin")
        .await
        .unwrap();
    h.browser
        .find(Locator::Css("form input[name=password]"))
        .await
        .unwrap()
        .send_keys("not the password")
        .await
        .unwrap();
    h.screenshot("sign-in-desktop").await;
    h.click("form button[type=submit]").await;
    let alert = h
        .browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("form [role=alert]"))
        .await
        .expect("a refusal is shown");
    assert_eq!(alert.text().await.unwrap(), "wrong username or password");

    // No session in this browser; the share link opens the demo site.
    let path = h.create_share_link("demo").await;
    h.open(&path).await;
    let reader = h
        .browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".dashboard .reader"))
        .await
        .expect("the shared dashboard opens");
    assert_eq!(
        reader.text().await.unwrap(),
        "Shared read-only view of demo"
    );
    h.browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("figure[data-chart=usage] svg"))
        .await
        .expect("the shared view draws the usage chart");
    // Rows are not for share links: no raw events offered, nor the pages
    // of the site's settings.
    assert_eq!(
        h.js("return document.querySelectorAll('section.raw-events').length")
            .await,
        serde_json::json!(0)
    );
    let pages = h
        .js("return [...document.querySelectorAll('nav.pages a')].map(a => a.textContent).join(',')")
        .await;
    assert_eq!(
        pages,
        serde_json::json!(
            "Overview,Funnels,Conversions,Events,Errors,Performance,Consent,Annotations"
        )
    );
    // Choosing a range keeps the link's token in the URL.
    h.click(".range-picker button[data-range='24h']").await;
    let token = path.trim_start_matches("/?share=").to_owned();
    h.wait_until("the range and the token in the URL", || async {
        h.browser
            .current_url()
            .await
            .is_ok_and(|u| u.query() == Some(&format!("range=24h&share={token}")))
    })
    .await;
    h.finish().await;
}
