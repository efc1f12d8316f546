//! Safe on the internet: the client address behind a reverse proxy, and
//! rate limits on every public endpoint.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Posts one page view as if forwarded with `X-Forwarded-For: chain`.
async fn page_view_via(app: &TestApp, id: &str, header: (&str, &str)) {
    let res = app
        .http
        .post(app.url("/api/ingest"))
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .header(header.0, header.1)
        .body(batch(vec![page_view(id, "/")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    // No trusted proxy (the default): whatever the header says, every
    // request comes from this test's one address.
    let app = TestApp::start().await;
    for (i, forged) in ["203.0.113.1", "203.0.113.2", "198.51.100.3"]
        .into_iter()
        .enumerate()
    {
        page_view_via(&app, &format!("x{i}"), ("x-forwarded-for", forged)).await;
        page_view_via(
            &app,
            &format!("f{i}"),
            ("forwarded", &format!("for={forged}")),
        )
        .await;
    }
    let usage = app.usage("day").await;
    assert_eq!(usage.total_pageviews, 6);
    assert_eq!(usage.total_visitors, 1, "a forged header made new visitors");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_its_own_visitor() {
    let app =
        TestApp::start_with(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    // Two people behind the proxy, one of whom forges a hop of their own
    // before it: the proxy appended the address it saw, right-most.
    page_view_via(&app, "a1", ("x-forwarded-for", "198.51.100.7")).await;
    page_view_via(
        &app,
        "a2",
        ("x-forwarded-for", "203.0.113.99, 198.51.100.7"),
    )
    .await;
    page_view_via(&app, "a3", ("x-forwarded-for", "10.9.9.9, 198.51.100.7")).await;
    page_view_via(&app, "b1", ("x-forwarded-for", "198.51.100.8")).await;
    // The proxy set X-Forwarded-For; a Forwarded header is the client's.
    page_view_via(&app, "c1", ("forwarded", "for=198.51.100.9")).await;
    let usage = app.usage("day").await;
    assert_eq!(usage.total_pageviews, 5);
    assert_eq!(
        usage.total_visitors, 3,
        "198.51.100.7 (three times), 198.51.100.8, and the proxy itself"
    );
}

#[tokio::test]
async fn the_proxies_may_set_forwarded_instead() {
    let app = TestApp::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.proxy_header = sonde_server::client_address::ProxyHeader::Forwarded;
    })
    .await;
    page_view_via(&app, "a1", ("forwarded", "for=198.51.100.7;proto=https")).await;
    page_view_via(&app, "a2", ("forwarded", r#"for="[2001:db8::7]:443""#)).await;
    page_view_via(&app, "a3", ("x-forwarded-for", "198.51.100.8")).await;
    let usage = app.usage("day").await;
    assert_eq!(
        usage.total_visitors, 3,
        "two forwarded clients and the proxy"
    );
}

/// Sends `request` until it is refused, and says how many got through.
async fn until_refused(
    mut send: impl AsyncFnMut() -> reqwest::Response,
    most: usize,
) -> (usize, reqwest::Response) {
    for sent in 0..most {
        let res = send().await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return (sent, res);
        }
        assert!(
            res.status().is_success(),
            "{}: {:?}",
            res.status(),
            res.text().await
        );
    }
    panic!("{most} requests and none refused");
}

async fn assert_told_when_to_come_back(res: reqwest::Response) {
    let retry: u64 = header(&res, "retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn consent_erase_and_banner_are_rate_limited_per_client() {
    let app = TestApp::start_with(|c| {
        c.rate_limit_client = 1;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let from = |client: &'static str| {
        let app = &app;
        async move |path: &str, body: Option<Value>| {
            let request = match body {
                Some(body) => app
                    .http
                    .post(app.url(path))
                    .header("content-type", "text/plain;charset=UTF-8")
                    .body(body.to_string()),
                None => app.http.get(app.url(path)),
            };
            request
                .header("origin", ORIGIN)
                .header("x-forwarded-for", client)
                .send()
                .await
                .unwrap()
        }
    };
    // One a second after a burst of ten seconds' worth, across the three
    // endpoints together.
    let alice = from("198.51.100.7");
    let mut n = 0;
    let (sent, refused) = until_refused(
        async || {
            n += 1;
            match n % 3 {
                0 => {
                    alice(
                        "/api/consent",
                        Some(consent_record(&format!("c0ffee{n:02}"), now_ms())),
                    )
                    .await
                }
                1 => alice("/api/erase", Some(json!({"site": "shop", "sessions": []}))).await,
                _ => alice("/api/banner/shop", None).await,
            }
        },
        30,
    )
    .await;
    assert!((10..=11).contains(&sent), "{sent} got through");
    assert_told_when_to_come_back(refused).await;
    // Someone else is not held up.
    let bob = from("198.51.100.8");
    assert_eq!(bob("/api/banner/shop", None).await.status(), StatusCode::OK);
    // Ingest has its own limits, per visitor.
    assert_eq!(
        app.ingest(&batch(vec![page_view("i1", "/")]))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_in_is_limited_per_client_across_accounts() {
    let app = TestApp::start_with(|c| {
        c.rate_limit_sign_in = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let attempt = |client: &'static str, username: &'static str| {
        let app = &app;
        async move || {
            app.http
                .post(app.url("/api/session"))
                .header("content-type", "application/json")
                .header("x-forwarded-for", client)
                .body(json!({"username": username, "password": "guess"}).to_string())
                .send()
                .await
                .unwrap()
        }
    };
    // Wrong passwords on three different accounts: none is locked, but the
    // client is out of attempts.
    for username in ["alice", "bob", "carol"] {
        let res = attempt("198.51.100.7", username)().await;
        expect_error(res, StatusCode::UNAUTHORIZED, "wrong_credentials").await;
    }
    let refused = attempt("198.51.100.7", "dave")().await;
    assert_told_when_to_come_back(refused).await;
    // Another client may still try.
    let res = attempt("198.51.100.8", "alice")().await;
    expect_error(res, StatusCode::UNAUTHORIZED, "wrong_credentials").await;
}

#[tokio::test]
async fn a_bot_is_counted_not_stored_on_the_consent_and_banner_endpoints() {
    let app = TestApp::start().await;
    let crawler = "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)";
    let consent = app
        .http
        .post(app.url("/api/consent"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", ORIGIN)
        .header("user-agent", crawler)
        .body(consent_record("c0ffee42", now_ms()).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), StatusCode::OK);
    let receipt: Value = consent.json().await.unwrap();
    assert_eq!(receipt["stored"], false);
    let banner = get_with(&app, "/api/banner/shop", &[("user-agent", crawler)]).await;
    assert_eq!(banner.status(), StatusCode::OK, "the wording is public");
    // A person's download is a banner shown.
    let person = get_with(&app, "/api/banner/shop", &[]).await;
    assert_eq!(person.status(), StatusCode::OK);

    let inspection = &app.server.stores().inspection;
    assert_eq!(inspection.consent_count("shop").unwrap(), 0);
    assert_eq!(inspection.banner_impressions("shop").unwrap(), 1);
    assert_eq!(inspection.bot_requests("shop").unwrap(), 2);
}
