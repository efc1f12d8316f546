//! Browser tests: the real built web app (dist/), served by the real server
//! on a temporary DuckDB file, driven in headless Chromium through
//! chromedriver. Each test uses a fresh browser profile.
//!
//! Needs `dist/` (built by `cargo xtask build-web`) and Debian's `chromium`
//! and `chromium-driver`; `cargo xtask test` provides all three.

#![cfg(not(target_arch = "wasm32"))]

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

    async fn wait_for_heading(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(h1) = self.browser.find(Locator::Css(".shop-page h1")).await
                && h1.text().await.is_ok_and(|t| t == text)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed the heading {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn banner_shown(&self) -> bool {
        !self
            .browser
            .find_all(Locator::Css("section.sonde-banner"))
            .await
            .unwrap()
            .is_empty()
    }

    /// Waits until the shop has rendered (so the banner would be there if due).
    async fn wait_for_shop(&self) {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(".shop-header"))
            .await
            .expect("the demo shop did not render");
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

#[tokio::test]
async fn accepting_then_browsing_three_pages_reports_three_page_views_on_the_dashboard() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.open("/demo").await;
    h.wait_for_shop().await;
    assert!(h.banner_shown().await, "a first visit shows the banner");
    h.screenshot("banner-desktop").await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        h.ingest_requests().await,
        0,
        "nothing is sent before the decision"
    );

    h.click("button[data-action=accept]").await;
    assert!(!h.banner_shown().await, "the decision closes the banner");
    h.click(".shop-header a[href='/demo/products']").await;
    h.wait_for_heading("Products").await;
    h.click("a[href='/demo/products/compass']").await;
    h.wait_for_heading("Brass compass").await;

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
    assert_eq!(pages, ["/demo", "/demo/products", "/demo/products/compass"]);

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
    let rows = h
        .browser
        .find_all(Locator::Css("table.top-pages tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    h.screenshot("dashboard-desktop").await;
    h.finish().await;
}

#[tokio::test]
async fn rejecting_sends_nothing_at_all() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.open("/demo").await;
    h.wait_for_shop().await;
    h.click("button[data-action=reject]").await;
    h.click(".shop-header a[href='/demo/products']").await;
    h.wait_for_heading("Products").await;
    h.click("a[href='/demo/products/map']").await;
    h.wait_for_heading("Folding map").await;
    h.click(".shop-header a[href='/demo/cart']").await;
    h.wait_for_heading("Your cart").await;
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
    assert_eq!(h.usage().await.total_pageviews, 0);
    h.finish().await;
}

#[tokio::test]
async fn the_decision_survives_a_reload() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.open("/demo").await;
    h.wait_for_shop().await;
    h.click("button[data-action=accept]").await;
    assert_eq!(h.wait_for_pageviews(1).await.total_pageviews, 1);

    h.browser.refresh().await.unwrap();
    h.wait_for_shop().await;
    assert!(
        !h.banner_shown().await,
        "an accepted decision is remembered"
    );
    assert_eq!(
        h.wait_for_pageviews(2).await.total_pageviews,
        2,
        "the reload is a page view"
    );

    // Change of mind from the settings link, then another reload.
    h.click("[data-sonde-settings]").await;
    h.click("button[data-action=reject]").await;
    h.browser.refresh().await.unwrap();
    h.wait_for_shop().await;
    assert!(!h.banner_shown().await, "a rejection is remembered too");
    h.click(".shop-header a[href='/demo/products']").await;
    h.wait_for_heading("Products").await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        h.usage().await.total_pageviews,
        2,
        "nothing is collected after withdrawal"
    );
    h.finish().await;
}
