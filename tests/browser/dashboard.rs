//! The dashboard: what the visitors of the demo shop did, as every page
//! shows it, the range and filters carried from page to page, and the
//! dashboard's own telemetry.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::{Harness, ONE_BROWSER, QUIET_PERIOD, WAIT, now_ms};

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
    assert_eq!(
        h.server.stores().inspection.consent_count("demo").unwrap(),
        1
    );
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
    // Six loads of 1000 to 5000 ms: the nearest-rank p75 is the fifth, 4200
    // ms, reported as the value of its bin, within 1 % of it.
    let bin = sonde_server::reports::performance::bin(4200.0);
    let reported = sonde_server::reports::performance::bin_value(bin);
    assert!((reported - 4200.0).abs() <= 42.0, "{reported}");
    let shown = format!("{reported:.0} ms");
    assert_eq!(api["site"][0]["p75"], json!(reported));
    assert_eq!(api["site"][0]["rating"], "poor");
    assert_eq!(p75, shown);
    let rows = h.table("table[data-table=pages-performance]").await;
    assert_eq!(rows[0][0], "/demo/");
    assert_eq!(rows[0][1], shown);
    // Over time: the loads of today, one row.
    let over_time = h.table("table[data-table=vitals-over-time]").await;
    let today = &api["series"][api["series"].as_array().unwrap().len() - 1];
    assert_eq!(today["vitals"][0]["p75"], json!(reported));
    assert_eq!(over_time.last().unwrap()[1], shown);
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
    // The bots the demo traffic sent are counted per day, as the API says.
    let overview = h
        .api(&format!("/api/overview?site=demo&from={from}&to={to}"))
        .await;
    let bots: u64 = overview["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["requests"].as_u64().unwrap())
        .sum();
    assert!(bots > 0, "{}", overview["bots"]);
    assert_eq!(
        h.text("table[data-breakdown=Bots] [data-total=bots]").await,
        bots.to_string()
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
            .stores()
            .inspection
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
