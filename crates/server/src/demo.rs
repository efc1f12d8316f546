//! Demo traffic: weeks of a small shop's visitors, delivered through the
//! ingest path the collector's batches take ([`crate::ingest::store`]: bot
//! detection, the visitor hash, consent filtering, scrubbing, the writer's
//! group commit), so what the dashboard shows went through the same rules as
//! real traffic.
//!
//! Two things differ from the HTTP endpoint, because the traffic is of past
//! days: each batch is checked against the time it was "sent", not against
//! now (the endpoint refuses events older than 7 days), and the visitor
//! hash uses salts of the generator's own (the server's are today's only;
//! the past days' were never kept). Rate limits are not applied.
//!
//! The shop: landing pages, a kettle product page, cart, checkout and a
//! thank-you page; campaigns (a newsletter, search ads, a social campaign),
//! referrers and direct visits; a consent mix with rejections and Global
//! Privacy Control; a checkout error on Safari that makes those visitors
//! give up more often; web vitals, slower on phones, and slow pages that
//! convert worse; and a few bots.

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sonde_protocol::{
    Batch, Campaign, ConsentRecord, DecisionSource, ErrorReport, Event, EventData, Grants,
    PropValue, Vital,
};

use crate::error::AppError;
use crate::ingest::{self, Delivery};
use crate::state::{AppState, DEMO_SITE};
use crate::visitor::DailySalt;

/// How much traffic to make.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub days: u32,
    /// Visitors on an average weekday at the start; weekends are quieter and
    /// the shop grows over the period.
    pub visitors_per_day: u32,
    /// The same seed and `now` make the same traffic.
    pub seed: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            days: 28,
            visitors_per_day: 140,
            seed: 0x5017de,
        }
    }
}

/// What a generation delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub visitors: u64,
    pub batches: u64,
    pub events_stored: u64,
    pub consent_records: u64,
    pub bot_requests: u64,
}

/// Why demo traffic could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo site is not served (start with --demo)")]
    NoDemoSite,
    #[error("cannot keep the demo's salts: {0}")]
    Salt(std::io::Error),
    #[error("a demo batch was refused: {0}")]
    Refused(#[from] AppError),
}

