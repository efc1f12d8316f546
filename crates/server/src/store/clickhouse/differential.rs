//! The same events written through DuckDB and through the cluster, every
//! report's rows and tallies compared: what holds the ClickHouse store to
//! the reports' contract ([`crate::store::ReportStore`]), with DuckDB as
//! the reference.
//!
//! The events are generated from a fixed seed over eleven days that hold
//! the end of summer time in Europe (2026-10-25) and in North America
//! (2026-11-01): sessions that cross midnight, events of one millisecond,
//! referrers and campaigns on later page views than the first, errors and
//! web vitals, and retries of stored events regrouped into other batches.

use chrono_tz::Tz;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sonde_protocol::comparison::YEAR_BEFORE_MS;
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step};
use sonde_protocol::goal::Goal;
use sonde_protocol::overview::{Filters, OverviewQuery};
use sonde_protocol::usage::UsageQuery;
use sonde_protocol::{Campaign, ErrorReport, EventData, Granularity, Versus, Vital};

use super::ClickHouseStore;
use crate::reports::Scope;
use crate::reports::buckets::buckets;
use crate::store::{
    DuckDbStore, IngestStore, ReportStore, StoredEvent, WriteOutcome, reference_funnel,
    reference_funnel_breakdown, reference_funnel_visits,
};
use crate::user_agent::{Device, Software};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-10-22T00:00:00Z
const FIRST_DAY: i64 = 1_792_627_200_000;
const DAYS: i64 = 11;

const PATHS: [&str; 8] = [
    "/",
    "/pricing",
    "/cart",
    "/checkout",
    "/blog/a",
    "/blog/b",
    "/docs/x",
    "/it's",
];

