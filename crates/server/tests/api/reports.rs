//! What every report shares: filters and the period before, across usage,
//! errors, performance, conversions (with a goal), funnels and consent.

use crate::support::history::History;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every report takes the same filters and the period before, as query
/// parameters over HTTP (the funnel in its JSON body).
#[tokio::test]
async fn every_report_takes_filters_and_the_period_before() {
    let app = TestApp::start().await;
    let now = now_ms();
    // Two visits: one from a newsletter on a phone, one direct; each hits
    // an error and reports its LCP.
    let visit = |session: &str, url: &str, referrer: Option<&str>, campaign: Value| {
        let mut view = json!({"id": format!("{session}-view"), "ts": now, "session": session,
                              "kind": "page_view", "url": url, "campaign": campaign});
        if let Some(r) = referrer {
            view["referrer"] = json!(r);
        }
        vec![
            view,
            json!({"id": format!("{session}-error"), "ts": now + 1, "session": session, "kind": "error",
                   "url": url, "message": format!("Total {session} is NaN")}),
            json!({"id": format!("{session}-lcp"), "ts": now + 2, "session": session, "kind": "vital",
                   "url": url, "metric": "lcp", "value": 1200.0}),
            json!({"id": format!("{session}-buy"), "ts": now + 3, "session": session, "kind": "custom",
                   "url": url, "name": "purchase", "value": 10.0}),
        ]
    };
    let mut events = visit(
        "mail",
        "/",
        Some("https://mail.example/inbox"),
        json!({"source": "newsletter", "medium": "email"}),
    );
    events.extend(visit("typed", "/cart", None, json!({})));
    let body = json!({"site": "shop", "consent": {"usage": true, "errors": true, "performance": true, "marketing": true},
                      "events": events});
    let res = app.ingest(&body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let goal: Value = app
        .http
        .post(app.url("/api/sites/shop/goals"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"name": "Purchase", "target": {"type": "event", "name": "purchase"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let goal = goal["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{goal}"))
        .to_owned();

    let get = |path: &'static str, extra: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut params: Vec<(&str, String)> = vec![("compare", "true".into())];
            params.extend(extra);
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.query_around(path, now, &params).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            res.json::<Value>().await.unwrap()
        }
    };
    let newsletter = || vec![("source", "newsletter".to_owned())];
    // Each of these filters narrows usage to one visitor, under k: the
    // figures are withheld (a_filter_narrowed_to_fewer_than_k_visitors_…
    // holds a filter of k visitors to its count). The period before had
    // none, which is no one to point at.
    for filter in [
        newsletter(),
        vec![("medium", "email".into())],
        vec![("referrer", "direct".into())],
    ] {
        let usage = get("/api/usage", filter).await;
        assert_eq!(
            (
                usage["fewer_than_k"].as_bool(),
                usage["total_pageviews"].as_u64()
            ),
            (Some(true), Some(0)),
            "{usage}"
        );
        assert_eq!(usage["previous"], json!({"pageviews": 0, "visitors": 0}));
    }

    let errors = get("/api/errors", newsletter()).await;
    assert_eq!(errors["groups"].as_array().unwrap().len(), 1);
    assert_eq!(errors["totals"]["errors"], 1);
    assert_eq!(errors["previous"]["errors"], 0);
    assert_eq!(
        errors["groups"][0]["previous_count"], 0,
        "new in this period"
    );
    assert_eq!(get("/api/errors", vec![]).await["totals"]["errors"], 2);

    let performance = get("/api/performance", newsletter()).await;
    assert_eq!(performance["site"][0]["samples"], 1);
    assert_eq!(performance["previous"], json!([]));

    let conversions = get(
        "/api/conversions",
        vec![("goal", goal.clone()), ("entry_page", "/cart".into())],
    )
    .await;
    assert_eq!(
        (
            conversions["visits"].as_u64(),
            conversions["conversions"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(conversions["previous"]["visits"], 0);
    assert_eq!(
        conversions["sources"]["rows"],
        json!([]),
        "one visitor is under k"
    );

    let funnel = app
        .http
        .post(app.url("/api/funnel"))
        .json(&json!({"site": "shop", "from": now - 3_600_000, "to": now + 3_600_000, "compare": true,
                      "filters": {"source": "newsletter"},
                      "funnel": {"name": "Buy", "window_ms": 3_600_000, "unit": "session",
                                 "steps": [{"type": "page", "path": "/*"}, {"type": "event", "name": "purchase"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(funnel.status(), StatusCode::OK);
    let funnel: Value = funnel.json().await.unwrap();
    assert_eq!(funnel["steps"][1]["entrants"], 1);
    assert_eq!(funnel["previous"][0]["entrants"], 0);

    let consent = get("/api/consent-report", vec![]).await;
    assert_eq!(consent["previous"]["decisions"], 0);

    // A filter's value is compared as given: an unknown source selects nothing.
    let nothing = get("/api/usage", vec![("source", "nowhere.example".into())]).await;
    assert_eq!(nothing["total_pageviews"], 0);
    // `compare` must be a boolean.
    let res = app
        .query_around("/api/usage", now, &[("compare", "sometimes")])
        .await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}

#[tokio::test]
async fn a_filter_narrowed_to_fewer_than_k_visitors_shows_no_figures() {
    // k = 5 (the default). Five visitors (five browsers) see the home
    // page; one of them also a page nobody else saw.
    let app = TestApp::start().await;
    let ts = now_ms();
    for version in 130..135 {
        let browser = reqwest::Client::builder()
            .user_agent(format!(
                "Mozilla/5.0 (X11; Linux x86_64; rv:{version}.0) Gecko/20100101 Firefox/{version}.0"
            ))
            .build()
            .unwrap();
        let mut events = vec![
            json!({"id": format!("h{version}"), "ts": ts, "url": "/", "kind": "page_view",
                                     "session": format!("s{version}")}),
        ];
        if version == 130 {
            events.push(
                json!({"id": "rare", "ts": ts + 1, "url": "/account/export", "kind": "page_view",
                               "session": "s130"}),
            );
        }
        let res = browser
            .post(app.url("/api/ingest"))
            .header("content-type", "application/json")
            .header("origin", ORIGIN)
            .body(batch(events).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let overview = |filter: &'static str| {
        let app = &app;
        async move {
            let extra: Vec<(&str, &str)> = if filter.is_empty() {
                vec![]
            } else {
                vec![("page", filter)]
            };
            let res = app.query_around("/api/overview", ts, &extra).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let everyone = overview("/").await;
    assert_eq!(everyone["current"]["visitors"], 5);
    let home = app
        .query_around("/api/usage", ts, &[("granularity", "hour"), ("page", "/")])
        .await;
    let home: Value = home.json().await.unwrap();
    assert_eq!(
        (
            home["total_visitors"].as_u64(),
            home["total_pageviews"].as_u64()
        ),
        (Some(5), Some(6)),
        "the sessions that saw the home page, with all their page views"
    );
    assert!(
        everyone["current"].get("fewer_than_k").is_none(),
        "{everyone}"
    );

    let one = overview("/account/export").await;
    assert_eq!(one["current"]["fewer_than_k"], true, "{one}");
    assert_eq!(one["current"]["visitors"], 0);
    assert_eq!(one["current"]["pageviews"], 0);

    let usage = app
        .query_around(
            "/api/usage",
            ts,
            &[("granularity", "hour"), ("page", "/account/export")],
        )
        .await;
    let usage: Value = usage.json().await.unwrap();
    assert_eq!(usage["fewer_than_k"], true, "{usage}");
    assert_eq!(usage["total_visitors"], 0);
    assert!(
        usage["series"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["pageviews"] == 0)
    );

    // Unfiltered, the whole site is no narrowing, however small.
    let site = app
        .query_around("/api/usage", ts, &[("granularity", "hour")])
        .await;
    let site: Value = site.json().await.unwrap();
    assert_eq!(site["total_visitors"], 5);
}

/// `versus=year_before` compares with the same weekdays 52 weeks back, in
/// every compared report; without it, the period just before.
#[tokio::test]
async fn reports_compare_with_the_same_weekdays_a_year_before() {
    const DAY: i64 = 86_400_000;
    let app = TestApp::start().await;
    let now = now_ms();
    let (from, to) = (now - 7 * DAY, now);
    let mut history = History::new();
    // Seven visitors a year before, three the week before, five this week.
    history.views(100, 7, from - 364 * DAY + 2 * DAY, "/pricing");
    history.views(200, 3, from - 3 * DAY, "/pricing");
    history.views(300, 5, to - DAY, "/pricing");
    history.write(&app);

    let get = |path: &'static str, versus: Option<&'static str>| {
        let app = &app;
        async move {
            let (from, to) = (from.to_string(), to.to_string());
            let mut params = vec![
                ("site", "shop"),
                ("from", from.as_str()),
                ("to", to.as_str()),
                ("compare", "true"),
            ];
            params.extend(versus.map(|v| ("versus", v)));
            let res = app
                .http
                .get(app.url(path))
                .query(&params)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path} {versus:?}");
            res.json::<Value>().await.unwrap()
        }
    };
    let overview = get("/api/overview", Some("year_before")).await;
    assert_eq!(overview["current"]["visitors"], 5);
    assert_eq!(
        overview["previous"]["visitors"], 7,
        "{}",
        overview["previous"]
    );
    let overview = get("/api/overview", None).await;
    assert_eq!(overview["previous"]["visitors"], 3, "the week before");
    assert_eq!(
        get("/api/overview", Some("previous")).await["previous"]["visitors"],
        3
    );
    let usage = get("/api/usage", Some("year_before")).await;
    assert_eq!(usage["previous"], json!({"pageviews": 7, "visitors": 7}));

    let funnel: Value = app
        .http
        .post(app.url("/api/funnel"))
        .json(&json!({"site": "shop", "from": from, "to": to, "compare": true, "versus": "year_before",
                      "funnel": {"name": "Pricing", "window_ms": 3_600_000, "unit": "session",
                                 "steps": [{"type": "page", "path": "/pricing"}, {"type": "page", "path": "/*"}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(funnel["steps"][0]["entrants"], 5);
    assert_eq!(funnel["previous"][0]["entrants"], 7, "{funnel}");

    // A comparison Sonde does not know is refused, naming the ones it does.
    let res = app
        .query_around("/api/overview", now, &[("versus", "decade")])
        .await;
    let error = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert!(error.message.contains("year_before"), "{}", error.message);
}