/// Delivers a [`Plan`]'s traffic to the demo site, as of `now`. `progress`
/// is told each visitor delivered, out of how many.
pub async fn generate(
    app: &AppState,
    plan: Plan,
    now: DateTime<Utc>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, DemoError> {
    let site = app.sites().get(DEMO_SITE).ok_or(DemoError::NoDemoSite)?;
    let salt_dir = tempfile_dir().map_err(DemoError::Salt)?;
    let salts = DailySalt::open(salt_dir.join("salt")).map_err(DemoError::Salt)?;
    let mut rng = SmallRng::seed_from_u64(plan.seed);
    let days: Vec<Vec<Visitor>> = (0..plan.days)
        .rev()
        .map(|back| {
            let day = now - Duration::days(i64::from(back));
            visitors_of_day(&mut rng, plan, back, day, now)
        })
        .collect();
    let total = days.iter().map(|d| d.len() as u64).sum();
    let mut summary = Summary::default();
    let mut done = 0;
    // Day by day, so the salts rotate once a day as they would; within a day
    // visitors arrive concurrently, so the writer commits them in groups.
    for visitors in days {
        let mut deliveries = futures_util::stream::iter(visitors)
            .map(|visitor| deliver(app, &site, visitor, &salts))
            .buffer_unordered(64);
        while let Some(delivered) = deliveries.next().await {
            let delivered = delivered?;
            summary.visitors += 1;
            summary.batches += delivered.batches;
            summary.events_stored += delivered.events_stored;
            summary.consent_records += delivered.consent_records;
            summary.bot_requests += delivered.bot_requests;
            done += 1;
            progress(done, total);
        }
    }
    let _ = std::fs::remove_dir_all(&salt_dir);
    save_definitions(app, now.timestamp_millis()).await?;
    Ok(summary)
}

/// The shop's checkout funnel and purchase goal, as its team would save them.
async fn save_definitions(app: &AppState, now: i64) -> Result<(), DemoError> {
    use sonde_protocol::funnel::{FunnelDefinition, FunnelUnit, SavedFunnel, Step};
    use sonde_protocol::goal::{Goal, SavedGoal};
    let page = |path: &str| Step::Page { path: path.into() };
    let checkout = SavedFunnel {
        id: "demo-checkout".into(),
        site: DEMO_SITE.into(),
        funnel: FunnelDefinition {
            name: "Checkout".into(),
            steps: vec![
                page("/demo/products/*"),
                page("/demo/cart.html"),
                page("/demo/checkout.html"),
                page("/demo/thanks.html"),
            ],
            window_ms: 3_600_000,
            unit: FunnelUnit::Session,
        },
        updated_at: now,
    };
    let purchase = SavedGoal {
        id: "demo-purchase".into(),
        site: DEMO_SITE.into(),
        goal: Goal {
            name: "Purchase".into(),
            target: Step::Event {
                name: "purchase".into(),
                property: None,
                value: None,
            },
            value: None,
        },
        updated_at: now,
    };
    let saved = app.stores().saved.clone();
    tokio::task::spawn_blocking(move || {
        saved.put_funnel(&checkout)?;
        saved.put_goal(&purchase)
    })
    .await
    .map_err(AppError::from)?
    .map_err(AppError::from)?;
    Ok(())
}

/// Generates the demo traffic unless the demo site has events, with a
/// progress bar on stderr when it is a terminal. Returns what was delivered.
pub async fn seed_if_empty(app: &AppState, plan: Plan) -> Result<Option<Summary>, DemoError> {
    let store = app.stores().inspection.clone();
    let count = tokio::task::spawn_blocking(move || store.event_count(DEMO_SITE))
        .await
        .map_err(AppError::from)?
        .map_err(AppError::from)?;
    if count > 0 {
        return Ok(None);
    }
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "demo traffic {bar:30} {pos}/{len} visitors ({eta} left)",
        )
        .expect("a valid template"),
    );
    let summary = generate(app, plan, Utc::now(), &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    Ok(Some(summary))
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let mut name = [0u8; 8];
    getrandom::fill(&mut name).map_err(std::io::Error::other)?;
    let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("sonde-demo-{hex}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Real browsers' user agents, about as common as on a small shop, and a
/// crawler.
const AGENTS: [(&str, u32); 7] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        30,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        22,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        17,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        12,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        9,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        7,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        3,
    ),
];

