//! Browser tests: the real build (dist/: the dashboard, the demo shop and the
//! embeddable `sonde.js` with its collector and banner modules), served by
//! the real server on a temporary DuckDB file, driven in headless Chromium
//! through chromedriver. Each test uses a fresh browser profile, and checks
//! what reached the server in its store.
//!
//! Needs `dist/` (built by `cargo xtask build-web`) and Debian's `chromium`
//! and `chromium-driver`; `cargo xtask test` provides all three.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use support::{Harness, ONE_BROWSER, QUIET_PERIOD, WAIT, now_ms};

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
async fn accepting_then_browsing_three_pages_reports_three_page_views_on_the_dashboard() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    // The demo's script tag asks for Google Consent Mode; stand in for gtag.
    h.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.gtag = function () { (window.gtagCalls = window.gtagCalls || []).push(Array.from(arguments)) }"}),
    )
    .await;
    h.first_visit().await;
    h.screenshot("banner-desktop").await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        h.ingest_requests().await,
        0,
        "nothing is sent before the decision"
    );

    h.click("button[data-action=accept]").await;
    assert!(!h.banner_shown().await, "the decision closes the banner");
    assert_eq!(
        h.js("return window.gtagCalls").await,
        json!([["consent", "update", {
            "analytics_storage": "granted", "ad_storage": "granted",
            "ad_user_data": "granted", "ad_personalization": "granted"
        }]]),
        "the decision is forwarded to Google Consent Mode v2"
    );
    h.click_to(
        "header a[href='/demo/products.html']",
        "/demo/products.html",
    )
    .await;
    h.click_to(
        "a[href='/demo/products/kettle.html']",
        "/demo/products/kettle.html",
    )
    .await;

    let report = h.wait_for_pageviews(3).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    let report_later = h.usage().await;
    assert_eq!(report.total_pageviews, 3);
    assert_eq!(
        report_later.total_pageviews, 3,
        "no page view counted twice"
    );
    assert_eq!(report.total_visitors, 1);
    // One visitor's pages are too small a group to list (k = 5), only counted.
    assert!(report.top_pages.is_empty());
    assert_eq!(report.top_pages_hidden, 3);
    let stored = h.stored_text();
    for page in [
        "/demo/",
        "/demo/products.html",
        "/demo/products/kettle.html",
    ] {
        assert!(stored.contains(&format!("\t{page}\t")), "{page} not stored");
    }
    assert_eq!(h.server.store().consent_count("demo").unwrap(), 1);
    // Leaving a page reports its web vitals, once, with their final values.
    h.wait_until("the vitals of the pages left", || async {
        let text = h.stored_text();
        text.contains("\tttfb\t") && text.contains("\tfcp\t")
    })
    .await;

    // The dashboard draws them, once signed in.
    h.sign_in_to_dashboard().await;
    let chart = h
        .browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("figure[data-chart=usage] svg"))
        .await
        .expect("the dashboard draws the usage chart");
    let svg = chart.html(false).await.unwrap();
    assert!(
        svg.contains("<polyline") || svg.contains("<path"),
        "the chart has a series: {svg}"
    );
    let figure = h
        .browser
        .find(Locator::Css("figure[data-chart=usage]"))
        .await
        .unwrap();
    assert_eq!(
        figure.attr("data-pageviews").await.unwrap().as_deref(),
        Some("3")
    );
    let total = h
        .browser
        .find(Locator::Css("dd[data-total=pageviews]"))
        .await
        .unwrap();
    assert_eq!(total.text().await.unwrap(), "3");
    // Each bucket tells its figures on hover.
    let titles = h
        .js("return [...document.querySelectorAll('figure[data-chart=usage] rect.hover title')].map(t => t.textContent)")
        .await;
    let titles = titles.as_array().unwrap();
    assert_eq!(titles.len(), 30, "a zone per day of the range");
    assert!(
        titles.iter().any(|t| t
            .as_str()
            .unwrap()
            .ends_with(": 3 page views, 1 unique visitors")),
        "{titles:?}"
    );
    // Who is on the site now: this browser, three pages ago.
    let now = |figure: &'static str| {
        let h = &h;
        async move {
            h.browser
                .wait()
                .at_most(WAIT)
                .for_element(Locator::Css(&format!("[data-figure={figure}]")))
                .await
                .unwrap_or_else(|e| panic!("no {figure}: {e}"))
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(now("realtime-visitors").await, "1");
    assert_eq!(now("realtime-pageviews").await, "3");
    // The overview: one visitor, one visit of three pages, and every page
    // row hidden, since each has fewer than k (5) visitors.
    let figure = |name: &'static str| {
        let h = &h;
        async move {
            h.browser
                .find(Locator::Css(&format!("dd[data-figure={name}]")))
                .await
                .unwrap_or_else(|e| panic!("no {name} figure: {e}"))
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(figure("pageviews").await, "3");
    assert_eq!(figure("sessions").await, "1");
    assert_eq!(figure("visitors").await, "1");
    assert_eq!(figure("bounce_rate").await, "0 %");
    let hidden = h
        .browser
        .find(Locator::Css(
            "table[data-breakdown=Pages] td[data-small-groups]",
        ))
        .await
        .expect("the pages breakdown says what it hides");
    assert_eq!(
        hidden.text().await.unwrap(),
        "3 others, each with fewer than 5 visitors, not shown"
    );
    // Each table downloads as CSV: only the rows it shows.
    let csv = h
        .js("return decodeURIComponent(document.querySelector('table[data-breakdown=Pages] a.csv').href.split(',').slice(1).join(','))")
        .await;
    assert_eq!(csv.as_str(), Some("Pages,Visitors,Views\r\n"));
    h.screenshot("dashboard-desktop").await;
    h.js("document.querySelector('.overview').scrollIntoView(); return null")
        .await;
    h.screenshot("dashboard-overview-desktop").await;

    // The URL holds the range: a bookmark opens the same view, and a choice
    // is written back.
    h.open("/?range=24h").await;
    let pressed = || async {
        h.js("const b = document.querySelector('.range-picker button[aria-pressed=true]'); return b && b.textContent")
            .await
    };
    h.wait_until("the 24-hour range from the URL", || async {
        pressed().await.as_str() == Some("Last 24 hours")
    })
    .await;
    h.click(".range-picker button[data-range='30d']").await;
    h.wait_until("the range written to the URL", || async {
        h.browser
            .current_url()
            .await
            .is_ok_and(|u| u.query() == Some("range=30d"))
    })
    .await;
    assert_eq!(pressed().await.as_str(), Some("Last 30 days"));
    h.finish().await;
}

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

#[tokio::test]
async fn the_errors_and_performance_pages_show_what_the_api_answers() {
    use sonde_protocol::{ErrorReport, EventData, Vital};
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    let error = |message: &str| {
        EventData::Error(ErrorReport {
            message: message.into(),
            source: None,
            line: None,
            column: None,
            stack: Some("renderTotal@/demo/checkout.js:42:17".into()),
            rejection: false,
        })
    };
    let lcp = |value: f64| EventData::Vital {
        metric: Vital::Lcp,
        value,
    };
    let mut events = vec![
        (
            "s1",
            "/demo/checkout.html",
            error("Total 12 is not a number"),
        ),
        (
            "s1",
            "/demo/checkout.html",
            error("Total 13 is not a number"),
        ),
        (
            "s2",
            "/demo/checkout.html",
            error("Total 99 is not a number"),
        ),
    ];
    for (i, session) in ["s1", "s2", "s3", "s4", "s5", "s6"].into_iter().enumerate() {
        events.push((session, "/demo/", lcp(1_000.0 + i as f64 * 800.0)));
    }
    h.store_events(events);
    h.sign_in_to_dashboard().await;

    h.click("nav.pages a[href='/errors']").await;
    let rows = h.table("table[data-table=errors]").await;
    let (from, to) = (now_ms() - 30 * 86_400_000, now_ms() + 3_600_000);
    let api = h
        .api(&format!("/api/errors?site=demo&from={from}&to={to}"))
        .await;
    let group = &api["groups"][0];
    assert_eq!(
        rows.len(),
        1,
        "one group: the numbers differ, the error does not"
    );
    assert_eq!(rows[0][0], group["message"].as_str().unwrap());
    assert_eq!(rows[0][0], "Total <n> is not a number");
    assert_eq!(rows[0][1], "renderTotal@/demo/checkout.js");
    assert_eq!(rows[0][2], group["count"].to_string());
    assert_eq!(rows[0][4], group["sessions"].to_string());
    assert_eq!((rows[0][2].as_str(), rows[0][4].as_str()), ("3", "2"));
    // Nothing happened in the 30 days before: the group is new.
    assert_eq!(rows[0][3], "none (new)");
    h.screenshot("errors-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("errors-360").await;
    h.set_screen(1280, 900, 1.0).await;

    h.click("nav.pages a[href='/performance']").await;
    let p75 = h
        .browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-vital=lcp] .p75"))
        .await
        .expect("the LCP card")
        .text()
        .await
        .unwrap();
    let api = h
        .api(&format!("/api/performance?site=demo&from={from}&to={to}"))
        .await;
    // Six loads of 1000 to 5000 ms: the nearest-rank p75 is the fifth, 4200 ms.
    assert_eq!(api["site"][0]["p75"], json!(4200.0));
    assert_eq!(p75, "4200 ms");
    let rows = h.table("table[data-table=pages-performance]").await;
    assert_eq!(rows[0][0], "/demo/");
    assert_eq!(rows[0][1], "4200 ms");
    // Over time: the loads of today, one row.
    let over_time = h.table("table[data-table=vitals-over-time]").await;
    let today = &api["series"][api["series"].as_array().unwrap().len() - 1];
    assert_eq!(today["vitals"][0]["p75"], json!(4200.0));
    assert_eq!(over_time.last().unwrap()[1], "4200 ms");
    h.screenshot("performance-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("performance-360").await;
    h.finish().await;
}

#[tokio::test]
async fn every_page_draws_the_demo_traffic_as_the_api_counts_it() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;
    let (from, to) = {
        // The dashboard's 30 days: whole days, ending with today.
        let day = 86_400_000;
        let to = (now_ms() / day + 1) * day;
        (to - 30 * day, to)
    };
    let shots = |name: &'static str| {
        let h = &h;
        async move {
            h.screenshot(&format!("{name}-desktop")).await;
            h.set_screen(360, 740, 1.0).await;
            h.screenshot(&format!("{name}-360")).await;
            h.set_screen(1280, 900, 1.0).await;
        }
    };

    // Overview: the chart's total is the API's.
    let usage = h
        .api(&format!(
            "/api/usage?site=demo&from={from}&to={to}&granularity=day"
        ))
        .await;
    assert!(
        usage["total_pageviews"].as_u64().unwrap() > 1_000,
        "{usage}"
    );
    assert_eq!(
        h.attribute("figure[data-chart=usage]", "data-pageviews")
            .await,
        Some(usage["total_pageviews"].to_string())
    );
    shots("overview-demo").await;

    // Choosing a source filters the overview; the filter shows as a chip,
    // lives in the URL, and the chip removes it.
    let source = h
        .js("const a = document.querySelector('table[data-breakdown=Sources] a.filter-link'); a.click(); return a.textContent")
        .await;
    let source = source.as_str().unwrap().to_owned();
    h.browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".chip[data-filter=source]"))
        .await
        .expect("the source filter's chip");
    let url = h.browser.current_url().await.unwrap();
    assert!(
        url.query_pairs().any(|(k, v)| k == "source" && v == source),
        "{url}"
    );
    let filtered = h
        .api(&format!(
            "/api/overview?site=demo&from={from}&to={to}&source={}",
            js_encode(&source)
        ))
        .await;
    let visitors = filtered["current"]["visitors"].to_string();
    h.wait_until("the filtered visitors", || async {
        h.js("const d = document.querySelector('dd[data-figure=visitors]'); return d && d.textContent")
            .await
            .as_str()
            == Some(visitors.as_str())
    })
    .await;
    h.screenshot("overview-filtered-desktop").await;
    h.click(".chip[data-filter=source] a").await;
    h.wait_until("the chip gone", || async {
        h.js("return document.querySelector('.chip') === null")
            .await
            == json!(true)
    })
    .await;

    // The saved checkout funnel: the bars are the API's entrants.
    h.click("nav.pages a[href='/funnels']").await;
    h.click(".saved-funnels li a").await;
    let saved = h.api("/api/funnels/demo-checkout").await;
    let report = h
        .api_post(
            "/api/funnel",
            &json!({"site": "demo", "from": from, "to": to, "funnel": saved["funnel"]}),
        )
        .await;
    let entrants: Vec<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entrants"].to_string())
        .collect();
    assert_eq!(entrants.len(), 4);
    assert_eq!(h.funnel_entrants().await, Some(entrants.join(",")));
    shots("funnel-demo").await;
    // Broken down by device: the groups are the API's.
    h.js("const s = document.querySelector('select[name=breakdown]'); s.value = 'device'; s.dispatchEvent(new Event('change')); return null")
        .await;
    h.click(".funnel-actions button[type=submit]").await;
    let groups = h.table("table[data-table=funnel-groups]").await;
    let by_device = h
        .api_post(
            "/api/funnel",
            &json!({"site": "demo", "from": from, "to": to, "funnel": saved["funnel"], "breakdown": "device"}),
        )
        .await;
    let expected: Vec<(String, String)> = by_device["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_owned(),
                g["steps"][0]["entrants"].to_string(),
            )
        })
        .collect();
    let shown: Vec<(String, String)> = groups
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(shown, expected);
    assert!(shown.iter().any(|(d, _)| d == "mobile") && shown.iter().any(|(d, _)| d == "desktop"));

    // Conversions: the purchase goal's figures and campaign comparison.
    h.click("nav.pages a[href='/conversions']").await;
    let conversions = h
        .api(&format!(
            "/api/conversions?site=demo&goal=demo-purchase&from={from}&to={to}&granularity=day"
        ))
        .await;
    let shown = h
        .browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("dd[data-figure=conversions]"))
        .await
        .expect("the conversions figure")
        .text()
        .await
        .unwrap();
    assert_eq!(shown, conversions["conversions"].to_string());
    assert!(conversions["conversions"].as_u64().unwrap() > 0);
    let rates: Vec<String> = conversions["campaigns"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{:.3}", r["rate"].as_f64().unwrap()))
        .collect();
    assert!(rates.len() >= 2, "campaigns to compare: {conversions}");
    assert_eq!(
        h.attribute("figure[data-chart=campaigns]", "data-rates")
            .await,
        Some(rates.join(","))
    );
    shots("conversions-demo").await;

    // Errors: the Safari checkout error hurts the checkout funnel.
    h.click("nav.pages a[href='/errors']").await;
    let rows = h.table("table[data-table=errors]").await;
    let errors = h
        .api(&format!("/api/errors?site=demo&from={from}&to={to}"))
        .await;
    let groups = errors["groups"].as_array().unwrap();
    assert_eq!(rows.len(), groups.len());
    for (row, group) in rows.iter().zip(groups) {
        assert_eq!(row[0], group["message"].as_str().unwrap());
        assert_eq!(row[4], group["sessions"].to_string());
    }
    let checkout = groups
        .iter()
        .find(|g| {
            g["message"].as_str().unwrap().contains("cart.total")
                || g["message"].as_str().unwrap().starts_with("TypeError")
        })
        .expect("the checkout error");
    let impact = &checkout["funnels"][0];
    assert!(
        impact["with_error"]["rate"].as_f64() < impact["without_error"]["rate"].as_f64(),
        "{impact}"
    );
    h.js(
        "document.querySelectorAll('details.error-group').forEach(d => d.open = true); return null",
    )
    .await;
    shots("errors-demo").await;

    // Performance: slow landing pages convert worse, and the chart says so.
    h.click("nav.pages a[href='/performance']").await;
    let performance = h
        .api(&format!(
            "/api/performance?site=demo&from={from}&to={to}&goal=demo-purchase"
        ))
        .await;
    let rates: Vec<String> = performance["lcp_conversion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{:.3}", b["conversion"]["rate"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        h.attribute("figure[data-chart=lcp-conversion]", "data-rates")
            .await,
        Some(rates.join(","))
    );
    let (good, poor): (f64, f64) = (rates[0].parse().unwrap(), rates[2].parse().unwrap());
    assert!(good > poor, "{rates:?}");
    // The LCP line over time is the API's p75 per day.
    let lcp: Vec<String> = performance["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["vitals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["metric"] == "lcp")
                .map_or("–".to_owned(), |v| {
                    format!("{:.0}", v["p75"].as_f64().unwrap())
                })
        })
        .collect();
    assert!(lcp.len() >= 20, "four weeks of days: {lcp:?}");
    assert_eq!(
        h.attribute("figure[data-chart=vitals-over-time]", "data-lcp")
            .await,
        Some(lcp.join(","))
    );
    shots("performance-demo").await;

    // Consent: the decisions, the coverage and the estimate are the API's,
    // and the log the page links to verifies.
    h.click("nav.pages a[href='/consent']").await;
    let consent = h
        .api(&format!(
            "/api/consent-report?site=demo&from={from}&to={to}"
        ))
        .await;
    for (figure, field) in [
        ("decisions", "decisions"),
        ("accept_all", "accept_all"),
        ("reject_all", "reject_all"),
    ] {
        let shown = h
            .browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!("dd[data-figure={figure}]")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(shown, consent[field].to_string(), "{figure}");
    }
    assert!(consent["reject_all"].as_u64().unwrap() > 0);
    let estimate = format!(
        "{:.0}",
        consent["estimated_visits"]["value"].as_f64().unwrap()
    );
    assert_eq!(
        h.attribute("figure[data-chart=estimate]", "data-estimate")
            .await,
        Some(estimate)
    );
    let export = h.attribute("a[data-export=jsonl]", "href").await.unwrap();
    let log = h.api_text(&export).await;
    let entries = sonde_server::reports::consent_log::parse(&log).unwrap();
    assert!(entries.len() as u64 >= consent["decisions"].as_u64().unwrap());
    assert_eq!(sonde_server::reports::consent_log::verify(&entries), Ok(()));
    shots("consent-demo").await;
    h.finish().await;
}

