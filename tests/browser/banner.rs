//! The consent banner: the keyboard alone, small screens and zoom, the
//! browser's language, the site's own wording.

use fantoccini::Locator;
use serde_json::json;

use crate::support;
use crate::support::{Harness, ONE_BROWSER};

/// The lowest contrast ratio (WCAG 2) between the text colour and the
/// background of any element with text in the banner.
const CONTRAST: &str = "
    const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number).map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const background = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
        if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
    let worst = 21;
    for (const e of document.querySelectorAll('#sonde-consent *')) {
        if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
        const [a, b] = [lum(getComputedStyle(e).color), lum(background(e))];
        worst = Math.min(worst, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
    }
    return worst;";

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";
/// Shift (held) then Tab, as WebDriver sends a chord.
const SHIFT_TAB: &str = "\u{E008}\u{E004}";

#[tokio::test]
async fn the_banner_works_with_the_keyboard_alone() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.wait_until("the dialog to take the focus", || async {
        h.focused().await.contains("sonde-banner")
    })
    .await;
    h.press(TAB).await;
    assert_eq!(h.focused().await, "reject");
    let outline = h
        .js("return getComputedStyle(document.activeElement).outlineStyle")
        .await;
    assert_eq!(outline, "solid", "the focus is visible");
    h.press(TAB).await;
    assert_eq!(h.focused().await, "choose");
    h.press(TAB).await;
    assert_eq!(h.focused().await, "accept");
    // The focus stays inside the dialog while it is open.
    h.press(TAB).await;
    let first = h
        .js("return document.querySelector('#sonde-consent').querySelector('button, input, a[href]') === document.activeElement")
        .await;
    assert_eq!(first, true, "Tab from the last control wraps to the first");
    h.press(SHIFT_TAB).await;
    assert_eq!(
        h.focused().await,
        "accept",
        "and Shift+Tab back to the last"
    );
    h.press(SHIFT_TAB).await;
    assert_eq!(h.focused().await, "choose");
    h.press(ENTER).await;
    h.wait_until("the first choice to take the focus", || async {
        h.focused().await == "sonde-category-usage"
    })
    .await;
    // Escape closes the details without deciding.
    h.press(ESCAPE).await;
    h.wait_until("the details to close", || async {
        h.browser
            .find_all(Locator::Css("#sonde-category-usage"))
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    assert!(h.banner_shown().await, "Escape decides nothing");
    assert_eq!(
        h.js("return localStorage.getItem('sonde:consent:demo')")
            .await,
        serde_json::Value::Null
    );

    // Choose usage and performance with Space and Tab, save with Enter.
    h.click("button[data-action=choose]").await;
    h.wait_until("the first choice to take the focus", || async {
        h.focused().await == "sonde-category-usage"
    })
    .await;
    h.press(" ").await;
    h.press(TAB).await;
    h.press(TAB).await;
    assert_eq!(h.focused().await, "sonde-category-performance");
    h.press(" ").await;
    h.press(TAB).await;
    h.press(TAB).await;
    assert_eq!(h.focused().await, "save");
    h.screenshot("banner-keyboard-desktop").await;
    h.press(ENTER).await;
    h.wait_until("the banner to close", || async { !h.banner_shown().await })
        .await;
    let decision = h
        .js("return JSON.parse(localStorage.getItem('sonde:consent:demo')).grants")
        .await;
    assert_eq!(
        decision,
        json!({"usage": true, "errors": false, "performance": true, "marketing": false})
    );
    h.finish().await;
}

#[tokio::test]
async fn the_banner_and_settings_fit_a_360_px_screen_and_200_percent_zoom() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    for (name, width, height, scale) in [("360px", 360, 740, 2.0), ("zoom-200", 640, 450, 2.0)] {
        h.set_screen(width, height, scale).await;
        h.js("localStorage.clear()").await;
        h.visit("/demo/").await;
        h.wait_for_banner().await;
        let fits = h
            .js("const r = [...document.querySelectorAll('#sonde-consent button')].map(b => b.getBoundingClientRect()); \
                 return r.every(b => b.left >= 0 && b.right <= innerWidth && b.width >= 44 && b.height >= 40)")
            .await;
        assert_eq!(
            fits, true,
            "every button is on screen and large enough at {name}"
        );
        let worst = h.js(CONTRAST).await.as_f64().unwrap();
        eprintln!("lowest text contrast in the banner at {name}: {worst:.2}:1");
        assert!(
            worst >= 4.5,
            "the lowest text contrast is {worst:.2}:1 at {name}"
        );
        h.screenshot(&format!("banner-{name}")).await;
        h.click("button[data-action=accept]").await;
        h.click("[data-sonde-settings]").await;
        h.wait_for_banner().await;
        let scrolls = h
            .js("const s = document.querySelector('#sonde-consent .sonde-banner'); \
                 return s.getBoundingClientRect().bottom <= innerHeight + 1 && s.getBoundingClientRect().top >= 0")
            .await;
        assert_eq!(
            scrolls, true,
            "the settings stay within the screen (and scroll) at {name}"
        );
        let worst = h.js(CONTRAST).await.as_f64().unwrap();
        eprintln!("lowest text contrast in the settings at {name}: {worst:.2}:1");
        assert!(
            worst >= 4.5,
            "the lowest text contrast is {worst:.2}:1 at {name}"
        );
        h.screenshot(&format!("settings-{name}")).await;
    }
    h.finish().await;
}

#[tokio::test]
async fn the_banner_speaks_the_browsers_language() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.cdp(
        "Emulation.setUserAgentOverride",
        json!({"userAgent": support::BROWSER_USER_AGENT, "acceptLanguage": "it-IT,de-DE;q=0.8,en;q=0.5"}),
    )
    .await;
    h.first_visit().await;
    let dialog = "#sonde-consent section.sonde-banner";
    assert_eq!(h.attribute(dialog, "lang").await.as_deref(), Some("de"));
    let text = h.text(dialog).await;
    for german in ["Alle ablehnen", "Auswählen", "Alle akzeptieren"] {
        assert!(text.contains(german), "{german} missing: {text}");
    }
    h.screenshot("banner-german").await;
    h.click("button[data-action=reject]").await;
    h.wait_for_consents(1).await;
    h.finish().await;
}