/// How visitors arrive: a referrer, campaign parameters on the landing URL,
/// the landing page, and how much likelier than average they buy.
struct Channel {
    referrer: Option<&'static str>,
    utm: Option<(&'static str, &'static str, &'static str)>,
    landing: &'static str,
    intent: f64,
    weight: u32,
}

const CHANNELS: [Channel; 7] = [
    Channel {
        referrer: None,
        utm: None,
        landing: "/demo/",
        intent: 1.0,
        weight: 24,
    },
    Channel {
        referrer: Some("https://www.google.com/"),
        utm: None,
        landing: "/demo/",
        intent: 1.0,
        weight: 28,
    },
    Channel {
        referrer: Some("https://news.ycombinator.com/item?id=1"),
        utm: None,
        landing: "/demo/",
        intent: 0.4,
        weight: 6,
    },
    Channel {
        referrer: Some("https://duckduckgo.com/"),
        utm: None,
        landing: "/demo/products.html",
        intent: 1.1,
        weight: 5,
    },
    Channel {
        referrer: None,
        utm: Some(("newsletter", "email", "winter_sale")),
        landing: "/demo/products/kettle.html",
        intent: 1.6,
        weight: 12,
    },
    Channel {
        referrer: Some("https://www.google.com/"),
        utm: Some(("google", "cpc", "kettle_launch")),
        landing: "/demo/products/kettle.html",
        intent: 1.2,
        weight: 14,
    },
    Channel {
        referrer: Some("https://l.facebook.com/"),
        utm: Some(("facebook", "social", "winter_sale")),
        landing: "/demo/",
        intent: 0.7,
        weight: 11,
    },
];

/// One visitor's visit, decided up front.
struct Visitor {
    agent: &'static str,
    ip: std::net::IpAddr,
    channel: &'static Channel,
    gpc: bool,
    grants: Grants,
    /// The banner's decision, when the visitor answered it.
    decision: Option<ConsentRecord>,
    pages: Vec<Page>,
}

/// A page of the visit, delivered as one batch when the visitor leaves it.
struct Page {
    path: &'static str,
    at: i64,
    leave: i64,
    custom: Vec<(&'static str, Option<f64>)>,
    error: Option<ErrorReport>,
    vitals: Vec<(Vital, f64)>,
}

/// What one visitor's delivery did.
#[derive(Default)]
struct Delivered {
    batches: u64,
    events_stored: u64,
    consent_records: u64,
    bot_requests: u64,
}

const FUNNEL: [&str; 6] = [
    "/demo/",
    "/demo/products.html",
    "/demo/products/kettle.html",
    "/demo/cart.html",
    "/demo/checkout.html",
    "/demo/thanks.html",
];
const KETTLE_PRICE: f64 = 49.0;

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut ticket = rng.random_range(0..total);
    for item in items {
        let w = weight(item);
        if ticket < w {
            return item;
        }
        ticket -= w;
    }
    items.last().expect("a non-empty list")
}

/// A log-normal draw around `median` (a spread of `sigma`), as page timings are.
fn around(rng: &mut SmallRng, median: f64, sigma: f64) -> f64 {
    // Box-Muller, from two uniform draws.
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * normal).exp()
}