#[tokio::test]
async fn a_range_and_a_filter_follow_the_reader_from_page_to_page() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start_with_demo_traffic().await;
    h.sign_in_to_dashboard().await;
    let day = 86_400_000;
    let to = (now_ms() / day + 1) * day;

    // On the conversions page, a row of the sources table filters the page
    // to that source's visits.
    h.click("nav.pages a[href='/conversions']").await;
    h.browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("table[data-breakdown=Sources] td a"))
        .await
        .expect("the sources of conversions");
    let source = h
        .js("const a = document.querySelector('table[data-breakdown=Sources] td a'); a.click(); return a.textContent")
        .await;
    let source = source.as_str().unwrap().to_owned();
    h.wait_until("the source's chip", || async {
        h.js("const c = document.querySelector('.chip[data-filter=source] strong'); return c && c.textContent")
            .await
            == json!(source)
    })
    .await;
    let filtered = h
        .api(&format!(
            "/api/conversions?site=demo&goal=demo-purchase&from={}&to={to}&granularity=day&compare=true&source={}",
            to - 30 * day,
            js_encode(&source)
        ))
        .await;
    let unfiltered = h
        .api(&format!(
            "/api/conversions?site=demo&goal=demo-purchase&from={}&to={to}&granularity=day",
            to - 30 * day
        ))
        .await;
    assert!(filtered["visits"].as_u64() < unfiltered["visits"].as_u64());
    let visits = filtered["visits"].to_string();
    h.wait_until("the source's visits", || async {
        h.js(
            "const d = document.querySelector('dd[data-figure=visits]'); return d && d.textContent",
        )
        .await
            == json!(visits)
    })
    .await;

    // A shorter range keeps the filter; both travel to the errors page.
    h.click(".range-picker button[data-range='7d']").await;
    h.wait_until("the range in the URL", || async {
        h.browser
            .current_url()
            .await
            .is_ok_and(|u| u.query_pairs().any(|(k, v)| k == "range" && v == "7d"))
    })
    .await;
    h.js("document.querySelector('nav.pages a[href^=\"/errors\"]').click(); return null")
        .await;
    h.wait_until("the errors page with the range and the filter", || async {
        h.browser.current_url().await.is_ok_and(|u| {
            u.path() == "/errors"
                && u.query_pairs().any(|(k, v)| k == "range" && v == "7d")
                && u.query_pairs().any(|(k, v)| k == "source" && v == source)
        })
    })
    .await;
    let errors = h
        .api(&format!(
            "/api/errors?site=demo&from={}&to={to}&compare=true&source={}",
            to - 7 * day,
            js_encode(&source)
        ))
        .await;
    let summary = format!(
        "{} errors in {} of {} visits",
        errors["totals"]["errors"], errors["totals"]["sessions_affected"], errors["sessions"]
    );
    h.wait_until("the errors of the source's visits in 7 days", || async {
        h.js("const p = document.querySelector('[data-summary=errors]'); return p && p.textContent")
            .await
            .as_str()
            .is_some_and(|t| t.contains(&summary) && t.contains("the last 7 days"))
    })
    .await;
    assert!(
        h.js("return document.querySelector('.chip[data-filter=source]') !== null")
            .await
            == json!(true)
    );
    h.screenshot("errors-filtered-desktop").await;

    // The consent page says the filters do not apply to it.
    h.js("document.querySelector('nav.pages a[href^=\"/consent\"]').click(); return null")
        .await;
    h.browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-filters-ignored]"))
        .await
        .expect("the note that filters do not apply to consent");
    h.finish().await;
}

