//! Alerts end to end: rules made over the API, evaluated on the server's
//! schedule or in rounds at chosen times over history written to the
//! store, delivered to a real SMTP server process and a real HTTP
//! receiver, fired once and resolved once.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use sonde_protocol::ConsentRecord;
use sonde_protocol::alert::{AlertFiring, SavedAlertRule};
use sonde_server::alerts::notify::Notifier;
use sonde_server::alerts::{AlertSettings, RoundOutcome, round};
use sonde_server::digests::Postbox;
use sonde_server::mail::Mailer;
use sonde_server::reports::performance::{bin, bin_value};
use sonde_server::site::{Site, Sites};

use crate::support::history::History;
use crate::support::receivers::{MailServer, Receiver};
use crate::support::{TestApp, expect_error, now_ms};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

async fn create_rule(app: &TestApp, rule: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/sites/shop/alerts"))
        .header("x-csrf-token", &app.csrf)
        .json(&rule)
        .send()
        .await
        .unwrap()
}

async fn firings(app: &TestApp) -> Vec<AlertFiring> {
    let res = app
        .http
        .get(app.url("/api/sites/shop/alerts/firings"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn channels(receiver: &Receiver) -> Value {
    json!([
        {"type": "webhook", "url": receiver.url("/hook")},
        {"type": "slack", "url": receiver.url("/slack")},
        {"type": "email", "to": "support@shop.example"}
    ])
}

/// The signature header checked as a receiver would, with the rule's secret.
fn signed_by(secret: &str, header: &str, body: &[u8]) -> bool {
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex == v1
}

#[tokio::test]
async fn a_new_error_group_fires_once_to_every_channel() {
    let mail = MailServer::start();
    let receiver = Receiver::start().await;
    let smtp = mail.url();
    let app = TestApp::start_with(|c| {
        c.smtp_url = Some(smtp);
        c.alert_interval = 1;
        c.public_url = Some("https://sonde.shop.example".into());
    })
    .await;
    let res = create_rule(
        &app,
        json!({"name": "New errors", "condition": {"type": "new_error_group"}, "channels": channels(&receiver)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rule: SavedAlertRule = res.json().await.unwrap();
    let secret = rule.secret.clone().expect("the admin is shown the secret");

    let now = now_ms();
    let res = app
        .ingest(
            &json!({"site": "shop", "consent": {"usage": true, "errors": true},
            "events": [{"id": "e1", "ts": now, "session": "s1", "kind": "error", "url": "/cart",
                        "message": "Cannot read properties of undefined (reading 'total')"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let hooks = receiver.wait_for("/hook", 1).await;
    let body = hooks[0].json();
    assert_eq!(body["event"], "fired");
    assert_eq!(body["rule_name"], "New errors");
    assert_eq!(body["site"], "shop");
    assert!(
        body["evidence"]["summary"]
            .as_str()
            .unwrap()
            .contains("Cannot read properties of undefined"),
        "{body}"
    );
    assert_eq!(
        body["evidence"]["link"],
        "https://sonde.shop.example/errors?range=24h&site=shop"
    );
    let signature = hooks[0].header("sonde-signature").expect("signed");
    assert!(signed_by(&secret, signature, &hooks[0].body), "{signature}");
    assert!(!signed_by("another secret", signature, &hooks[0].body));

    let slack = receiver.wait_for("/slack", 1).await;
    let text = slack[0].json()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("*New errors* fired on shop"), "{text}");
    assert!(text.contains("<https://sonde.shop.example/errors?range=24h&site=shop|Open in Sonde>"));

    let messages = mail.wait_for(1).await;
    assert!(
        messages[0].contains("Subject: [Sonde] shop: New errors fired"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("To: support@shop.example"));
    assert!(messages[0].contains("Cannot read properties of undefined"));

    // Rounds go on every second: the group is still new and still firing,
    // and nobody hears of it again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.at("/hook").len(), 1);
    assert_eq!(receiver.at("/slack").len(), 1);
    assert_eq!(mail.messages().len(), 1);
    let history = firings(&app).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].rule, rule.id);
    assert_eq!(history[0].resolved_at, None);
    assert_eq!(history[0].deliveries.len(), 3);
    assert!(
        history[0]
            .deliveries
            .iter()
            .all(|d| d.delivered_at.is_some() && d.attempts == 1),
        "{:?}",
        history[0].deliveries
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_field_and_only_admins_make_them() {
    let app = TestApp::start().await;
    let res = create_rule(
        &app,
        json!({"name": "x", "condition": {"type": "traffic", "sensitivity": 0}, "channels": [{"type": "email", "to": "a@b.example"}]}),
    )
    .await;
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range").await;
    assert_eq!(error.field.as_deref(), Some("condition.sensitivity"));
    let res = create_rule(
        &app,
        json!({"name": "x", "condition": {"type": "traffic"}, "channels": [{"type": "email", "to": "nobody"}]}),
    )
    .await;
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email").await;
    assert_eq!(error.field.as_deref(), Some("channels[0].to"));
    let res = create_rule(
        &app,
        json!({"name": "x", "condition": {"type": "weather"}, "channels": []}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Without the CSRF token (as another site's page would post it): refused.
    let res = app
        .http
        .post(app.url("/api/sites/shop/alerts"))
        .json(&json!({"name": "x", "condition": {"type": "traffic"}, "channels": [{"type": "email", "to": "a@b.example"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Not signed in: no rules, no history.
    let anonymous = crate::support::client();
    let res = anonymous
        .get(app.url("/api/sites/shop/alerts"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.server.shutdown().await.unwrap();
}

struct Rounds {
    stores: sonde_server::store::Stores,
    sites: Arc<Sites>,
    notifier: Notifier,
    postbox: Postbox,
    settings: AlertSettings,
}

impl Rounds {
    fn new(app: &TestApp, mail: &MailServer) -> Rounds {
        let stores = app.server.stores().clone();
        let sites = Arc::new(Sites::new(
            stores
                .sites
                .sites()
                .unwrap()
                .into_iter()
                .map(|s| Site::new(s).unwrap()),
        ));
        let mailer = Mailer::new(&mail.url(), "Sonde <sonde@shop.example>").unwrap();
        Rounds {
            stores,
            sites,
            notifier: Notifier::new(Some(mailer.clone())),
            postbox: Postbox {
                mailer: Some(mailer),
                dashboard: "https://sonde.shop.example".into(),
                min_group_size: 5,
            },
            settings: AlertSettings {
                interval: Duration::from_secs(300),
                dashboard: "https://sonde.shop.example".into(),
                min_group_size: 5,
                process: "test".into(),
            },
        }
    }

    async fn at(&self, now: i64) -> RoundOutcome {
        round(
            &self.stores,
            &self.sites,
            (&self.notifier, &self.postbox),
            &self.settings,
            now,
        )
        .await
        .unwrap()
    }
}

/// A server whose own schedule stays out of the way (a round an hour).
async fn quiet_app() -> TestApp {
    TestApp::start_with(|c| c.alert_interval = 3600).await
}

#[tokio::test]
async fn traffic_far_above_the_same_hour_of_other_weeks_fires_then_resolves() {
    let mail = MailServer::start();
    let receiver = Receiver::start().await;
    let app = quiet_app().await;
    let res = create_rule(
        &app,
        json!({"name": "Traffic", "condition": {"type": "traffic"}, "channels": channels(&receiver)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // The hour judged ends on a full hour (the shop's calendar is UTC);
    // four weeks before it brought 20, 22, 18 and 21 visitors at that hour.
    let hour_end = (now_ms() / HOUR) * HOUR - HOUR;
    let hour = hour_end - HOUR;
    let mut history = History::new();
    for (week, visitors) in [(4, 20), (3, 22), (2, 18), (1, 21)] {
        history.views(week * 1000, visitors, hour - week * WEEK + 60_000, "/");
    }
    history.views(10_000, 20, hour + 60_000, "/");
    history.write(&app);
    let rounds = Rounds::new(&app, &mail);

    // 20 visitors, as usual: nothing.
    assert_eq!(
        rounds.at(hour_end + 5 * 60_000).await,
        RoundOutcome::default()
    );

    // The same hour with 200 visitors: fired, and told once.
    let mut spike = History::new();
    spike.views(20_000, 180, hour + 120_000, "/sale");
    spike.write(&app);
    let outcome = rounds.at(hour_end + 6 * 60_000).await;
    assert_eq!((outcome.fired, outcome.delivered), (1, 3), "{outcome:?}");
    assert_eq!(
        rounds.at(hour_end + 11 * 60_000).await,
        RoundOutcome::default()
    );
    let fired = receiver.at("/hook");
    assert_eq!(fired.len(), 1);
    let evidence = &fired[0].json()["evidence"];
    assert_eq!(evidence["figure"], 200.0);
    assert_eq!(evidence["expected"], 20.5);
    assert!(evidence["high"].as_f64().unwrap() < 40.0, "{evidence}");
    assert_eq!(
        (evidence["from"].as_i64(), evidence["to"].as_i64()),
        (Some(hour), Some(hour_end))
    );
    assert_eq!(
        evidence["link"],
        "https://sonde.shop.example/?range=24h&site=shop"
    );

    // The next hour is quiet, as that hour of other weeks was: resolved.
    let outcome = rounds.at(hour_end + HOUR + 60_000).await;
    assert_eq!((outcome.resolved, outcome.delivered), (1, 3), "{outcome:?}");
    let hooks = receiver.at("/hook");
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[1].json()["event"], "resolved");
    let messages = mail.wait_for(2).await;
    assert!(messages[0].contains("Subject: [Sonde] shop: Traffic fired"));
    assert!(messages[1].contains("Subject: [Sonde] shop: Traffic resolved"));
    assert!(
        messages[0].contains("200 visitors in the hour"),
        "{}",
        messages[0]
    );
    let history = firings(&app).await;
    assert_eq!(history.len(), 1);
    assert!(history[0].resolved_at.is_some());
    assert_eq!(history[0].deliveries.len(), 6);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_kept_with_its_error() {
    let mail = MailServer::start();
    let receiver = Receiver::start().await;
    let app = quiet_app().await;
    create_rule(
        &app,
        json!({"name": "Errors", "condition": {"type": "new_error_group"},
               "channels": [{"type": "webhook", "url": receiver.url("/hook")}]}),
    )
    .await;
    let now = now_ms();
    let mut history = History::new();
    history.add(
        1,
        now - 60_000,
        json!({"kind": "error", "url": "/", "message": "boom"}),
    );
    history.write(&app);
    let rounds = Rounds::new(&app, &mail);

    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    let outcome = rounds.at(now).await;
    assert_eq!(
        (outcome.fired, outcome.delivered, outcome.failed),
        (1, 0, 1)
    );
    let firing = &firings(&app).await[0];
    assert_eq!(firing.deliveries[0].attempts, 1);
    assert_eq!(
        firing.deliveries[0].error.as_deref(),
        Some("the receiver answered 503 Service Unavailable")
    );

    receiver.answer(StatusCode::OK);
    let outcome = rounds.at(now + 60_000).await;
    assert_eq!(
        (outcome.fired, outcome.delivered, outcome.failed),
        (0, 1, 0)
    );
    let firing = &firings(&app).await[0];
    assert_eq!(firing.deliveries[0].attempts, 2);
    assert!(firing.deliveries[0].delivered_at.is_some());
    assert_eq!(receiver.at("/hook").len(), 2, "one refused, one accepted");
    assert_eq!(rounds.at(now + 120_000).await, RoundOutcome::default());
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_goal_conversion_drop_a_consent_shift_and_a_slower_vital_fire() {
    let mail = MailServer::start();
    let app = quiet_app().await;
    let res = app
        .http
        .post(app.url("/api/sites/shop/goals"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "Purchase", "target": {"type": "page", "path": "/thanks"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let goal: Value = res.json().await.unwrap();
    let mail_only = json!([{"type": "email", "to": "growth@shop.example"}]);
    for rule in [
        json!({"name": "Purchases", "condition": {"type": "conversion_drop", "goal": goal["id"]}, "channels": mail_only}),
        json!({"name": "Opt-outs", "condition": {"type": "consent_share"}, "channels": mail_only}),
        json!({"name": "LCP", "condition": {"type": "vital_worse", "vital": "lcp", "margin": 0.2}, "channels": mail_only}),
    ] {
        assert_eq!(create_rule(&app, rule).await.status(), StatusCode::CREATED);
    }

    let now = now_ms();
    let mut history = History::new();
    // Four weeks before the last day: 30 % of visits buy, LCP 1 s.
    for day in 2..28 {
        let at = now - day * DAY;
        for v in 0..10 {
            let visitor = day * 100 + v;
            history.add(visitor, at + v, json!({"kind": "page_view", "url": "/"}));
            if v < 3 {
                history.add(
                    visitor,
                    at + v + 1000,
                    json!({"kind": "page_view", "url": "/thanks"}),
                );
            }
            history.add(
                visitor,
                at + v + 2000,
                json!({"kind": "vital", "url": "/", "metric": "lcp", "value": 1000.0}),
            );
        }
    }
    // The last day: 100 visits, 2 buy, LCP 3 s.
    for v in 0..100 {
        let visitor = 90_000 + v;
        let at = now - DAY / 2 + v * 1000;
        history.add(visitor, at, json!({"kind": "page_view", "url": "/"}));
        if v < 2 {
            history.add(
                visitor,
                at + 100,
                json!({"kind": "page_view", "url": "/thanks"}),
            );
        }
        history.add(
            visitor,
            at + 200,
            json!({"kind": "vital", "url": "/", "metric": "lcp", "value": 3000.0}),
        );
    }
    history.write(&app);
    // Consent: 80 % granted usage before, 20 % in the last day.
    let record = |i: i64, usage: bool, at: i64| ConsentRecord {
        site: "shop".into(),
        consent_id: format!("c{i}"),
        grants: sonde_protocol::Grants {
            usage,
            errors: false,
            performance: usage,
            marketing: false,
        },
        policy_version: 1,
        gpc: false,
        source: sonde_protocol::DecisionSource::Banner,
        decided_at: at,
    };
    let ingest = &app.server.stores().ingest;
    for i in 0..100 {
        ingest
            .record_consent(
                &record(i, i % 5 != 0, now - 3 * DAY - i * 60_000),
                "desktop",
            )
            .unwrap();
        ingest
            .record_consent(
                &record(1000 + i, i % 5 == 0, now - DAY / 2 + i * 60_000),
                "desktop",
            )
            .unwrap();
    }

    let rounds = Rounds::new(&app, &mail);
    let outcome = rounds.at(now).await;
    assert_eq!((outcome.fired, outcome.delivered), (3, 3), "{outcome:?}");
    let messages = mail.wait_for(3).await;
    let about = |subject: &str| {
        messages
            .iter()
            .find(|m| m.contains(&format!("Subject: [Sonde] shop: {subject} fired")))
            .unwrap_or_else(|| panic!("no e-mail about {subject}: {messages:?}"))
    };
    assert!(
        about("Purchases").contains("2.0 % of 100 visits converted"),
        "{}",
        about("Purchases")
    );
    assert!(
        about("Opt-outs").contains("20.0 % of 100 visitors granted usage"),
        "{}",
        about("Opt-outs")
    );
    // The p75 the performance report shows: its bin's value (1 % accuracy).
    let p75 = format!("LCP p75 was {:.0} ms", bin_value(bin(3000.0)));
    assert!(about("LCP").contains(&p75), "{}", about("LCP"));
    let history = firings(&app).await;
    let purchase = history.iter().find(|f| f.rule_name == "Purchases").unwrap();
    assert_eq!(purchase.subject, goal["id"].as_str().unwrap());
    assert!(
        (purchase.evidence.expected - 0.3).abs() < 1e-9,
        "{:?}",
        purchase.evidence
    );
    assert!(purchase.evidence.low > 0.02);
    assert!(
        purchase.evidence.link.ends_with(&format!(
            "/conversions?range=30d&site=shop&goal={}",
            goal["id"].as_str().unwrap()
        )),
        "{}",
        purchase.evidence.link
    );
    // Nothing changes in the next round: no second message.
    assert_eq!(rounds.at(now + 60_000).await, RoundOutcome::default());
    app.server.shutdown().await.unwrap();
}
