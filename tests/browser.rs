//! Browser tests: the real build (dist/: the dashboard, the demo shop and the
//! embeddable `sonde.js` with its collector and banner modules), served by
//! the real server on a temporary DuckDB file, driven in headless Chromium
//! through chromedriver. Each test uses a fresh browser profile, and checks
//! what reached the server in its store.
//!
//! Needs `dist/` (built by `cargo xtask build-web`) and Debian's `chromium`
//! and `chromium-driver`; `cargo xtask test` provides all three.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use sonde_protocol::{UsageQuery, UsageReport};
use sonde_server::{Config, Server};
use tokio::process::{Child, Command};

/// One Chromium at a time: two cores do not run several reliably.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(15);
/// Longer than the collector's flush delay (1 s), so anything queued has
/// been sent by the end of it.
const QUIET_PERIOD: Duration = Duration::from_secs(3);

struct Harness {
    server: Server,
    browser: Client,
    driver_port: u16,
    _driver: Child,
    _tmp: tempfile::TempDir,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Harness {
        let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "the web app is not built: run `cargo xtask build-web` first (`cargo xtask test` does)"
        );
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(tmp.path().join("data"));
        config.web_dir = Some(dist);
        config.demo = true;
        let server = sonde_server::start(config).await.unwrap();

        let port = free_port();
        let driver_bin =
            std::env::var("SONDE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_bin}: {e} (`cargo xtask setup` installs it)")
            });
        let chromium =
            std::env::var("SONDE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tmp.path().join("profile");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let browser = connect_when_ready(port, caps).await;
        Harness {
            server,
            browser,
            driver_port: port,
            _driver: driver,
            _tmp: tmp,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits until the page's collector is running (`window.sonde` is the
    /// collector, not the queue the page may have put there).
    async fn wait_for_sonde(&self) {
        self.wait_until("the collector to start", || async {
            self.js("return typeof (window.sonde || {}).track === 'function'")
                .await
                .as_bool()
                .unwrap_or(false)
        })
        .await;
    }

    /// Opens a demo page and waits for its collector.
    async fn visit(&self, path: &str) {
        self.open(path).await;
        self.wait_for_sonde().await;
    }

    async fn js(&self, script: &str) -> serde_json::Value {
        self.browser
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    async fn wait_until<F, Fut>(&self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + WAIT;
        while !condition().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn banner_shown(&self) -> bool {
        !self
            .browser
            .find_all(Locator::Css("#sonde-consent section.sonde-banner"))
            .await
            .unwrap()
            .is_empty()
    }

    async fn wait_for_banner(&self) {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#sonde-consent section.sonde-banner"))
            .await
            .expect("the banner was not shown");
    }

    /// Ticks exactly the given categories in the open details and saves.
    async fn choose(&self, categories: &[&str]) {
        self.click("button[data-action=choose]").await;
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#sonde-category-usage"))
            .await
            .unwrap();
        self.choose_in_open_details(categories).await;
    }

    /// Sets the open details to exactly the given categories and saves.
    async fn choose_in_open_details(&self, categories: &[&str]) {
        for category in ["usage", "errors", "performance", "marketing"] {
            let checkbox = self
                .browser
                .find(Locator::Css(&format!("#sonde-category-{category}")))
                .await
                .unwrap();
            let checked = checkbox.prop("checked").await.unwrap().as_deref() == Some("true");
            if checked != categories.contains(&category) {
                checkbox.click().await.unwrap();
            }
        }
        self.click("button[data-action=save]").await;
    }

    /// Events that reached the store, by kind.
    fn stored(&self) -> BTreeMap<String, u64> {
        self.server.store().count_by_kind("demo").unwrap()
    }

    fn stored_kind(&self, kind: &str) -> u64 {
        self.stored().get(kind).copied().unwrap_or(0)
    }

    /// Every stored event value as text, to look for (or not) a value.
    fn stored_text(&self) -> String {
        self.server.store().dump_as_text("events").unwrap()
    }

    async fn wait_for_stored(&self, kind: &str, at_least: u64) {
        let deadline = Instant::now() + WAIT;
        while self.stored_kind(kind) < at_least {
            assert!(
                Instant::now() < deadline,
                "expected {at_least} {kind} events, the store has {:?}",
                self.stored()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A Chrome DevTools command, through chromedriver.
    async fn cdp(&self, cmd: &str, params: serde_json::Value) {
        let session = self.browser.session_id().await.unwrap().unwrap();
        let res = self
            .http
            .post(format!(
                "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
                self.driver_port
            ))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{cmd}: {}",
            res.text().await.unwrap()
        );
    }

    async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    /// Emulates a screen `width` CSS pixels wide; `scale` 2 with half the
    /// width is what 200% zoom does to a page.
    async fn set_screen(&self, width: u32, height: u32, scale: f64) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": width < 500}),
        )
        .await;
    }

    async fn press(&self, key: &str) {
        self.browser
            .active_element()
            .await
            .unwrap()
            .send_keys(key)
            .await
            .unwrap();
    }

    async fn focused(&self) -> String {
        self.js("const e = document.activeElement; return (e.dataset.action || e.id || e.className || e.tagName)")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn usage(&self) -> UsageReport {
        let now = now_ms();
        let query = UsageQuery {
            site: "demo".into(),
            from: now - 86_400_000,
            to: now + 3_600_000,
            granularity: sonde_protocol::Granularity::Hour,
        };
        self.http
            .get(self.url("/api/usage"))
            .query(&[
                ("site", query.site),
                ("from", query.from.to_string()),
                ("to", query.to.to_string()),
                ("granularity", "hour".into()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_for_pageviews(&self, expected: u64) -> UsageReport {
        let deadline = Instant::now() + WAIT;
        loop {
            let report = self.usage().await;
            if report.total_pageviews >= expected || Instant::now() > deadline {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Requests the ingest endpoint received, as the server counts them.
    async fn ingest_requests(&self) -> u64 {
        let metrics = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("sonde_ingest_requests_total "))
            .expect("the metric is exported")
            .parse()
            .unwrap()
    }

    /// Requests to the ingest endpoint as the browser itself saw them.
    async fn ingest_requests_seen_by_browser(&self) -> usize {
        let count = self
            .browser
            .execute(
                "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/ingest')).length",
                vec![],
            )
            .await
            .unwrap();
        count.as_u64().unwrap() as usize
    }

    /// Saves what the browser shows, for a person to look at, under the
    /// test output directory (`target/tmp/screenshots`).
    async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.browser.screenshot().await.unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    async fn finish(self) {
        let _ = self.browser.close().await;
        self.server.shutdown().await.unwrap();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn connect_when_ready(port: u16, caps: serde_json::Map<String, serde_json::Value>) -> Client {
    let deadline = Instant::now() + WAIT;
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
        }
    }
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

#[tokio::test]
async fn accepting_then_browsing_three_pages_reports_three_page_views_on_the_dashboard() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.visit("/demo/").await;
    h.wait_for_banner().await;
    h.screenshot("banner-desktop").await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        h.ingest_requests().await,
        0,
        "nothing is sent before the decision"
    );

    h.click("button[data-action=accept]").await;
    assert!(!h.banner_shown().await, "the decision closes the banner");
    h.click("header a[href='/demo/products.html']").await;
    h.wait_for_sonde().await;
    h.click("a[href='/demo/products/kettle.html']").await;
    h.wait_for_sonde().await;

    let report = h.wait_for_pageviews(3).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    let report_later = h.usage().await;
    assert_eq!(report.total_pageviews, 3);
    assert_eq!(
        report_later.total_pageviews, 3,
        "no page view counted twice"
    );
    assert_eq!(report.total_visitors, 1);
    let mut pages: Vec<&str> = report.top_pages.iter().map(|p| p.path.as_str()).collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "/demo/",
            "/demo/products.html",
            "/demo/products/kettle.html"
        ]
    );
    assert_eq!(h.server.store().consent_count("demo").unwrap(), 1);

    // The dashboard draws them.
    h.open("/").await;
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
    h.screenshot("dashboard-desktop").await;
    h.finish().await;
}

#[tokio::test]
async fn reject_all_sends_nothing_to_the_ingest_endpoint() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.visit("/demo/").await;
    h.wait_for_banner().await;
    h.click("button[data-action=reject]").await;
    h.click("header a[href='/demo/products.html']").await;
    h.wait_for_sonde().await;
    h.click("button[data-add-to-cart=kettle]").await;
    h.click("a[href='/demo/products/teapot.html']").await;
    h.wait_for_sonde().await;
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
    h.finish().await;
}

#[tokio::test]
async fn usage_only_collects_page_views_and_interactions_but_no_errors_or_vitals() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.visit("/demo/").await;
    h.wait_for_banner().await;
    h.choose(&["usage"]).await;
    // Outbound links and downloads are recorded on click; keep the browser
    // here rather than follow them.
    h.js("document.querySelectorAll('a[download], a[href^=\"https://\"]').forEach(a => a.addEventListener('click', e => e.preventDefault()))").await;
    h.click("a[download]").await;
    h.click("a[href^='https://tea.example.org']").await;
    h.click("a[data-sonde-event=browse_products]").await;
    h.wait_for_sonde().await;
    h.click("button[data-add-to-cart=mug]").await;
    h.click("header a[href='/demo/cart.html']").await;
    h.wait_for_sonde().await;
    h.click("a[href='/demo/checkout.html']").await;
    h.wait_for_sonde().await;
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
    h.click("#place-order").await;
    h.wait_for_sonde().await;
    h.open("/demo/error.html").await;
    h.wait_for_sonde().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Leaving the page hides it: that is when vitals would be reported.
    h.open("/demo/").await;
    h.wait_for_sonde().await;
    h.wait_for_stored("page_view", 7).await;
    h.wait_for_stored("custom", 1).await;
    tokio::time::sleep(QUIET_PERIOD).await;

    let stored = h.stored();
    // Home, products, cart, checkout, thanks, error, home.
    assert_eq!(stored.get("page_view"), Some(&7), "{stored:?}");
    assert_eq!(
        stored.get("click"),
        Some(&3),
        "browse, add to cart, checkout: {stored:?}"
    );
    assert_eq!(stored.get("outbound"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("download"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("form_submit"), Some(&1), "{stored:?}");
    assert_eq!(stored.get("custom"), Some(&1), "the purchase: {stored:?}");
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
    ] {
        assert!(text.contains(expected), "{expected} is missing: {text}");
    }
    for secret in [
        "Jane",
        "jane.doe",
        "Secret Lane",
        "4111111111111111",
        "4111",
    ] {
        assert!(!text.contains(secret), "{secret} was stored: {text}");
    }
    h.finish().await;
}

#[tokio::test]
async fn errors_only_reports_the_error_page_exception_scrubbed_and_no_page_views() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.visit("/demo/").await;
    h.wait_for_banner().await;
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
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
    h.click("header a[href='/demo/products.html']").await;
    h.wait_for_sonde().await;
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
    h.click("button[data-action=accept]").await;
    h.click("header a[href='/demo/products.html']").await;
    h.wait_for_sonde().await;
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
    h.click("button[data-action=accept]").await;
    h.browser.refresh().await.unwrap();
    h.wait_for_sonde().await;
    h.wait_for_stored("page_view", 2).await;
    assert!(!h.banner_shown().await, "the decision is remembered");
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
    h.visit("/demo/").await;
    h.wait_for_banner().await;
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
        h.screenshot(&format!("settings-{name}")).await;
    }
    h.finish().await;
}
