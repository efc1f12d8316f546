//! Sign-in, roles, CSRF and share links, over a real socket: who may read
//! the dashboard's data, and who may change what.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_server::config::SiteOrigins;
use support::*;

const VIEWER_PASSWORD: &str = "viewer's long password";

impl TestApp {
    /// The admin adds a viewer `vera`.
    async fn add_viewer(&self) {
        let res = self
            .http
            .post(self.url("/api/users"))
            .header("x-csrf-token", &self.csrf)
            .json(&json!({"username": "vera", "password": VIEWER_PASSWORD, "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
    }

    /// Every dashboard query for `site`, sent by `http` with `headers`.
    async fn every_query(
        &self,
        http: &reqwest::Client,
        site: &str,
        headers: &[(&str, &str)],
    ) -> Vec<(String, reqwest::Response)> {
        let now = now_ms();
        let range = format!("site={site}&from={}&to={now}", now - 86_400_000);
        let mut requests = vec![
            http.get(self.url(&format!("/api/usage?{range}"))),
            http.get(self.url(&format!("/api/overview?{range}"))),
            http.get(self.url(&format!("/api/consent-report?{range}"))),
            http.get(self.url(&format!("/api/errors?{range}"))),
            http.get(self.url(&format!("/api/performance?{range}"))),
            http.get(self.url(&format!("/api/sites/{site}/funnels"))),
            http.get(self.url(&format!("/api/sites/{site}/goals"))),
            http.get(self.url("/api/sites")),
            http.post(self.url("/api/funnel")).json(&json!({
                "site": site, "from": now - 86_400_000, "to": now,
                "funnel": {"name": "Checkout", "steps": [{"type": "page", "path": "/"}, {"type": "page", "path": "/cart"}], "window_ms": 3_600_000}
            })),
        ];
        let mut answers = Vec::new();
        for request in requests.drain(..) {
            let mut request = request;
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let request = request.build().unwrap();
            let what = format!("{} {}", request.method(), request.url().path());
            answers.push((what, http.execute(request).await.unwrap()));
        }
        answers
    }
}

#[tokio::test]
async fn every_query_endpoint_refuses_a_request_without_a_session_or_share_link() {
    let app = TestApp::start().await;
    let stranger = client();
    for (what, res) in app.every_query(&stranger, "shop", &[]).await {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        expect_error(res, StatusCode::UNAUTHORIZED, "sign_in_required").await;
    }
    // A made-up session cookie opens nothing either.
    for (what, res) in app
        .every_query(&stranger, "shop", &[("cookie", "sonde_session=0123abcd")])
        .await
    {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    let users = stranger.get(app.url("/api/users")).send().await.unwrap();
    expect_error(users, StatusCode::UNAUTHORIZED, "sign_in_required").await;
}

#[tokio::test]
async fn a_viewer_reads_every_query_but_may_not_manage_people_or_links() {
    let app = TestApp::start().await;
    app.add_viewer().await;
    let viewer = client();
    let csrf = sign_in(&viewer, &app.server.url(), "vera", VIEWER_PASSWORD)
        .await
        .unwrap();
    for (what, res) in app.every_query(&viewer, "shop", &[]).await {
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{what}: {}",
            res.text().await.unwrap()
        );
    }
    let session: Value = viewer
        .get(app.url("/api/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["username"], "vera");
    assert_eq!(session["role"], "viewer");

    let add = viewer
        .post(app.url("/api/users"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"username": "mallory", "password": "a long password", "role": "admin"}))
        .send()
        .await
        .unwrap();
    expect_error(add, StatusCode::FORBIDDEN, "admin_only").await;
    let link = viewer
        .post(app.url("/api/sites/shop/share-links"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    expect_error(link, StatusCode::FORBIDDEN, "admin_only").await;
}

/// The keys of the sites `http` may read.
async fn site_keys(app: &TestApp, http: &reqwest::Client) -> Vec<String> {
    let listed: Value = http
        .get(app.url("/api/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect()
}

/// A viewer limited to the shop reads the shop's every query and nothing of
/// the blog's, lists only the shop, and reads the blog once an admin lets
/// them; the limits are refused where they make no sense.
#[tokio::test]
async fn a_viewer_limited_to_chosen_sites_reads_only_those() {
    let app = TestApp::start_with(|c| {
        c.sites
            .push(SiteOrigins::parse("blog=https://blog.example").unwrap())
    })
    .await;
    let put = |body: Value| {
        app.http
            .post(app.url("/api/users"))
            .header("x-csrf-token", &app.csrf)
            .json(&body)
            .send()
    };
    let vera = |sites: Value| json!({"username": "vera", "password": VIEWER_PASSWORD, "role": "viewer", "sites": sites});
    let stored: Value = put(vera(json!(["shop"])))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["sites"], json!(["shop"]));

    let viewer = client();
    sign_in(&viewer, &app.server.url(), "vera", VIEWER_PASSWORD)
        .await
        .unwrap();
    for (what, res) in app.every_query(&viewer, "shop", &[]).await {
        assert_eq!(res.status(), StatusCode::OK, "{what}");
    }
    for (what, res) in app.every_query(&viewer, "blog", &[]).await {
        if what.ends_with("/api/sites") {
            continue;
        }
        let error = expect_error(res, StatusCode::FORBIDDEN, "site_not_allowed").await;
        assert!(
            error.message.contains("\"blog\""),
            "{what}: {}",
            error.message
        );
    }
    let firings = viewer
        .get(app.url("/api/sites/blog/alerts/firings"))
        .send()
        .await
        .unwrap();
    expect_error(firings, StatusCode::FORBIDDEN, "site_not_allowed").await;
    assert_eq!(site_keys(&app, &viewer).await, ["shop"]);
    let people: Value = app
        .http
        .get(app.url("/api/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        people[1],
        json!({"username": "vera", "role": "viewer", "sites": ["shop"]})
    );

    // The same password keeps vera signed in; the blog opens at once.
    let res = put(vera(json!(["shop", "blog"]))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(site_keys(&app, &viewer).await, ["blog", "shop"]);
    let res = put(vera(Value::Null)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let overview = viewer
        .get(app.url(&format!("/api/overview?site=blog&from=0&to={}", 86_400_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), StatusCode::OK, "every site again");

    for (body, says) in [
        (vera(json!([])), "at least one site"),
        (vera(json!(["shop", "news"])), "there is no site \"news\""),
        (
            json!({"username": "ada", "password": VIEWER_PASSWORD, "role": "admin", "sites": ["shop"]}),
            "an admin reads every site",
        ),
    ] {
        let error = expect_error(
            put(body).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        )
        .await;
        assert_eq!(error.field.as_deref(), Some("sites"));
        assert!(error.message.contains(says), "{}", error.message);
    }
}

#[tokio::test]
async fn a_change_without_the_sessions_csrf_token_is_refused() {
    let app = TestApp::start().await;
    let new_user = json!({"username": "vera", "password": VIEWER_PASSWORD, "role": "viewer"});
    for token in [None, Some("not-the-token")] {
        let mut request = app.http.post(app.url("/api/users")).json(&new_user);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        expect_error(
            request.send().await.unwrap(),
            StatusCode::FORBIDDEN,
            "csrf_refused",
        )
        .await;
    }
    let link = app
        .http
        .post(app.url("/api/sites/shop/share-links"))
        .send()
        .await
        .unwrap();
    expect_error(link, StatusCode::FORBIDDEN, "csrf_refused").await;
    let sign_out = app
        .http
        .delete(app.url("/api/session"))
        .send()
        .await
        .unwrap();
    expect_error(sign_out, StatusCode::FORBIDDEN, "csrf_refused").await;
    let users: Value = app
        .http
        .get(app.url("/api/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "no one was added: {users}"
    );

    // With the token, signing out works, and the session opens nothing after.
    let sign_out = app
        .http
        .delete(app.url("/api/session"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(sign_out.status(), StatusCode::NO_CONTENT);
    for (what, res) in app.every_query(&app.http, "shop", &[]).await {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}

/// Another site's form can post JSON-shaped `text/plain` without asking;
/// signing in refuses it, so no one is signed into an account of another
/// site's choosing.
#[tokio::test]
async fn a_sign_in_sent_the_way_another_sites_form_can_is_refused() {
    let app = TestApp::start().await;
    app.add_viewer().await;
    let visitor = client();
    let form = visitor
        .post(app.url("/api/session"))
        .header("content-type", "text/plain")
        .header("origin", "https://evil.example")
        .body(json!({"username": "vera", "password": VIEWER_PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        form.headers().get("set-cookie").is_none(),
        "no session cookie is set"
    );
    expect_error(
        form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_content_type",
    )
    .await;
    let current = visitor.get(app.url("/api/session")).send().await.unwrap();
    assert_eq!(current.status(), StatusCode::UNAUTHORIZED);
    // The dashboard's own JSON sign-in still works.
    sign_in(&visitor, &app.server.url(), "vera", VIEWER_PASSWORD)
        .await
        .expect("vera signs in with JSON");
}

#[tokio::test]
async fn a_share_link_reads_its_own_site_only_and_nothing_once_revoked() {
    let app = TestApp::start_with(|c| {
        c.sites
            .push(SiteOrigins::parse("blog=https://blog.example").unwrap())
    })
    .await;
    let res = app
        .http
        .post(app.url("/api/sites/shop/share-links"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["path"], format!("/?share={token}"));
    let listed: Value = app
        .http
        .get(app.url("/api/sites/shop/share-links"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], created["link"]["id"]);
    assert!(listed[0].get("token").is_none(), "the token is shown once");

    let reader = client();
    let share = [("x-sonde-share", token.as_str())];
    for (what, res) in app.every_query(&reader, "shop", &share).await {
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{what}: {}",
            res.text().await.unwrap()
        );
    }
    let sites: Value = reader
        .get(app.url("/api/sites"))
        .header("x-sonde-share", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites, json!([{"key": "shop"}]), "only the shared site");
    for (what, res) in app.every_query(&reader, "blog", &share).await {
        if what.ends_with("/api/sites") {
            continue;
        }
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        expect_error(res, StatusCode::FORBIDDEN, "not_shared").await;
    }
    // Read-only: a share link changes nothing.
    let add = reader
        .post(app.url("/api/users"))
        .header("x-sonde-share", &token)
        .json(&json!({"username": "mallory", "password": "a long password", "role": "admin"}))
        .send()
        .await
        .unwrap();
    expect_error(add, StatusCode::UNAUTHORIZED, "sign_in_required").await;

    let id = created["link"]["id"].as_str().unwrap();
    let revoke = app
        .http
        .delete(app.url(&format!("/api/share-links/{id}")))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    for (what, res) in app.every_query(&reader, "shop", &share).await {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        expect_error(res, StatusCode::UNAUTHORIZED, "share_link_invalid").await;
    }
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let app = TestApp::start().await;
    app.add_viewer().await;
    let base = app.server.url();
    let http = client();
    let stranger = sign_in(&http, &base, "nobody", "whatever it is")
        .await
        .unwrap_err();
    let stranger = expect_error(stranger, StatusCode::UNAUTHORIZED, "wrong_credentials").await;
    for _ in 0..4 {
        let wrong = sign_in(&http, &base, "vera", "not the password")
            .await
            .unwrap_err();
        let wrong = expect_error(wrong, StatusCode::UNAUTHORIZED, "wrong_credentials").await;
        assert_eq!(wrong.message, stranger.message, "who exists is not told");
    }
    let fifth = sign_in(&http, &base, "vera", "not the password")
        .await
        .unwrap_err();
    assert_eq!(fifth.headers()["retry-after"], "900");
    expect_error(fifth, StatusCode::TOO_MANY_REQUESTS, "locked_out").await;
    let right = sign_in(&http, &base, "vera", VIEWER_PASSWORD)
        .await
        .unwrap_err();
    let locked = expect_error(right, StatusCode::TOO_MANY_REQUESTS, "locked_out").await;
    assert!(
        locked.message.contains("15 more minutes"),
        "{}",
        locked.message
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_strict_and_no_secret_is_stored_in_clear() {
    let app = TestApp::start().await;
    app.add_viewer().await;
    let res = reqwest::Client::new()
        .post(app.url("/api/session"))
        .json(&json!({"username": "vera", "password": VIEWER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("sonde_session=")
        .unwrap();
    assert_eq!(token.len(), 64);

    let store = &app.server.stores().inspection;
    let users = store.dump_as_text("users").unwrap();
    assert!(users.contains("$argon2id$"), "{users}");
    assert!(!users.contains(VIEWER_PASSWORD));
    let sessions = store.dump_as_text("sessions").unwrap();
    assert!(
        !sessions.contains(token),
        "the session token is stored hashed"
    );
}

#[tokio::test]
async fn an_admin_saves_edits_and_deletes_a_funnel_that_a_viewer_can_only_read() {
    let app = TestApp::start().await;
    let checkout = json!({"name": "Checkout", "window_ms": 3_600_000, "unit": "session", "steps": [
        {"type": "page", "path": "/cart"}, {"type": "event", "name": "purchase"}]});
    let res = app
        .http
        .post(app.url("/api/sites/shop/funnels"))
        .header("x-csrf-token", &app.csrf)
        .json(&checkout)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let saved: Value = res.json().await.unwrap();
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["funnel"], checkout);

    let mut edited = checkout.clone();
    edited["name"] = json!("Checkout, edited");
    let res = app
        .http
        .put(app.url(&format!("/api/funnels/{id}")))
        .header("x-csrf-token", &app.csrf)
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bad = app
        .http
        .put(app.url(&format!("/api/funnels/{id}")))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "x", "window_ms": 60_000, "steps": [{"type": "page", "path": "/"}]}))
        .send()
        .await
        .unwrap();
    let bad = expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range").await;
    assert_eq!(bad.field.as_deref(), Some("steps"));

    app.add_viewer().await;
    let viewer = client();
    let csrf = sign_in(&viewer, &app.server.url(), "vera", VIEWER_PASSWORD)
        .await
        .unwrap();
    let listed: Value = viewer
        .get(app.url("/api/sites/shop/funnels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["funnel"]["name"], "Checkout, edited");
    let delete = viewer
        .delete(app.url(&format!("/api/funnels/{id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    expect_error(delete, StatusCode::FORBIDDEN, "admin_only").await;
    let delete = app
        .http
        .delete(app.url(&format!("/api/funnels/{id}")))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let gone = viewer
        .get(app.url(&format!("/api/funnels/{id}")))
        .send()
        .await
        .unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
}