#[tokio::test]
async fn the_banner_says_what_the_site_wrote_and_links_its_privacy_policy() {
    let _one = ONE_BROWSER.lock().await;
    const TOKEN: &str = "operator-secret";
    let h = Harness::start_with(|c| c.admin_token = Some(TOKEN.into())).await;
    let admin = reqwest::Client::new();
    let sites: serde_json::Value = admin
        .get(h.url("/api/admin/sites"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut demo = sites
        .as_array()
        .and_then(|sites| sites.iter().find(|s| s["key"] == "demo"))
        .cloned()
        .unwrap_or_else(|| panic!("the demo site is listed: {sites}"));
    demo["banner"] = json!({
        "title": "Tea & <b>you</b>",
        "text": "We count visits to the shop.\nNothing about you.",
        "policy_url": "https://shop.example/privacy",
    });
    let put = admin
        .put(h.url("/api/admin/sites/demo"))
        .bearer_auth(TOKEN)
        .json(&demo)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());

    h.first_visit().await;
    assert_eq!(
        h.text("#sonde-title").await,
        "Tea & <b>you</b>",
        "shown as text"
    );
    assert_eq!(
        h.js("return document.querySelector('#sonde-title b')")
            .await,
        serde_json::Value::Null,
        "never as markup"
    );
    let text = h.text("#sonde-text").await;
    assert!(
        text.starts_with("We count visits to the shop.\nNothing about you."),
        "{text}"
    );
    let link = "#sonde-text a.sonde-policy";
    assert_eq!(
        h.attribute(link, "href").await.as_deref(),
        Some("https://shop.example/privacy")
    );
    assert_eq!(h.text(link).await, "Privacy policy");
    h.screenshot("banner-site-wording").await;
    h.click("button[data-action=accept]").await;
    // Reopening the settings does not count as a banner shown.
    h.click("[data-sonde-settings]").await;
    h.wait_for_banner().await;
    assert_eq!(h.text("#sonde-title").await, "Privacy settings");
    assert_eq!(
        h.server
            .stores()
            .inspection
            .banner_impressions("demo")
            .unwrap(),
        1
    );
    h.finish().await;
}
