//! The browser harness shared by the browser tests and the budgets
//! benchmark: the real server on a temporary DuckDB file serving `dist/`,
//! and headless Chromium driven through chromedriver, with a fresh profile.

#![allow(dead_code)] // each user takes what it needs

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use sonde_protocol::EventData;
use sonde_protocol::{UsageQuery, UsageReport};
use sonde_server::store::StoredEvent;
use sonde_server::user_agent::{Device, Software};
use sonde_server::{Config, Server};
use tokio::process::{Child, Command};

/// One Chromium at a time: two cores do not run several reliably.
pub static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const WAIT: Duration = Duration::from_secs(15);
/// Longer than the collector's flush delay (1 s), so anything queued has
/// been sent by the end of it.
pub const QUIET_PERIOD: Duration = Duration::from_secs(3);

/// The user agent of the desktop Chromium these tests drive.
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

pub struct Harness {
    pub server: Server,
    pub browser: Client,
    driver_port: u16,
    _driver: Child,
    _tmp: tempfile::TempDir,
    /// Signed in as the first admin.
    http: reqwest::Client,
    /// The first admin's password, printed once at start.
    pub admin_password: String,
    csrf: String,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    /// With the demo site's four weeks of traffic (delivered at start).
    pub async fn start_with_demo_traffic() -> Harness {
        Self::start_with(|c| c.seed_demo = true).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Harness {
        // At run time (`cargo test` sets the manifest dir, `cargo xtask
        // bench` the root): clones sharing a target directory may share this
        // binary, with another clone's path compiled in.
        let root = std::env::var_os("SONDE_ROOT")
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        let dist = root.join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "the web app is not built: run `cargo xtask build-web` first (`cargo xtask test` does)"
        );
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(tmp.path().join("data"));
        config.web_dir = Some(dist);
        config.demo = true;
        configure(&mut config);
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
                    // Headless Chromium says "HeadlessChrome", which the
                    // server rightly counts as a bot; these tests play a
                    // person's browser.
                    format!("--user-agent={BROWSER_USER_AGENT}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let browser = connect_when_ready(port, caps).await;
        let admin_password = server
            .first_admin_password()
            .expect("a new store makes the first admin")
            .to_owned();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let signed_in = http
            .post(format!("{}/api/session", server.url()))
            .json(&json!({"username": "admin", "password": admin_password}))
            .send()
            .await
            .unwrap();
        assert!(signed_in.status().is_success(), "the first admin signs in");
        let principal: serde_json::Value = signed_in.json().await.unwrap();
        let csrf = principal["csrf_token"].as_str().unwrap().to_owned();
        Harness {
            server,
            browser,
            driver_port: port,
            _driver: driver,
            _tmp: tmp,
            http,
            admin_password,
            csrf,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.unwrap();
    }

    /// A new share link for `site`: the path that opens it.
    pub async fn create_share_link(&self, site: &str) -> String {
        let created: serde_json::Value = self
            .http
            .post(self.url(&format!("/api/sites/{site}/share-links")))
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["path"].as_str().expect("a share link").to_owned()
    }

    /// Opens the dashboard and signs in through its form as the first admin.
    pub async fn sign_in_to_dashboard(&self) {
        let password = self.admin_password.clone();
        self.sign_in_as("admin", &password).await;
    }

    /// Opens the dashboard and signs in through its form.
    pub async fn sign_in_as(&self, username_text: &str, password: &str) {
        self.open("/").await;
        let username = self
            .browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("form input[name=username]"))
            .await
            .expect("the dashboard asks to sign in");
        username.send_keys(username_text).await.unwrap();
        self.browser
            .find(Locator::Css("form input[name=password]"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        self.click("form button[type=submit]").await;
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(".dashboard .reader"))
            .await
            .expect("signed in, the dashboard names the reader");
    }

    /// The element at `css`, once it exists.
    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Waits until the page's collector is running (`window.sonde` is the
    /// collector, not the queue the page may have put there).
    pub async fn wait_for_sonde(&self) {
        self.wait_until("the collector to start", || async {
            self.js("return typeof (window.sonde || {}).track === 'function'")
                .await
                .as_bool()
                .unwrap_or(false)
        })
        .await;
    }

    /// Clicks a link (or submit button) and waits for the page it leads to,
    /// and for that page's collector.
    pub async fn click_to(&self, css: &str, path: &str) {
        self.click(css).await;
        self.wait_until(&format!("{path} to load"), || async {
            self.js("return location.pathname + ' ' + typeof (window.sonde || {}).track")
                .await
                .as_str()
                .is_some_and(|s| s == format!("{path} function"))
        })
        .await;
    }

    /// A first visit to the demo shop: the home page, with the banner.
    pub async fn first_visit(&self) {
        self.visit("/demo/").await;
        self.wait_for_banner().await;
    }

    /// Opens a demo page and waits for its collector.
    pub async fn visit(&self, path: &str) {
        self.open(path).await;
        self.wait_for_sonde().await;
    }

    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.browser
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    pub async fn wait_until<F, Fut>(&self, what: &str, mut condition: F)
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

    pub async fn banner_shown(&self) -> bool {
        !self
            .browser
            .find_all(Locator::Css("#sonde-consent section.sonde-banner"))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn wait_for_banner(&self) {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#sonde-consent section.sonde-banner"))
            .await
            .expect("the banner was not shown");
    }

    /// Ticks exactly the given categories in the open details and saves.
    pub async fn choose(&self, categories: &[&str]) {
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
    pub async fn choose_in_open_details(&self, categories: &[&str]) {
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
    /// Stores page views of the demo site as `(session, path)` pairs, a
    /// minute apart in each session, ending now.
    pub fn store_page_views(&self, views: &[(&str, &str)]) {
        let now = now_ms();
        let events: Vec<StoredEvent> = views
            .iter()
            .enumerate()
            .map(|(i, (session, path))| StoredEvent {
                id: format!("fixture-{i}"),
                site: "demo".into(),
                ts: now - 3_600_000 + i as i64 * 60_000,
                visitor_id: session.len() as i64,
                session_id: Some((*session).into()),
                path: (*path).into(),
                software: Software {
                    browser: "Chrome".into(),
                    os: "Linux".into(),
                    device: Device::Desktop,
                },
                data: EventData::PageView {
                    referrer: None,
                    title: None,
                    campaign: Default::default(),
                },
            })
            .collect();
        self.server.stores().ingest.write(&events).unwrap();
    }

    /// Stores events of the demo site, a second apart, ending a minute ago.
    pub fn store_events(&self, events: Vec<(&str, &str, EventData)>) {
        let now = now_ms();
        let n = events.len() as i64;
        let events: Vec<StoredEvent> = events
            .into_iter()
            .enumerate()
            .map(|(i, (session, path, data))| StoredEvent {
                id: format!("fixture-event-{i}"),
                site: "demo".into(),
                ts: now - 60_000 - (n - i as i64) * 1_000,
                visitor_id: 1,
                session_id: Some(session.into()),
                path: path.into(),
                software: Software {
                    browser: "Safari".into(),
                    os: "iPhone".into(),
                    device: Device::Mobile,
                },
                data,
            })
            .collect();
        self.server.stores().ingest.write(&events).unwrap();
    }

    /// `POST` JSON to an API path as the signed-in admin (with the
    /// session's CSRF token, as the dashboard sends it).
    pub async fn api_post(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        self.http
            .post(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `GET` an API path as the signed-in admin, as text.
    pub async fn api_text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `GET` an API path as the signed-in admin.
    pub async fn api(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The text of each cell of the table rows at `css`.
    pub async fn table(&self, css: &str) -> Vec<Vec<String>> {
        self.browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        let cells = self
            .js(&format!(
                "return [...document.querySelectorAll({css:?} + ' tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))"
            ))
            .await;
        serde_json::from_value(cells).unwrap()
    }

    /// Types `text` into the empty input at `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self
            .browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// The value of `attribute` of the element at `css`, once it exists.
    pub async fn attribute(&self, css: &str, attribute: &str) -> Option<String> {
        self.element(css).await.attr(attribute).await.unwrap()
    }

    /// The text of the element at `css`, once it exists.
    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    /// The entrants per step the funnel chart shows (`data-entrants`,
    /// comma-separated), once it is drawn.
    pub async fn funnel_entrants(&self) -> Option<String> {
        self.attribute("figure[data-chart=funnel]", "data-entrants")
            .await
    }

    pub fn stored(&self) -> BTreeMap<String, u64> {
        self.server
            .stores()
            .inspection
            .count_by_kind("demo")
            .unwrap()
    }

    pub fn stored_kind(&self, kind: &str) -> u64 {
        self.stored().get(kind).copied().unwrap_or(0)
    }

    /// Every stored event value as text, to look for (or not) a value.
    pub fn stored_text(&self) -> String {
        self.server
            .stores()
            .inspection
            .dump_as_text("events")
            .unwrap()
    }

    /// Panics if any secret was stored. A secret of digits is looked for
    /// as a whole number: random ids and hashes in the store hold short runs
    /// of digits, such as a card's "4111", inside them by chance.
    pub fn assert_nothing_stored_of(&self, secrets: &[&str]) {
        let text = self.stored_text();
        for secret in secrets {
            let found = if secret.chars().all(|c| c.is_ascii_digit()) {
                text.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|word| word == *secret)
            } else {
                text.contains(secret)
            };
            assert!(!found, "{secret} was stored: {text}");
        }
    }

    /// Waits until the demo site holds `expected` consent records, then
    /// checks that no more arrive within the quiet period: the banner sends
    /// a choice asynchronously, after the click has returned.
    pub async fn wait_for_consents(&self, expected: u64) {
        let count = || {
            self.server
                .stores()
                .inspection
                .consent_count("demo")
                .unwrap()
        };
        let deadline = Instant::now() + WAIT;
        while count() < expected {
            assert!(
                Instant::now() < deadline,
                "expected {expected} consent records, the store has {}",
                count()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(QUIET_PERIOD).await;
        assert_eq!(count(), expected, "more consent records than choices made");
    }

    pub async fn wait_for_stored(&self, kind: &str, at_least: u64) {
        let deadline = Instant::now() + WAIT;
        while self.stored_kind(kind) < at_least {
            assert!(
                Instant::now() < deadline,
                "expected {at_least} {kind} events, the store has {:?}:\n{}",
                self.stored(),
                self.stored_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A Chrome DevTools command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) {
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

    pub async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    /// Emulates a screen `width` CSS pixels wide; `scale` 2 with half the
    /// width is what 200% zoom does to a page.
    pub async fn set_screen(&self, width: u32, height: u32, scale: f64) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": width < 500}),
        )
        .await;
    }

    pub async fn press(&self, key: &str) {
        self.browser
            .active_element()
            .await
            .unwrap()
            .send_keys(key)
            .await
            .unwrap();
    }

    pub async fn focused(&self) -> String {
        self.js("const e = document.activeElement; return (e.dataset.action || e.id || e.className || e.tagName)")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn usage(&self) -> UsageReport {
        let now = now_ms();
        let query = UsageQuery {
            site: "demo".into(),
            from: now - 86_400_000,
            to: now + 3_600_000,
            granularity: sonde_protocol::Granularity::Hour,
            ..Default::default()
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

    pub async fn wait_for_pageviews(&self, expected: u64) -> UsageReport {
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
    pub async fn ingest_requests(&self) -> u64 {
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
    pub async fn ingest_requests_seen_by_browser(&self) -> usize {
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
    pub async fn screenshot(&self, name: &str) {
        // Only test targets get CARGO_TARGET_TMPDIR; the benchmark shares this code.
        let dir = option_env!("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.browser.screenshot().await.unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    pub async fn finish(self) {
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

pub fn now_ms() -> i64 {
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
