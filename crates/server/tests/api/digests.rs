//! Digests end to end: subscriptions made over the API, sent by the
//! server's own schedule to a real SMTP server process (Debian's
//! aiosmtpd), read back as MIME (text, HTML and the inline PNG charts),
//! and unsubscribed through the link, without signing in.

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sonde_protocol::digest::{Frequency, SavedDigest};
use sonde_protocol::overview::OverviewReport;
use sonde_server::digests::{Postbox, last_complete, round};
use sonde_server::mail::Mailer;
use sonde_server::site::{Site, Sites};

use crate::support::history::History;
use crate::support::receivers::MailServer;
use crate::support::{TestApp, expect_error, now_ms};

const DAY: i64 = 86_400_000;

async fn subscribe(app: &TestApp, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/sites/shop/digests"))
        .header("x-csrf-token", &app.csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn subscriptions(app: &TestApp) -> Vec<SavedDigest> {
    let res = app
        .http
        .get(app.url("/api/sites/shop/digests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn shop(app: &TestApp) -> Site {
    let settings = app
        .server
        .stores()
        .sites
        .sites()
        .unwrap()
        .into_iter()
        .find(|s| s.key == "shop")
        .unwrap();
    Site::new(settings).unwrap()
}

/// Last week: 12 visitors on /pricing (5 of whom go on to /thanks), 7 on
/// /docs, an error; the week before: 8 visitors on /pricing.
fn last_weeks(app: &TestApp, week_start: i64) {
    let mut history = History::new();
    let noon = week_start + 2 * DAY + DAY / 2;
    history.views(1, 12, noon, "/pricing");
    history.views(1, 5, noon + 60_000, "/thanks");
    history.views(100, 7, noon + DAY, "/docs");
    history.add(
        100,
        noon + DAY + 1_000,
        json!({"kind": "error", "url": "/docs", "message": "TypeError: search is undefined"}),
    );
    history.views(200, 8, noon - 7 * DAY, "/pricing");
    history.write(app);
}

#[tokio::test]
async fn a_weekly_digest_arrives_with_its_figures_and_charts_and_its_link_unsubscribes() {
    let mail = MailServer::start();
    let smtp = mail.url();
    let app = TestApp::start_with(|c| {
        c.smtp_url = Some(smtp);
        c.alert_interval = 1;
        c.public_url = Some("https://sonde.shop.example".into());
    })
    .await;
    let site = shop(&app);
    let week = last_complete(Frequency::Weekly, now_ms(), site.timezone).unwrap();
    last_weeks(&app, week.start);
    let res = app
        .http
        .post(app.url("/api/sites/shop/goals"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "Purchase", "target": {"type": "page", "path": "/thanks"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = subscribe(
        &app,
        json!({"email": "pm@shop.example", "frequency": "weekly"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: SavedDigest = res.json().await.unwrap();
    assert_eq!(made.last_period, None);

    // The server's next round sends it.
    let raw = mail.wait_for(1).await;
    assert_eq!(raw.len(), 1);
    let bytes = &mail.raw_messages()[0];
    let message = MessageParser::default().parse(bytes).unwrap();
    let subject = message.subject().unwrap();
    assert!(
        subject.starts_with("[Sonde] shop: 19 visitors in the week of "),
        "{subject}"
    );
    assert!(subject.ends_with("(+138 %)"), "19 against 8: {subject}");
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("pm@shop.example")
    );
    let unsubscribe = message
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        unsubscribe.starts_with("https://sonde.shop.example/digests/unsubscribe?token="),
        "{unsubscribe}"
    );
    assert_eq!(
        message.header_raw("List-Unsubscribe-Post").unwrap().trim(),
        "List-Unsubscribe=One-Click"
    );

    // The text part: the figures the dashboard shows for the same week.
    let text = message.body_text(0).unwrap();
    let overview: OverviewReport = app
        .http
        .get(app.url(&format!(
            "/api/overview?site=shop&from={}&to={}",
            week.start, week.stop
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview.current.visitors, 19);
    assert!(
        text.contains("Visitors                  19  +138 %"),
        "{text}"
    );
    for row in &overview.pages.rows {
        assert!(
            text.contains(&format!("{:>10}  {}", row.visitors, row.label)),
            "{row:?} in {text}"
        );
    }
    assert!(text.contains("        12  /pricing"), "{text}");
    assert!(text.contains("Purchase: "), "{text}");
    assert!(
        text.contains("New:\n    1 × TypeError: search is undefined"),
        "{text}"
    );
    assert!(text.contains(&format!("Unsubscribe: {unsubscribe}")));
    // The link opens the dashboard on the same seven days.
    let sunday = chrono::DateTime::from_timestamp_millis(week.stop - 1)
        .unwrap()
        .with_timezone(&site.timezone)
        .date_naive();
    let link = format!(
        "Open in Sonde: https://sonde.shop.example/?range={}..{sunday}&site=shop",
        &week.local[..10]
    );
    assert!(text.contains(&link), "{link} in {text}");

    // The HTML part shows the charts from the message itself.
    let html = message.body_html(0).unwrap();
    assert!(html.contains("src=\"cid:visitors-chart@sonde\""), "{html}");
    assert!(html.contains("src=\"cid:errors-chart@sonde\""));
    assert!(html.contains("/pricing"));
    let images: Vec<_> = message
        .attachments()
        .filter(|part| part.content_type().is_some_and(|t| t.ctype() == "image"))
        .collect();
    assert_eq!(images.len(), 2);
    let ids: Vec<&str> = images.iter().filter_map(|p| p.content_id()).collect();
    assert_eq!(ids, ["visitors-chart@sonde", "errors-chart@sonde"]);
    for image in &images {
        assert_eq!(image.content_type().unwrap().subtype(), Some("png"));
        let png = png::Decoder::new(std::io::Cursor::new(image.contents()))
            .read_info()
            .expect("a PNG image");
        assert_eq!((png.info().width, png.info().height), (560, 160));
    }

    // Kept as sent: later rounds send nothing more for this week.
    let listed = subscriptions(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_period.as_deref(), Some(week.local.as_str()));
    assert!(listed[0].last_sent_at.is_some());
    assert_eq!(listed[0].last_error, None);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(mail.raw_messages().len(), 1, "sent once");

    // The link: a page that asks (mail scanners open links), then a POST.
    let path = unsubscribe.trim_start_matches("https://sonde.shop.example");
    let stranger = crate::support::client();
    let page = stranger.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("pm@shop.example gets the weekly digest"),
        "{body}"
    );
    assert!(body.contains("<form method=\"post\""), "{body}");
    assert_eq!(subscriptions(&app).await.len(), 1, "a GET changes nothing");
    // As a mail client's one-click button posts it (RFC 8058).
    let done = stranger
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("You are unsubscribed"));
    assert!(subscriptions(&app).await.is_empty());
    let again = stranger.get(app.url(path)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("no longer works"));
    let forged = stranger
        .post(app.url("/digests/unsubscribe?token=guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_digest_the_mail_server_refused_keeps_why_and_goes_out_once_it_is_back() {
    let mail = MailServer::start();
    // The server's own schedule stays out of the way: rounds at chosen times.
    let app = TestApp::start_with(|c| c.alert_interval = 3600).await;
    let site = shop(&app);
    let sites = Sites::new([site.clone()]);
    let res = subscribe(
        &app,
        json!({"email": "ceo@shop.example", "frequency": "monthly"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let now = now_ms();
    let month = last_complete(Frequency::Monthly, now, site.timezone).unwrap();
    last_weeks(&app, month.start);

    // Nothing listens on the port of a stopped mail server.
    let down = {
        let stopped = MailServer::start();
        stopped.url()
    };
    let postbox = |url: &str| Postbox {
        mailer: Some(Mailer::new(url, "Sonde <sonde@shop.example>").unwrap()),
        dashboard: "https://sonde.shop.example".into(),
        min_group_size: 5,
    };
    let stores = app.server.stores().clone();
    let outcome = round(&stores, &sites, &postbox(&down), now).await.unwrap();
    assert_eq!((outcome.sent, outcome.failed), (0, 1));
    let kept = &subscriptions(&app).await[0];
    assert_eq!(kept.last_period, None);
    let why = kept.last_error.as_deref().unwrap();
    assert!(why.contains("mail server"), "{why}");

    let up = postbox(&mail.url());
    let outcome = round(&stores, &sites, &up, now + 60_000).await.unwrap();
    assert_eq!((outcome.sent, outcome.failed), (1, 0));
    let kept = &subscriptions(&app).await[0];
    assert_eq!(kept.last_period.as_deref(), Some(month.local.as_str()));
    assert_eq!(kept.last_error, None);
    let messages = mail.wait_for(1).await;
    assert!(messages[0].contains("Against the "), "{}", messages[0]);
    // Within the month, no more; the next month, the next digest.
    let outcome = round(&stores, &sites, &up, now + DAY).await.unwrap();
    assert_eq!(outcome.sent, 0);
    let next = month.stop + 40 * DAY;
    let outcome = round(&stores, &sites, &up, next).await.unwrap();
    assert_eq!(outcome.sent, 1);
    mail.wait_for(2).await;
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn subscriptions_are_for_admins_and_need_an_address() {
    let mail = MailServer::start();
    let smtp = mail.url();
    let app = TestApp::start_with(|c| {
        c.smtp_url = Some(smtp);
        c.alert_interval = 3600;
    })
    .await;
    let res = subscribe(&app, json!({"email": "pm at shop", "frequency": "weekly"})).await;
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email").await;
    assert_eq!(error.field.as_deref(), Some("email"));
    let res = subscribe(
        &app,
        json!({"email": "pm@shop.example", "frequency": "daily"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .http
        .post(app.url("/api/sites/nowhere/digests"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"email": "pm@shop.example", "frequency": "weekly"}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "unknown_site").await;

    // The same address again: one subscription, at the new frequency.
    let first: SavedDigest = subscribe(
        &app,
        json!({"email": "pm@shop.example", "frequency": "weekly"}),
    )
    .await
    .json()
    .await
    .unwrap();
    subscribe(
        &app,
        json!({"email": "PM@shop.example", "frequency": "monthly"}),
    )
    .await;
    let listed = subscriptions(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, first.id);
    assert_eq!(listed[0].frequency, Frequency::Monthly);

    // Sent on demand, for the last complete month.
    let res = app
        .http
        .post(app.url(&format!("/api/digests/{}/send", first.id)))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let sent: SavedDigest = res.json().await.unwrap();
    assert!(sent.last_sent_at.is_some());
    let messages = mail.wait_for(1).await;
    assert!(messages[0].contains("pm@shop.example"));

    // Without the CSRF token, or signed out: refused.
    let res = app
        .http
        .post(app.url("/api/sites/shop/digests"))
        .json(&json!({"email": "x@shop.example", "frequency": "weekly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let anonymous = crate::support::client();
    let res = anonymous
        .get(app.url("/api/sites/shop/digests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A viewer sees no one's address.
    let res = app
        .http
        .post(app.url("/api/users"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"username": "vera", "password": "viewer's long password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let viewer = crate::support::client();
    crate::support::sign_in(&viewer, &app.server.url(), "vera", "viewer's long password")
        .await
        .unwrap();
    let res = viewer
        .get(app.url("/api/sites/shop/digests"))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "admin_only").await;

    let remove = |id: String| {
        let app = &app;
        async move {
            app.http
                .delete(app.url(&format!("/api/digests/{id}")))
                .header("x-csrf-token", &app.csrf)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(remove(first.id.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(remove(first.id).await, StatusCode::NOT_FOUND);
    assert!(subscriptions(&app).await.is_empty());
    app.server.shutdown().await.unwrap();
}
