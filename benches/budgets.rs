//! The browser budgets, measured in real headless Chromium against the real
//! server and the real build (`dist/`), and written to BENCHMARKS.md:
//!
//! - bytes Sonde adds to a page view (as transferred over HTTP): a first
//!   visit (loader, collector, banner and the banner's settings) and a
//!   returning visitor whose decision is stored, with a cold cache, and the
//!   returning visitor's next page with a warm one;
//! - main-thread time per tracked event, over 10,000 `sonde.track` calls;
//! - main-thread time of the embed during page load;
//! - the same bytes and load times, in the same run and the same browser,
//!   for the same demo page with other tools in Sonde's place
//!   (`budgets/contenders.rs`, `compare/`).
//!
//! Run with `cargo xtask bench` (it builds `dist/` first). An example target
//! rather than a bench target, so it builds in the dev profile and reuses
//! DuckDB's build. `SONDE_BENCH_ROUNDS` sets how many timed loads each page
//! gets (7 by default).

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "budgets/cdp.rs"]
mod cdp;
#[path = "budgets/contenders.rs"]
mod contenders;
#[path = "budgets/load.rs"]
mod load;
#[path = "budgets/report.rs"]
mod report;

use std::time::Duration;

use contenders::Contender;
use fantoccini::Client;
use load::{Page, Sample, Visit};
use serde_json::{Value, json};
use support::Harness;

const KB: u64 = 1024;
/// Budgets from the brief: what must hold, and what to aim for.
pub const FIRST_VISIT: Budget = Budget::bytes(25 * KB, 17 * KB);
pub const RETURNING: Budget = Budget::bytes(12 * KB, 10 * KB);
pub const NEXT_PAGE: Budget = Budget::bytes(KB, 0);
pub const PER_EVENT_MUST_MS: f64 = 0.05;
/// Main-thread time of the embed while a page loads: measured, no must.
pub const LOAD_AIM_MS: f64 = 5.0;
pub const EVENTS: u32 = 10_000;
const DEFAULT_ROUNDS: usize = 7;

/// A byte budget: at most `must`, ideally at most `aim`.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub must: u64,
    pub aim: u64,
}

impl Budget {
    const fn bytes(must: u64, aim: u64) -> Budget {
        Budget { must, aim }
    }
}

/// Sonde's script tag on the demo shop, as the browser tests know it.
const SONDE_BANNER: &str = "document.querySelector('#sonde-consent section.sonde-banner')";
const SONDE_RUNNING: &str = "typeof (window.sonde || {}).track === 'function' \
     && !document.querySelector('#sonde-consent section.sonde-banner')";

/// One round of a page: a first visit, and the returning visit after it.
#[derive(Debug)]
pub struct Visits {
    pub first: Sample,
    pub returning: Sample,
    /// The page alone, loaded just before each of them in timed rounds:
    /// what their times are compared with, its loads spread over the run
    /// like theirs.
    pub alone: Vec<Sample>,
}

/// What was measured of one page over the rounds.
#[derive(Debug, Default)]
pub struct Measured {
    /// The first round, when the browser accepted gzip only: its bytes are
    /// the gzip figures; its times are left out, as a warm-up.
    pub gzip: Option<Visits>,
    /// The timed rounds, with the encodings the browser asks for itself.
    pub timed: Vec<Visits>,
    /// Why it stopped being measured.
    pub failure: Option<String>,
}

