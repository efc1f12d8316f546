//! Plausible CE's export imported into a site: its days join the totals
//! and the series by the day, week or month, and the overview's key
//! figures, labelled, apart from what Sonde counted; hourly series and
//! filtered views stay Sonde's own.

use std::path::PathBuf;

use chrono_tz::Tz;
use indicatif::ProgressBar;
use reqwest::StatusCode;
use serde_json::Value;
use sonde_server::imported::{self, plausible};

use crate::support::history::History;
use crate::support::*;

const DAY: i64 = 86_400_000;
/// Monday 3 November 2025, 00:00 UTC: the export's first day.
const MONDAY: i64 = 1_762_128_000_000;

pub fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plausible")
}

async fn get(app: &TestApp, path: &str, query: &[(&str, String)]) -> Value {
    let res = app
        .http
        .get(app.url(path))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path} {query:?}");
    res.json().await.unwrap()
}

/// The week from `from`, with more parameters.
fn week(from: i64, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("site", "shop".to_owned()),
        ("from", from.to_string()),
        ("to", (from + 7 * DAY).to_string()),
    ];
    query.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    query
}

#[tokio::test]
async fn a_plausible_export_adds_its_days_to_the_daily_figures_and_is_labelled() {
    let app = TestApp::start().await;
    let export = plausible::read(&[fixture()], &ProgressBar::hidden()).unwrap();
    assert_eq!(export.left_out, ["imported_browsers_20251103_20251109.csv"]);
    let receipt = imported::keep(app.server.stores(), "shop", Tz::UTC, export).unwrap();
    assert_eq!(
        (receipt.days, receipt.visitors, receipt.pageviews),
        (7, 797, 2440)
    );

    let usage = get(&app, "/api/usage", &week(MONDAY, &[("granularity", "day")])).await;
    assert_eq!(
        (
            usage["total_visitors"].as_u64(),
            usage["total_pageviews"].as_u64()
        ),
        (Some(797), Some(2440))
    );
    assert_eq!(usage["series"][0]["visitors"], 120, "the first day's own");
    assert_eq!(usage["imported"]["source"], "Plausible CE");
    assert_eq!(
        (
            usage["imported"]["first_day"].as_str(),
            usage["imported"]["days"].as_u64()
        ),
        (Some("2025-11-03"), Some(7))
    );
    let weekly = get(
        &app,
        "/api/usage",
        &week(MONDAY, &[("granularity", "week")]),
    )
    .await;
    assert_eq!(
        weekly["series"][0]["visitors"], 797,
        "a week of imported days"
    );

    // No hours in an import, and no visits to filter.
    let hourly = get(
        &app,
        "/api/usage",
        &week(MONDAY, &[("granularity", "hour")]),
    )
    .await;
    assert_eq!(hourly["total_visitors"], 0);
    assert!(hourly.get("imported").is_none());
    let filtered = get(&app, "/api/usage", &week(MONDAY, &[("source", "Google")])).await;
    assert_eq!(filtered["total_visitors"], 0);
    assert!(filtered.get("imported").is_none());

    let overview = get(&app, "/api/overview", &week(MONDAY, &[])).await;
    assert_eq!(overview["current"]["visitors"], 797);
    assert_eq!(overview["current"]["sessions"], 874);
    assert_eq!(overview["current"]["pageviews"], 2440);
    let rows: Vec<(String, String, u64)> = overview["imported"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dimension"].as_str().unwrap().to_owned(),
                r["label"].as_str().unwrap().to_owned(),
                r["visitors"].as_u64().unwrap(),
            )
        })
        .collect();
    let named: Vec<(&str, &str)> = rows
        .iter()
        .map(|(d, l, _)| (d.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("page", "/"),
            ("page", "/pricing"),
            ("source", "direct"),
            ("source", "Google"),
            ("source", "Newsletter"),
            ("device", "desktop"),
            ("device", "mobile"),
            ("device", "tablet"),
        ],
        "most visitors first; /jobs/apply had 2 visitors, fewer than k"
    );
    assert_eq!(rows[0].2, 727);

    // The same days a year on are compared with the import.
    let year_on = MONDAY + 364 * DAY;
    let later = get(
        &app,
        "/api/overview",
        &week(year_on, &[("versus", "year_before")]),
    )
    .await;
    assert_eq!(later["previous"]["visitors"], 797);
    assert!(
        later.get("imported").is_none(),
        "nothing imported in the year on"
    );

    // Importing again replaces the days; it adds nothing.
    let again = plausible::read(&[fixture()], &ProgressBar::hidden()).unwrap();
    imported::keep(app.server.stores(), "shop", Tz::UTC, again).unwrap();
    let usage = get(&app, "/api/usage", &week(MONDAY, &[("granularity", "day")])).await;
    assert_eq!(usage["total_visitors"], 797);
}

#[tokio::test]
async fn days_sonde_counted_itself_are_not_imported() {
    let app = TestApp::start().await;
    let mut history = History::new();
    // Sonde counted 4 visitors on Wednesday 5 November.
    history.views(1, 4, MONDAY + 2 * DAY + 10 * 3_600_000, "/");
    history.write(&app);
    let export = plausible::read(&[fixture()], &ProgressBar::hidden()).unwrap();
    let receipt = imported::keep(app.server.stores(), "shop", Tz::UTC, export).unwrap();
    assert_eq!((receipt.days, receipt.days_sonde_counted), (6, 1));
    let usage = get(&app, "/api/usage", &week(MONDAY, &[("granularity", "day")])).await;
    assert_eq!(
        usage["series"][2]["visitors"], 4,
        "Sonde's own, not Plausible's 128"
    );
    assert_eq!(usage["total_visitors"], 797 - 128 + 4);

    // An export without its visitors file says what it needs.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture().join("imported_pages_20251103_20251109.csv"),
        tmp.path().join("imported_pages_20251103_20251109.csv"),
    )
    .unwrap();
    let refused = plausible::read(&[tmp.path().to_owned()], &ProgressBar::hidden()).unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("no imported_visitors_*.csv among"),
        "{refused}"
    );
}