/// A query parameter's value, as `encodeURIComponent` would write it.
fn js_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
        h.server.store().consent_count("demo").unwrap(),
        1,
        "the refusal itself is recorded, anonymously"
    );
    assert_eq!(
        h.server.store().banner_impressions("demo").unwrap(),
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
    for secret in ["Jane", "jane.doe", "Secret Lane", "4111111111111111"] {
        assert!(!text.contains(secret), "{secret} was stored: {text}");
    }
    // The card's first four digits, on their own (random ids and hashes may
    // hold the same four characters inside them).
    assert!(
        !text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| token == "4111"),
        "4111 was stored: {text}"
    );
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
    for secret in [
        "jane.doe@example.com",
        "4111",
        "abcdef0123456789",
        "12345678",
    ] {
        assert!(!text.contains(secret), "{secret} was stored: {text}");
    }
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
        h.server.store().consent_count("demo").unwrap(),
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
    assert_eq!(h.server.store().consent_count("demo").unwrap(), 0);
    h.finish().await;
}

#[tokio::test]
async fn offline_events_are_delivered_once_when_the_browser_is_back_online() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.wait_for_stored("page_view", 1).await;
    h.set_offline(true).await;
    h.js("for (let i = 0; i < 25; i++) sonde.track('offline_' + i)")
        .await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 0, "offline: nothing arrives");
    let persisted = h
        .js("return JSON.parse(localStorage.getItem('sonde:queue:demo')).length")
        .await;
    assert_eq!(
        persisted, 25,
        "the queue is kept on the device while offline"
    );
    h.set_offline(false).await;
    h.wait_for_stored("custom", 25).await;
    // A reload resends nothing that was acknowledged.
    h.browser.refresh().await.unwrap();
    h.wait_for_sonde().await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 25, "each event once");
    h.finish().await;
}