/// Rows in an order of their own, for rows whose order the contract
/// leaves open.
fn sorted<T: std::fmt::Debug>(rows: Vec<T>) -> Vec<T> {
    let mut keyed: Vec<(String, T)> = rows.into_iter().map(|r| (format!("{r:?}"), r)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Events of `sessions` generated sessions, in the order a site would
/// send them.
pub(crate) fn generated(rng: &mut SmallRng, sessions: usize) -> Vec<StoredEvent> {
    let software = [
        ("Firefox", "Linux", Device::Desktop),
        ("Chrome", "Android", Device::Mobile),
        ("Safari", "iOS", Device::Tablet),
    ];
    let mut events = Vec::new();
    for s in 0..sessions {
        let (browser, os, device) = software[rng.random_range(0..software.len())];
        let visitor = rng.random_range(1..60);
        // A quarter of the sessions begin in the last hour of a UTC day,
        // and so cross a midnight of several calendars.
        let day = FIRST_DAY + rng.random_range(0..DAYS) * DAY;
        let mut ts = if rng.random_bool(0.25) {
            day + DAY - rng.random_range(0..HOUR)
        } else {
            day + rng.random_range(0..DAY)
        };
        let session = format!("s{s}");
        for n in 0..rng.random_range(1..9) {
            // One event in five in the same millisecond as the one before.
            if n > 0 && !rng.random_bool(0.2) {
                ts += rng.random_range(1..20 * 60_000);
            }
            let path = PATHS[rng.random_range(0..PATHS.len())];
            let data = match rng.random_range(0..10) {
                0..=4 => EventData::PageView {
                    // Later page views carry referrers too: only the
                    // first's counts, even when it has none.
                    referrer: rng
                        .random_bool(0.4)
                        .then(|| ["news.example", "mail.example"][rng.random_range(0..2)].into()),
                    title: None,
                    campaign: Campaign {
                        source: rng.random_bool(0.2).then(|| "newsletter".into()),
                        medium: rng.random_bool(0.3).then(|| "email".into()),
                        campaign: rng
                            .random_bool(0.3)
                            .then(|| ["autumn", "winter"][rng.random_range(0..2)].into()),
                        term: None,
                        content: None,
                    },
                },
                5 => EventData::Custom {
                    name: ["signup", "purchase"][rng.random_range(0..2)].into(),
                    props: [(
                        "plan".to_owned(),
                        sonde_protocol::PropValue::Text(
                            ["pro", "free"][rng.random_range(0..2)].into(),
                        ),
                    )]
                    .into_iter()
                    .collect(),
                    value: rng
                        .random_bool(0.5)
                        .then(|| rng.random_range(1..100) as f64),
                },
                6 => EventData::Click {
                    name: "signup".into(),
                },
                7 => EventData::Error(ErrorReport {
                    message: ["Total is NaN", "x is undefined"][rng.random_range(0..2)].into(),
                    source: rng.random_bool(0.5).then(|| "app.js".into()),
                    line: Some(rng.random_range(1..90)),
                    column: None,
                    stack: rng.random_bool(0.5).then(|| "at pay (app.js:3:1)".into()),
                    rejection: rng.random_bool(0.3),
                }),
                _ => EventData::Vital {
                    metric: Vital::ALL[rng.random_range(0..Vital::ALL.len())],
                    value: rng.random_range(0.0..6_000.0),
                },
            };
            events.push(StoredEvent {
                id: format!("{session}-{n}"),
                site: "shop".into(),
                ts,
                visitor_id: visitor,
                // Some events come without a session: each is its own.
                session_id: (!rng.random_bool(0.05)).then(|| session.clone()),
                path: path.into(),
                software: Software {
                    browser: browser.into(),
                    os: os.into(),
                    device,
                },
                data,
            });
        }
    }
    events
}

/// Writes `events` through both stores in the same random groups of
/// batches, with a retry of earlier events regrouped into later batches
/// now and then; both must say the same of every batch.
fn write_both(
    rng: &mut SmallRng,
    duck: &DuckDbStore,
    cluster: &ClickHouseStore,
    events: &[StoredEvent],
) {
    let mut sent = 0;
    while sent < events.len() {
        let mut group: Vec<Vec<StoredEvent>> = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            let n = rng.random_range(1..25).min(events.len() - sent);
            let mut batch = events[sent..sent + n].to_vec();
            sent += n;
            if sent > 40 && rng.random_bool(0.3) {
                // A browser's retry of events it sent before, regrouped.
                for _ in 0..rng.random_range(1..6) {
                    batch.push(events[rng.random_range(0..sent)].clone());
                }
            }
            group.push(batch);
            if sent == events.len() {
                break;
            }
        }
        let batches: Vec<&[StoredEvent]> = group.iter().map(Vec::as_slice).collect();
        let in_duck = duck.write_batches(&batches).unwrap();
        let in_cluster = cluster.write_batches(&batches).unwrap();
        assert_eq!(in_cluster, in_duck, "what each batch stored");
    }
}

#[test]
#[ignore = "needs the local cluster: `cargo xtask test` runs it"]
fn every_report_reads_the_same_from_the_cluster_as_from_duckdb() {
    let servers = super::tests::cluster();
    let scratch = super::tests::Scratch::new(&servers[0], "differential");
    let cluster =
        ClickHouseStore::on(scratch.topology(&servers), ClickHouseStore::WRITE_DEADLINE).unwrap();
    let duck = DuckDbStore::in_memory().unwrap();
    let mut rng = SmallRng::seed_from_u64(15);
    let events = generated(&mut rng, 400);
    write_both(&mut rng, &duck, &cluster, &events);
    // Every event stored once on both.
    let stored: Vec<WriteOutcome> = vec![
        duck.write(&events).unwrap(),
        cluster.write_batches(&[&events]).unwrap()[0],
    ];
    assert_eq!(
        stored,
        [WriteOutcome {
            inserted: 0,
            duplicates: events.len()
        }; 2]
    );

    let filters: Vec<Filters> = [
        None,
        Some(("source", "news.example")),
        Some(("source", "newsletter")),
        Some(("page", "/cart")),
        Some(("entry_page", "/")),
        Some(("browser", "Chrome")),
        Some(("medium", "email")),
        Some(("campaign", "autumn")),
        Some(("referrer", "direct")),
        Some(("page", "/it's")),
    ]
    .into_iter()
    .map(|filter| {
        let mut f = Filters::default();
        if let Some((key, value)) = filter {
            f.set(key, Some(value.into()));
        }
        f
    })
    .collect();
    let goals = [
        Goal {
            name: "checkout".into(),
            target: Step::Page {
                path: "/checkout".into(),
            },
            value: Some(10.0),
        },
        Goal {
            name: "blog".into(),
            target: Step::Page {
                path: "/blog/*".into(),
            },
            value: None,
        },
        Goal {
            name: "pro".into(),
            target: Step::Event {
                name: "purchase".into(),
                property: Some("plan".into()),
                value: Some("pro".into()),
            },
            value: None,
        },
    ];
    let funnels = [
        FunnelDefinition {
            name: "signup".into(),
            steps: vec![
                Step::Page { path: "/".into() },
                Step::Page {
                    path: "/pricing".into(),
                },
                Step::Event {
                    name: "signup".into(),
                    property: None,
                    value: None,
                },
            ],
            window_ms: 2 * HOUR,
            unit: FunnelUnit::Session,
        },
        FunnelDefinition {
            name: "pro purchase".into(),
            steps: vec![
                Step::Page {
                    path: "/blog/*".into(),
                },
                Step::Page {
                    path: "/cart".into(),
                },
                Step::Event {
                    name: "purchase".into(),
                    property: Some("plan".into()),
                    value: Some("pro".into()),
                },
            ],
            window_ms: DAY,
            unit: FunnelUnit::Visitor,
        },
    ];
    let timezones: [Tz; 4] = [
        chrono_tz::UTC,
        chrono_tz::Europe::Paris,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kathmandu,
    ];
    let periods = [
        (FIRST_DAY, FIRST_DAY + DAYS * DAY),
        // The day Paris's clocks went back, and a period that cuts days.
        (FIRST_DAY + 3 * DAY - 2 * HOUR, FIRST_DAY + 4 * DAY - HOUR),
        (
            FIRST_DAY + 9 * DAY + 5 * HOUR,
            FIRST_DAY + 10 * DAY + 17 * HOUR,
        ),
    ];
    let mut compared = 0;
    for (from, to) in periods {
        for (i, f) in filters.iter().enumerate() {
            for timezone in timezones {
                for granularity in [Granularity::Hour, Granularity::Day, Granularity::Week] {
                    let q = UsageQuery {
                        site: "shop".into(),
                        from,
                        to,
                        granularity,
                        filters: f.clone(),
                        compare: true,
                        versus: Versus::Previous,
                    };
                    assert_eq!(
                        cluster.usage(&q, timezone, 2).unwrap(),
                        duck.usage(&q, timezone, 2).unwrap(),
                        "usage {from}..{to} {f:?} {timezone} {granularity:?}"
                    );
                }
                let q = OverviewQuery {
                    site: "shop".into(),
                    from,
                    to,
                    filters: f.clone(),
                    versus: Versus::Previous,
                };
                let expected = duck.overview(&q, timezone, 2).unwrap();
                assert_eq!(
                    cluster
                        .overview(&q, timezone, 2, expected.bots.clone())
                        .unwrap(),
                    expected,
                    "overview {from}..{to} {f:?} {timezone}"
                );
            }
            // Only the sessions with errors changes the scope alone: with
            // and without filters is enough.
            for with_errors in [false, true].into_iter().take(if i < 2 { 2 } else { 1 }) {
                let mut scope = Scope::new("shop", from, to, f);
                if with_errors {
                    scope = scope.with_errors();
                }
                let why = format!("{from}..{to} {f:?} with errors: {with_errors}");
                assert_eq!(
                    cluster.errors(&scope).unwrap(),
                    duck.errors(&scope).unwrap(),
                    "{why}"
                );
                // Interactions come in any order.
                let in_order = |mut rows: Vec<crate::reports::events::InteractionRow>| {
                    rows.sort_by(|a, b| {
                        (a.ts, a.kind, &a.name, a.visitor).cmp(&(b.ts, b.kind, &b.name, b.visitor))
                    });
                    rows
                };
                let interactions = in_order(duck.interactions(&scope).unwrap());
                assert_eq!(
                    in_order(cluster.interactions(&scope).unwrap()),
                    interactions,
                    "interactions {why}"
                );
                for funnel in &funnels {
                    assert_eq!(
                        reference_funnel(&cluster, &scope, funnel).unwrap(),
                        duck.funnel(&scope, funnel).unwrap(),
                        "{why} {}",
                        funnel.name
                    );
                    for dimension in [
                        FunnelDimension::Source,
                        FunnelDimension::Campaign,
                        FunnelDimension::Browser,
                    ] {
                        assert_eq!(
                            reference_funnel_breakdown(&cluster, &scope, funnel, dimension)
                                .unwrap(),
                            duck.funnel_breakdown(&scope, chrono_tz::UTC, funnel, dimension)
                                .unwrap(),
                            "{why} {} {dimension:?}",
                            funnel.name
                        );
                    }
                    if funnel.unit == FunnelUnit::Session {
                        assert_eq!(
                            reference_funnel_visits(&cluster, &scope, funnel).unwrap(),
                            duck.funnel_visits(&scope, funnel).unwrap(),
                            "{why} {}",
                            funnel.name
                        );
                    }
                }
                for timezone in timezones {
                    let why = format!("{why} {timezone}");
                    let visits = duck.visits(&scope, timezone).unwrap();
                    assert_eq!(
                        sorted(cluster.visits(&scope, timezone).unwrap()),
                        sorted(visits.clone()),
                        "{why}"
                    );
                    assert_eq!(
                        cluster.visit_count(&scope, timezone).unwrap(),
                        duck.visit_count(&scope, timezone).unwrap(),
                        "{why}"
                    );
                    assert_eq!(
                        cluster.vitals(&scope, timezone).unwrap(),
                        duck.vitals(&scope, timezone).unwrap(),
                        "{why}"
                    );
                    for granularity in [Granularity::Hour, Granularity::Week] {
                        let buckets = buckets(from, to, granularity, timezone);
                        assert_eq!(
                            cluster.vital_tallies(&scope, timezone, &buckets).unwrap(),
                            duck.vital_tallies(&scope, timezone, &buckets).unwrap(),
                            "{why} {granularity:?}"
                        );
                        for goal in &goals {
                            assert_eq!(
                                cluster
                                    .conversion_tallies(&scope, timezone, goal, &buckets)
                                    .unwrap(),
                                duck.conversion_tallies(&scope, timezone, goal, &buckets)
                                    .unwrap(),
                                "{why} {granularity:?} {}",
                                goal.name
                            );
                        }
                    }
                    for goal in &goals {
                        assert_eq!(
                            sorted(cluster.goal_hits(&scope, timezone, &goal.target).unwrap()),
                            sorted(duck.goal_hits(&scope, timezone, &goal.target).unwrap()),
                            "{why} {}",
                            goal.name
                        );
                        assert_eq!(
                            cluster.landing_tallies(&scope, timezone, goal).unwrap(),
                            duck.landing_tallies(&scope, timezone, goal).unwrap(),
                            "{why} {}",
                            goal.name
                        );
                    }
                    compared += !visits.is_empty() as usize;
                }
            }
        }
    }
    // Not a comparison of empty reports.
    assert!(compared > 100, "{compared} scopes with visits");

    // The same days a year on, compared with the year before: the events'
    // days are the compared period.
    let (from, to) = (
        FIRST_DAY + YEAR_BEFORE_MS,
        FIRST_DAY + DAYS * DAY + YEAR_BEFORE_MS,
    );
    for f in &filters[..2] {
        for timezone in timezones {
            let q = UsageQuery {
                site: "shop".into(),
                from,
                to,
                granularity: Granularity::Day,
                filters: f.clone(),
                compare: true,
                versus: Versus::YearBefore,
            };
            let expected = duck.usage(&q, timezone, 2).unwrap();
            assert!(expected.previous.is_some_and(|p| p.pageviews > 0));
            assert_eq!(cluster.usage(&q, timezone, 2).unwrap(), expected);
            let q = OverviewQuery {
                site: "shop".into(),
                from,
                to,
                filters: f.clone(),
                versus: Versus::YearBefore,
            };
            let expected = duck.overview(&q, timezone, 2).unwrap();
            assert!(expected.previous.pageviews > 0);
            assert_eq!(
                cluster
                    .overview(&q, timezone, 2, expected.bots.clone())
                    .unwrap(),
                expected,
                "overview a year on {f:?} {timezone}"
            );
        }
    }
}