#[tokio::main]
async fn main() {
    // The checkout `cargo xtask bench` runs for (the path compiled in may
    // be another clone's when clones share a target directory).
    let root = std::env::var_os("SONDE_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let rounds = std::env::var("SONDE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(DEFAULT_ROUNDS);

    let h = Harness::start().await;
    let compare = contenders::prepare(&root).await;
    let blank = &compare.blank;
    let mut all = compare.contenders;
    all.insert(
        1,
        Contender {
            label: "Sonde",
            url: h.url("/demo/"),
            origin: h.server.url(),
            counted: ["/sonde.js", "/sonde/", "/api/banner/"]
                .map(|p| h.url(p))
                .to_vec(),
            first_ready: SONDE_BANNER,
            returning_ready: SONDE_RUNNING,
            accept: Some("button[data-action=accept]"),
            note: "the demo shop's own home page, with its one script tag; counted: `/sonde.js`, \
                   everything under `/sonde/` and the banner's settings (`/api/banner/demo`).",
            unavailable: None,
        },
    );
    let sonde = 1;

    let browser = &h.browser;
    cdp::send(browser, "Network.enable", json!({}))
        .await
        .unwrap();
    cdp::enable_metrics(browser).await.unwrap();
    cdp::send(browser, "HeapProfiler.enable", json!({}))
        .await
        .unwrap();
    let mut measured: Vec<Measured> = all
        .iter()
        .map(|c| Measured {
            failure: c.unavailable.clone(),
            ..Measured::default()
        })
        .collect();
    for round in 0..=rounds {
        let gzip_only = round == 0;
        let headers = if gzip_only {
            json!({ "Accept-Encoding": "gzip, deflate" })
        } else {
            json!({})
        };
        cdp::send(
            browser,
            "Network.setExtraHTTPHeaders",
            json!({ "headers": headers }),
        )
        .await
        .unwrap();
        eprintln!(
            "budgets: round {round} of {rounds}{}",
            if gzip_only { " (gzip only)" } else { "" }
        );
        // Every page in each round, so a slow minute of the machine falls
        // on all of them; the page alone is loaded beside each of them.
        let (baseline, tools) = all.split_first().expect("the page alone");
        for (i, (contender, m)) in (1..).zip(tools.iter().zip(&mut measured[1..])) {
            if m.failure.is_some() {
                continue;
            }
            let beside = (!gzip_only).then_some(baseline);
            match visit_twice(browser, blank, contender, beside).await {
                Ok(visits) if gzip_only => m.gzip = Some(visits),
                Ok(visits) => m.timed.push(visits),
                // What this benchmark is for: no figures without Sonde's.
                Err(e) if i == sonde => panic!("Sonde could not be measured: {e}"),
                Err(e) => {
                    eprintln!("budgets: {}: {e}", contender.label);
                    m.failure = Some(e);
                }
            }
        }
    }

    // The returning visitor's next page: a decision stored, the cache as
    // the visit before it left it.
    visit_twice(browser, blank, &all[sonde], None)
        .await
        .unwrap();
    let next_url = h.url("/demo/products.html");
    let next_page = load::warm(
        browser,
        Page {
            url: &next_url,
            ..all[sonde].page()
        },
        SONDE_RUNNING,
    )
    .await
    .unwrap();

    let (per_event_ms, events_ms) = time_per_event(&h).await;
    let browser_version = browser_version(browser).await;
    h.finish().await;

    let report = report::Report {
        contenders: &all,
        measured: &measured,
        sonde,
        next_page: &next_page,
        per_event_ms,
        events_ms,
        browser: browser_version,
        rounds,
    }
    .render();
    println!("{report}");
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&path, report::replace_section(&existing, &report)).unwrap();
    eprintln!("written to {}", path.display());
}

/// A first visit to `contender`'s page (nothing stored, banner shown), a
/// click on its "accept all", then a returning visit, both cold; with the
/// page alone loaded just before each, when `baseline` is given.
async fn visit_twice(
    browser: &Client,
    blank: &str,
    contender: &Contender,
    baseline: Option<&Contender>,
) -> Result<Visits, String> {
    let page = contender.page();
    let beside = async || match baseline {
        Some(b) => load::cold(
            browser,
            blank,
            b.page(),
            Visit::Returning,
            b.returning_ready,
        )
        .await
        .map(Some)
        .map_err(|e| format!("the page alone: {e}")),
        None => Ok(None),
    };
    let before_first = beside().await?;
    let first = load::cold(browser, blank, page, Visit::First, contender.first_ready)
        .await
        .map_err(|e| format!("first visit: {e}"))?;
    if let Some(accept) = contender.accept {
        load::click(browser, accept).await?;
        // The decision is stored as the click is handled; its report to a
        // server may take a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let before_returning = beside().await?;
    let returning = load::cold(
        browser,
        blank,
        page,
        Visit::Returning,
        contender.returning_ready,
    )
    .await
    .map_err(|e| format!("returning visit: {e}"))?;
    Ok(Visits {
        first,
        returning,
        alone: before_first.into_iter().chain(before_returning).collect(),
    })
}

/// Main-thread time per `sonde.track` call on the open page, and in all.
async fn time_per_event(h: &Harness) -> (f64, f64) {
    h.wait_for_sonde().await;
    let timing: Value = h
        .js(&format!(
            "for (let i = 0; i < 200; i++) sonde.track('warm_up', {{ i }});
             const start = performance.now();
             for (let i = 0; i < {EVENTS}; i++) sonde.track('bench', {{ i, plan: 'pro' }}, 9.99);
             const total = performance.now() - start;
             return {{ total, per_event: total / {EVENTS} }};"
        ))
        .await;
    (
        timing["per_event"].as_f64().unwrap(),
        timing["total"].as_f64().unwrap(),
    )
}

/// "Chrome/156.0.8078.114": the browser's own version (the user agent the
/// harness sets names a desktop Chrome, not this one).
async fn browser_version(browser: &Client) -> String {
    cdp::send(browser, "Browser.getVersion", json!({}))
        .await
        .ok()
        .and_then(|v| v["product"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "Chromium".into())
}
