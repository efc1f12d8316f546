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

/// A viewer of two sites switches between them in the header; limited to
/// one, they see only it, whatever the URL names.
#[tokio::test]
async fn a_viewer_sees_and_switches_between_only_their_sites() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with(|c| {
        c.seed_demo = true;
        c.sites
            .push(sonde_server::config::SiteOrigins::parse("blog=https://blog.example").unwrap());
        c.sites
            .push(sonde_server::config::SiteOrigins::parse("news=https://news.example").unwrap());
    })
    .await;
    let password = "vera's long password";
    let vera = |sites: serde_json::Value| serde_json::json!({"username": "vera", "password": password, "role": "viewer", "sites": sites});
    let stored = h
        .api_post("/api/users", &vera(serde_json::json!(["blog", "demo"])))
        .await;
    assert_eq!(stored["sites"], serde_json::json!(["blog", "demo"]));
    h.sign_in_as("vera", password).await;
    let shown = || async {
        h.js("return document.querySelector('p.site code')?.textContent")
            .await
    };
    let choices = || async {
        h.js("return [...document.querySelectorAll('.site-switcher option')].map(o => o.value + (o.selected ? '*' : ''))")
            .await
    };
    h.wait_until("the demo shown, the blog to switch to", || async {
        shown().await == serde_json::json!("demo")
            && choices().await == serde_json::json!(["blog", "demo*"])
    })
    .await;
    h.screenshot("site-switcher-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("site-switcher-360").await;
    h.set_screen(1280, 900, 1.0).await;

    h.js("const s = document.querySelector('.site-switcher select'); s.value = 'blog'; s.dispatchEvent(new Event('change'))")
        .await;
    h.wait_until("the blog shown", || async {
        shown().await == serde_json::json!("blog")
            && h.js("return location.search").await == serde_json::json!("?site=blog")
    })
    .await;

    // Limited to the blog: no switcher, and the URL cannot open the demo.
    h.api_post("/api/users", &vera(serde_json::json!(["blog"])))
        .await;
    h.open("/?site=demo").await;
    h.wait_until("only the blog", || async {
        shown().await == serde_json::json!("blog")
    })
    .await;
    assert_eq!(choices().await, serde_json::json!([]));
    h.finish().await;
}

/// An admin adds a viewer of one site on the people page, widens them to
/// every site, and removes them.
#[tokio::test]
async fn an_admin_limits_a_viewer_to_a_site_on_the_people_page() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with(|c| {
        c.sites
            .push(sonde_server::config::SiteOrigins::parse("blog=https://blog.example").unwrap());
    })
    .await;
    h.sign_in_to_dashboard().await;
    h.open("/people").await;
    let rows = || async {
        h.js("return [...document.querySelectorAll('[data-people] tbody tr')].map(r => [...r.cells].slice(0, 3).map(c => c.textContent).join(' '))")
            .await
    };
    h.wait_until("the admin listed", || async {
        rows().await == serde_json::json!(["admin admin every site"])
    })
    .await;
    assert_eq!(
        h.js("return document.querySelector(\"button[aria-label='Remove admin']\")")
            .await,
        serde_json::Value::Null,
        "no removing oneself"
    );
    h.type_into("input[name=person-username]", "vera").await;
    h.type_into("input[name=person-password]", "vera's long password")
        .await;
    h.click("input[name=person-site][value=blog]").await;
    h.click(".person-form button[type=submit]").await;
    h.wait_until("vera, a viewer of the blog", || async {
        rows().await == serde_json::json!(["admin admin every site", "vera viewer blog"])
    })
    .await;
    assert_eq!(
        h.api("/api/users").await[1],
        serde_json::json!({"username": "vera", "role": "viewer", "sites": ["blog"]})
    );
    h.screenshot("people-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("people-360").await;
    h.set_screen(1280, 900, 1.0).await;

    // Every site again: the same password, nothing ticked.
    h.type_into("input[name=person-username]", "vera").await;
    h.type_into("input[name=person-password]", "vera's long password")
        .await;
    h.wait_until("nothing ticked", || async {
        h.js("return document.querySelectorAll('input[name=person-site]:checked').length")
            .await
            == serde_json::json!(0)
    })
    .await;
    h.click(".person-form button[type=submit]").await;
    h.wait_until("vera reads every site", || async {
        rows().await == serde_json::json!(["admin admin every site", "vera viewer every site"])
    })
    .await;
    h.click("button[aria-label='Remove vera']").await;
    h.wait_until("vera removed", || async {
        rows().await == serde_json::json!(["admin admin every site"])
    })
    .await;
    h.finish().await;
}