#[tokio::test]
async fn a_reload_between_batching_and_sending_loses_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.wait_for_stored("page_view", 1).await;
    // Five events wait for the batch timer (1 s); the reload comes first.
    h.js("for (let i = 0; i < 5; i++) sonde.track('before_reload_' + i); location.reload()")
        .await;
    h.wait_for_sonde().await;
    h.wait_for_stored("custom", 5).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 5, "each event once");
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
async fn the_dashboard_meets_its_readers_with_the_same_banner_when_its_own_use_is_measured() {
    let _one = ONE_BROWSER.lock().await;
    // Off by default: no banner, no footer, nothing loaded.
    let h = Harness::start().await;
    h.open("/").await;
    h.wait_until("the sign-in form", || async {
        h.js("return !!document.querySelector('form')").await == true
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!h.banner_shown().await, "no banner when telemetry is off");
    assert_eq!(
        h.js("return !!document.querySelector('script[data-sonde-embed]')")
            .await,
        false
    );
    h.finish().await;

    let h = Harness::start_with(|c| c.dashboard_telemetry = true).await;
    h.open("/").await;
    h.wait_for_banner().await;
    // What the footer says the reader allowed (found anew each time: the
    // page re-renders around it).
    let allowed = || async {
        h.js("const e = document.querySelector('footer.telemetry [data-telemetry-grants]'); return e && e.textContent")
            .await
    };
    h.wait_until("the footer", || async {
        allowed().await == "not decided yet"
    })
    .await;
    h.choose(&["usage", "performance"]).await;
    h.wait_until("the footer to follow the decision", || async {
        allowed().await == "usage, performance"
    })
    .await;
    h.sign_in_to_dashboard().await;
    h.wait_until("the dashboard's page views to arrive", || async {
        h.server
            .store()
            .count_by_kind(sonde_protocol::DASHBOARD_SITE)
            .unwrap()
            .get("page_view")
            .copied()
            .unwrap_or(0)
            >= 1
    })
    .await;
    assert_eq!(
        h.stored().values().sum::<u64>(),
        0,
        "nothing counted for the demo shop"
    );
    // The footer's link reopens the same banner's settings; withdrawing
    // there updates the footer.
    h.click("footer.telemetry [data-sonde-settings]").await;
    h.wait_for_banner().await;
    h.click("button[data-action=reject]").await;
    h.wait_until("the footer to follow the withdrawal", || async {
        allowed().await == "nothing"
    })
    .await;
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
    assert_eq!(h.server.store().consent_count("demo").unwrap(), 1);
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
    assert_eq!(h.server.store().banner_impressions("demo").unwrap(), 1);
    h.finish().await;
}
