//! The test server: a real socket, a temporary DuckDB file, and a client
//! signed in as the first admin. Shared by the HTTP test files.

#![allow(dead_code)]

use std::path::PathBuf;

pub mod history;
pub mod receivers;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_protocol::{ApiError, UsageReport};
use sonde_server::config::SiteOrigins;
use sonde_server::{Config, Server};

pub const ORIGIN: &str = "https://shop.example";
/// A real browser's user agent: bots and unknown agents are not stored.
pub const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

pub struct TestApp {
    pub server: Server,
    /// Signed in as the first admin (queries need a session).
    pub http: reqwest::Client,
    /// The admin session's CSRF token.
    pub csrf: String,
    pub data_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// A server on a fresh data directory serving the site `shop`, with the
    /// configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let mut config = Config::ephemeral(&data_dir);
        config.sites = vec![SiteOrigins::parse(&format!("shop={ORIGIN}")).unwrap()];
        configure(&mut config);
        let server = sonde_server::start(config).await.unwrap();
        let http = client();
        let password = server
            .first_admin_password()
            .expect("a new store")
            .to_owned();
        let csrf = sign_in(&http, &server.url(), "admin", &password)
            .await
            .expect("the first admin signs in");
        TestApp {
            server,
            http,
            csrf,
            data_dir,
            _tmp: tmp,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn post_raw(
        &self,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/api/ingest"))
            .header("content-type", content_type)
            .header("origin", ORIGIN)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn ingest(&self, batch: &Value) -> reqwest::Response {
        self.post_raw("application/json", batch.to_string()).await
    }

    /// Posts JSON to another browser endpoint (`/api/consent`, `/api/erase`).
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", ORIGIN)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// `GET path` for site `shop` over the two hours around `ts`, with
    /// `extra` parameters.
    pub async fn query_around(
        &self,
        path: &str,
        ts: i64,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let (from, to) = ((ts - 3_600_000).to_string(), (ts + 3_600_000).to_string());
        let mut params = vec![
            ("site", "shop"),
            ("from", from.as_str()),
            ("to", to.as_str()),
        ];
        params.extend_from_slice(extra);
        self.http
            .get(self.url(path))
            .query(&params)
            .send()
            .await
            .unwrap()
    }

    /// The server's `/metrics` page.
    pub async fn metrics(&self) -> String {
        let res = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap()
    }

    pub async fn usage(&self, granularity: &str) -> UsageReport {
        let now = now_ms();
        self.usage_between(granularity, now - 2 * 86_400_000, now + 3_600_000)
            .await
    }

    /// The usage report of `shop` over `[from, to)`.
    pub async fn usage_between(&self, granularity: &str, from: i64, to: i64) -> UsageReport {
        let res = self
            .http
            .get(self.url("/api/usage"))
            .query(&[
                ("site", "shop".to_string()),
                ("from", from.to_string()),
                ("to", to.to_string()),
                ("granularity", granularity.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// A browser-like client: keeps cookies, sends a real user agent.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(UA)
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Signs `http` in; the session's CSRF token, or the refusal.
pub async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<String, reqwest::Response> {
    let res = http
        .post(format!("{base}/api/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::OK {
        return Err(res);
    }
    let principal: Value = res.json().await.unwrap();
    assert_eq!(principal["kind"], "user");
    Ok(principal["csrf_token"].as_str().unwrap().to_owned())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn page_view(id: &str, url: &str) -> Value {
    json!({"id": id, "ts": now_ms(), "session": "tab-1", "kind": "page_view", "url": url, "title": "Shop"})
}

pub fn batch(events: Vec<Value>) -> Value {
    json!({"site": "shop", "consent": {"usage": true}, "events": events})
}

pub async fn expect_error(res: reqwest::Response, status: StatusCode, code: &str) -> ApiError {
    assert_eq!(res.status(), status);
    let body: ApiError = res.json().await.expect("error body is an ApiError");
    assert_eq!(body.code, code, "{body:?}");
    assert!(!body.message.is_empty());
    body
}

/// A banner decision for `shop`: usage and performance granted, under GPC.
pub fn consent_record(consent_id: &str, decided_at: i64) -> Value {
    json!({
        "site": "shop", "consent_id": consent_id,
        "grants": {"usage": true, "errors": false, "performance": true, "marketing": false},
        "policy_version": 2, "gpc": true, "source": "banner", "decided_at": decided_at
    })
}

/// `GET url` with the given request headers.
pub async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

/// The response header `name`, as text.
pub fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}