fn visitors_of_day(
    rng: &mut SmallRng,
    plan: Plan,
    back: u32,
    day: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Visitor> {
    let day_start = day.timestamp_millis() - day.timestamp_millis().rem_euclid(86_400_000);
    let weekday = (day_start / 86_400_000 + 4).rem_euclid(7); // 0 = Sunday
    let weekend = weekday == 0 || weekday == 6;
    let growth = 1.0 + 0.5 * f64::from(plan.days - back) / f64::from(plan.days.max(1));
    let base = f64::from(plan.visitors_per_day) * if weekend { 0.6 } else { 1.0 } * growth;
    let count = (base * (0.85 + 0.3 * rng.random::<f64>())) as usize;
    (0..count)
        .filter_map(|_| {
            // Visits cluster in the daytime, European hours.
            let at = day_start
                + ((7.0 + rng.random::<f64>() * 15.0) * 3_600_000.0) as i64
                + rng.random_range(0..60_000);
            (at < now.timestamp_millis() - 60_000).then(|| visitor(rng, at))
        })
        .collect()
}

fn visitor(rng: &mut SmallRng, at: i64) -> Visitor {
    let agent = pick(rng, &AGENTS, |a| a.1).0;
    let ip = std::net::IpAddr::from([10, rng.random(), rng.random(), rng.random()]);
    let channel = pick(rng, &CHANNELS, |c| c.weight);
    let mobile = agent.contains("Mobile");
    let safari = agent.contains("Safari/60");
    let gpc = rng.random::<f64>() < 0.08;
    let roll = rng.random::<f64>();
    // With GPC the banner starts with everything off: most keep it so.
    let (grants, answered) = if gpc {
        match roll {
            r if r < 0.65 => (Grants::default(), true),
            r if r < 0.9 => (grants(true, true, false, false), true),
            _ => (Grants::default(), false),
        }
    } else {
        match roll {
            r if r < 0.52 => (grants(true, true, true, true), true),
            r if r < 0.74 => (Grants::default(), true),
            r if r < 0.82 => (grants(true, false, false, false), true),
            r if r < 0.92 => (grants(true, true, true, false), true),
            _ => (Grants::default(), false),
        }
    };
    let decision = answered.then(|| ConsentRecord {
        site: DEMO_SITE.into(),
        consent_id: format!("demo-{:016x}", rng.random::<u64>()),
        grants,
        policy_version: 1,
        gpc,
        source: DecisionSource::Banner,
        decided_at: at + rng.random_range(1_500..9_000),
    });

    // The journey from the landing page down the funnel.
    let start = FUNNEL
        .iter()
        .position(|p| *p == channel.landing)
        .unwrap_or(0);
    let lcp_median = if mobile { 2_900.0 } else { 1_600.0 };
    let mut pages = Vec::new();
    let mut t = decision.as_ref().map_or(at, |d| d.decided_at + 200);
    let mut slow_landing = false;
    for (step, path) in FUNNEL.iter().enumerate().skip(start) {
        let lcp = around(rng, lcp_median, 0.45);
        if step == start {
            slow_landing = lcp > 4_000.0;
        }
        let dwell = around(rng, 25_000.0, 0.8) as i64 + 2_000;
        let mut page = Page {
            path,
            at: t,
            leave: t + dwell,
            custom: Vec::new(),
            error: None,
            vitals: vec![
                (Vital::Lcp, lcp.round()),
                (Vital::Fcp, (lcp * 0.6).round()),
                (Vital::Ttfb, around(rng, 180.0, 0.5).round()),
                (
                    Vital::Cls,
                    (around(rng, 0.04, 0.9) * 1000.0).round() / 1000.0,
                ),
                (Vital::Inp, around(rng, 140.0, 0.6).round()),
            ],
        };
        if rng.random::<f64>() < 0.03 {
            page.error = Some(ErrorReport {
                message: "ResizeObserver loop completed with undelivered notifications.".into(),
                source: None,
                line: None,
                column: None,
                stack: None,
                rejection: false,
            });
        }
        // How likely the visitor goes on to the next page.
        let mut go_on = match step {
            0 => 0.62,
            1 => 0.58,
            2 => 0.42,
            3 => 0.68,
            4 => 0.72,
            _ => 0.0,
        } * channel.intent;
        if mobile {
            go_on *= 0.85;
        }
        if slow_landing {
            go_on *= 0.7;
        }
        if *path == "/demo/products/kettle.html" && rng.random::<f64>() < go_on {
            page.custom.push(("add_to_cart", None));
        }
        if *path == "/demo/checkout.html" && safari && rng.random::<f64>() < 0.6 {
            // The bug that hurts checkout: Safari's message, the shop's frame.
            page.error = Some(ErrorReport {
                message: "TypeError: undefined is not an object (evaluating 'cart.total.toFixed')"
                    .into(),
                source: Some("/demo/checkout.js".into()),
                line: Some(42),
                column: Some(17),
                stack: Some(
                    "renderTotal@/demo/checkout.js:42:17\nsubmitOrder@/demo/checkout.js:88:5"
                        .into(),
                ),
                rejection: false,
            });
            go_on *= 0.3;
        }
        if *path == "/demo/thanks.html" {
            page.custom.push(("purchase", Some(KETTLE_PRICE)));
        }
        t = page.leave + rng.random_range(200..2_000);
        pages.push(page);
        if rng.random::<f64>() >= go_on.min(0.95) {
            break;
        }
    }
    Visitor {
        agent,
        ip,
        channel,
        gpc,
        grants,
        decision,
        pages,
    }
}

fn grants(usage: bool, errors: bool, performance: bool, marketing: bool) -> Grants {
    Grants {
        usage,
        errors,
        performance,
        marketing,
    }
}

/// Sends a visitor's decision and pages, each page as the collector would:
/// one batch when the visitor leaves it, checked as of that moment.
async fn deliver(
    app: &AppState,
    site: &crate::site::Site,
    visitor: Visitor,
    salts: &DailySalt,
) -> Result<Delivered, DemoError> {
    let mut delivered = Delivered::default();
    let store = app.stores().ingest.clone();
    let first = visitor.pages.first().map_or(0, |p| p.at);
    let day = DateTime::from_timestamp_millis(first)
        .unwrap_or_default()
        .with_timezone(&site.timezone)
        .date_naive();
    let bot = visitor.agent.contains("bot");
    if !bot {
        let (store, record) = (store.clone(), visitor.decision.clone());
        let device = match app.user_agents().classify(visitor.agent) {
            crate::user_agent::Agent::Visitor(software) => software.device.as_str(),
            crate::user_agent::Agent::Bot => "unknown",
        };
        delivered.consent_records = tokio::task::spawn_blocking(move || {
            store.count_banner_impression(DEMO_SITE, day)?;
            match record {
                Some(record) => {
                    // The consent endpoint's check, as of when it was sent.
                    record.validate(record.decided_at + 500)?;
                    Ok(u64::from(store.record_consent(&record, device)?))
                }
                None => Ok::<_, AppError>(0),
            }
        })
        .await
        .map_err(AppError::from)??;
    }
    let granted = [
        visitor.grants.usage,
        visitor.grants.errors,
        visitor.grants.performance,
    ];
    // A bot ignores the banner; a visitor who granted nothing sends nothing.
    if !bot && !granted.contains(&true) {
        return Ok(delivered);
    }
    let session = format!("demo-{:016x}", visitor.ip_key());
    for (n, page) in visitor.pages.iter().enumerate() {
        let id = |what: &str| format!("{session}-{n}-{what}");
        let url = if n == 0 {
            landing_url(page.path, visitor.channel)
        } else {
            page.path.to_owned()
        };
        let mut events = vec![Event {
            id: id("view"),
            ts: page.at,
            session: Some(session.clone()),
            url: url.clone(),
            data: EventData::PageView {
                referrer: (n == 0)
                    .then_some(visitor.channel.referrer)
                    .flatten()
                    .map(Into::into),
                title: Some("Sonde demo shop".into()),
                campaign: Campaign::from_url(&url),
            },
        }];
        for (i, (name, value)) in page.custom.iter().enumerate() {
            let mut props = sonde_protocol::Props::new();
            props.insert("product".into(), PropValue::Text("kettle".into()));
            events.push(Event {
                id: id(&format!("custom{i}")),
                ts: page.at + 3_000 + i as i64,
                session: Some(session.clone()),
                url: page.path.into(),
                data: EventData::Custom {
                    name: (*name).into(),
                    props,
                    value: *value,
                },
            });
        }
        if let Some(error) = &page.error {
            events.push(Event {
                id: id("error"),
                ts: page.at + 1_200,
                session: Some(session.clone()),
                url: page.path.into(),
                data: EventData::Error(error.clone()),
            });
        }
        for (metric, value) in &page.vitals {
            events.push(Event {
                id: id(metric.as_str()),
                ts: page.leave,
                session: Some(session.clone()),
                url: page.path.into(),
                data: EventData::Vital {
                    metric: *metric,
                    value: *value,
                },
            });
        }
        let received = DateTime::from_timestamp_millis(page.leave + 300).unwrap_or_default();
        let batch = Batch {
            site: DEMO_SITE.into(),
            consent: visitor.grants,
            events,
        };
        // The endpoint's checks, as of the moment the batch was sent.
        let partition = batch
            .partition(received.timestamp_millis())
            .map_err(AppError::from)?;
        if let Some((_, rejection)) = partition.refused.first() {
            return Err(AppError::from(rejection.clone()).into());
        }
        let delivery = Delivery {
            received,
            peer: visitor.ip,
            user_agent: visitor.agent.to_owned(),
            gpc: visitor.gpc,
        };
        let receipt = ingest::store(
            app,
            site,
            partition.valid,
            batch_consent(&visitor),
            &delivery,
            salts,
            false,
        )
        .await?;
        delivered.batches += 1;
        delivered.events_stored += receipt.accepted as u64;
        delivered.bot_requests += u64::from(receipt.bot);
        if receipt.bot {
            break;
        }
    }
    Ok(delivered)
}

/// What the visitor's pages claim was granted (a bot claims everything).
fn batch_consent(visitor: &Visitor) -> Grants {
    if visitor.agent.contains("bot") {
        grants(true, true, true, true)
    } else {
        visitor.grants
    }
}

impl Visitor {
    /// A number for this visitor's session ids.
    fn ip_key(&self) -> u64 {
        let first = self.pages.first().map_or(0, |p| p.at) as u64;
        match self.ip {
            std::net::IpAddr::V4(ip) => u64::from(u32::from(ip)) << 32 ^ first,
            std::net::IpAddr::V6(ip) => (u128::from(ip) as u64) ^ first,
        }
    }
}

/// The landing URL, with the channel's campaign parameters.
fn landing_url(path: &str, channel: &Channel) -> String {
    match channel.utm {
        Some((source, medium, campaign)) => {
            format!("{path}?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}")
        }
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn demo_app(dir: &std::path::Path) -> (AppState, crate::writer::WriterThread) {
        let mut config = crate::Config::ephemeral(dir);
        config.demo = true;
        std::fs::create_dir_all(dir).unwrap();
        AppState::open(&config, "127.0.0.1:8080".parse().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn weeks_of_traffic_arrive_through_ingest_with_consent_campaigns_errors_and_vitals() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _writer) = demo_app(dir.path()).await;
        let now = DateTime::from_timestamp_millis(1_764_000_000_000).unwrap();
        let plan = Plan {
            days: 21,
            visitors_per_day: 40,
            seed: 7,
        };
        let reported = std::sync::Mutex::new((0, 0));
        let summary = generate(&app, plan, now, &|done, total| {
            *reported.lock().unwrap() = (done, total)
        })
        .await
        .unwrap();
        assert_eq!(
            *reported.lock().unwrap(),
            (summary.visitors, summary.visitors)
        );
        assert!(summary.visitors > 21 * 25, "{summary:?}");
        let stores = app.stores();
        assert_eq!(
            stores.inspection.event_count(DEMO_SITE).unwrap(),
            summary.events_stored
        );
        let kinds = stores.inspection.count_by_kind(DEMO_SITE).unwrap();
        for kind in ["page_view", "custom", "error", "vital"] {
            assert!(
                kinds.get(kind).copied().unwrap_or(0) > 0,
                "no {kind}: {kinds:?}"
            );
        }
        assert!(summary.bot_requests > 0);
        assert_eq!(
            stores.inspection.bot_requests(DEMO_SITE).unwrap(),
            summary.bot_requests
        );
        assert_eq!(
            stores.inspection.consent_count(DEMO_SITE).unwrap(),
            summary.consent_records
        );

        let log = stores
            .reports
            .consent_log(DEMO_SITE, 0, now.timestamp_millis())
            .unwrap();
        let rejected_all = log
            .iter()
            .filter(|c| !(c.usage || c.errors || c.performance || c.marketing))
            .count();
        assert!(rejected_all * 10 > log.len(), "some reject all");
        assert!(log.iter().any(|c| c.gpc), "some send GPC");
        assert!(log.iter().any(|c| c.device == "mobile"));
        assert!(log.iter().any(|c| c.device == "desktop"));
        let events = stores.inspection.dump_as_text("events").unwrap();
        assert!(events.contains("winter_sale") && events.contains("kettle_launch"));
        assert!(events.contains("cart.total.toFixed"));
        // Several weeks: the earliest page view is three weeks back.
        let report = stores
            .reports
            .usage(
                &sonde_protocol::UsageQuery {
                    site: DEMO_SITE.into(),
                    from: now.timestamp_millis() - 22 * 86_400_000,
                    to: now.timestamp_millis(),
                    granularity: sonde_protocol::Granularity::Day,
                    ..Default::default()
                },
                chrono_tz::UTC,
                1,
            )
            .unwrap();
        let first_day = report.series.iter().find(|p| p.pageviews > 0).unwrap();
        assert!(
            first_day.start <= now.timestamp_millis() - 20 * 86_400_000,
            "{report:?}"
        );
        // The same seed makes the same traffic.
        let again = tempfile::tempdir().unwrap();
        let (other, _writer) = demo_app(again.path()).await;
        let repeat = generate(&other, plan, now, &|_, _| {}).await.unwrap();
        assert_eq!(repeat, summary);
        assert!(
            seed_if_empty(&app, plan).await.unwrap().is_none(),
            "once only"
        );
    }
}
