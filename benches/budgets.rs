//! The browser budgets, measured in real headless Chromium against the real
//! server and the real build (`dist/`), and written to BENCHMARKS.md:
//!
//! - bytes Sonde adds to a page view (gzip, as transferred over HTTP): a
//!   first visit (loader, collector, banner) and a returning visitor whose
//!   decision is stored (loader and collector only), with a cold cache, and
//!   with a warm one;
//! - main-thread time per tracked event, over 10,000 `sonde.track` calls.
//!
//! Run with `cargo xtask bench` (it builds `dist/` first). An example target
//! rather than a bench target, so it builds in the dev profile and reuses
//! DuckDB's build.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use support::Harness;

/// Budgets from the brief, in bytes and milliseconds.
const RETURNING_BUDGET: u64 = 15 * 1024;
const FIRST_VISIT_BUDGET: u64 = 60 * 1024;
const PER_EVENT_BUDGET_MS: f64 = 0.05;
const EVENTS: u32 = 10_000;

/// Sonde's resources as this page loaded them.
const RESOURCES: &str = "return performance.getEntriesByType('resource')
    .concat(performance.getEntriesByType('navigation'))
    .filter(e => /\\/sonde(\\.js|\\/)/.test(e.name))
    .map(e => ({ name: new URL(e.name).pathname, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize }))";

#[derive(Debug)]
struct Load {
    resources: Vec<(String, u64, u64, u64)>,
}

impl Load {
    fn transfer(&self) -> u64 {
        self.resources.iter().map(|r| r.1).sum()
    }
    fn body(&self) -> u64 {
        self.resources.iter().map(|r| r.2).sum()
    }
    fn decoded(&self) -> u64 {
        self.resources.iter().map(|r| r.3).sum()
    }
}

async fn measure_load(h: &Harness, wait_for_banner: bool) -> Load {
    h.wait_for_sonde().await;
    if wait_for_banner {
        h.wait_for_banner().await;
    }
    // Let late fetches (the banner's wasm) finish and be recorded.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let entries = h.js(RESOURCES).await;
    let resources = entries
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            let n = |k: &str| e[k].as_f64().unwrap_or(0.0) as u64;
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                n("transfer"),
                n("body"),
                n("decoded"),
            )
        })
        .collect();
    Load { resources }
}

#[tokio::main]
async fn main() {
    let h = Harness::start().await;

    // A first visit: nothing cached, no decision stored.
    h.visit("/demo/").await;
    let first = measure_load(&h, true).await;
    h.click("button[data-action=accept]").await;

    // A returning visitor: the decision is stored; the cache is cold (a
    // visit weeks later) and then warm (the next page).
    h.cdp("Network.enable", serde_json::json!({})).await;
    h.cdp("Network.clearBrowserCache", serde_json::json!({}))
        .await;
    h.visit("/demo/products.html").await;
    let returning_cold = measure_load(&h, false).await;
    assert!(
        !h.banner_shown().await,
        "a returning visitor sees no banner"
    );
    h.visit("/demo/cart.html").await;
    let returning_warm = measure_load(&h, false).await;

    // Main-thread time per tracked event.
    let timing: Value = h
        .js(&format!(
            "for (let i = 0; i < 200; i++) sonde.track('warm_up', {{ i }});
             const start = performance.now();
             for (let i = 0; i < {EVENTS}; i++) sonde.track('bench', {{ i, plan: 'pro' }}, 9.99);
             const total = performance.now() - start;
             return {{ total, per_event: total / {EVENTS} }};"
        ))
        .await;
    let per_event = timing["per_event"].as_f64().unwrap();
    let total = timing["total"].as_f64().unwrap();
    let browser = h.js("return navigator.userAgent").await;
    h.finish().await;

    let report = render(
        &first,
        &returning_cold,
        &returning_warm,
        per_event,
        total,
        &browser,
    );
    println!("{report}");
    // The checkout `cargo xtask bench` runs for (the path compiled in may
    // be another clone's when clones share a target directory).
    let root = std::env::var_os("SONDE_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&path, replace_section(&existing, &report)).unwrap();
    eprintln!("written to {}", path.display());
}

fn verdict(ok: bool) -> &'static str {
    if ok { "within budget" } else { "OVER BUDGET" }
}

fn render(
    first: &Load,
    cold: &Load,
    warm: &Load,
    per_event: f64,
    total: f64,
    browser: &Value,
) -> String {
    let kb = |b: u64| format!("{:.1} KB", b as f64 / 1024.0);
    let mut out = String::new();
    writeln!(out, "{START}").unwrap();
    writeln!(out, "## Browser budgets (`cargo xtask bench`)\n").unwrap();
    writeln!(
        out,
        "Measured {} on this machine in headless {}, against `sonde serve` on loopback (gzip by the server). \
         Bytes are what the browser's Resource Timing reports for Sonde's files: transferred (gzip body plus headers), \
         gzip body alone, and decoded.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        browser.as_str().and_then(|ua| ua.split_whitespace().find(|p| p.starts_with("HeadlessChrome") || p.starts_with("Chrome"))).unwrap_or("Chromium"),
    )
    .unwrap();
    writeln!(
        out,
        "| what | transferred | gzip body | decoded | budget | |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|").unwrap();
    let row = |out: &mut String, what: &str, load: &Load, budget: Option<u64>| {
        writeln!(
            out,
            "| {what} | {} | {} | {} | {} | {} |",
            kb(load.transfer()),
            kb(load.body()),
            kb(load.decoded()),
            budget.map(kb).unwrap_or_else(|| "–".into()),
            budget.map(|b| verdict(load.transfer() <= b)).unwrap_or(""),
        )
        .unwrap();
    };
    row(
        &mut out,
        "first visit (banner shown), cold cache",
        first,
        Some(FIRST_VISIT_BUDGET),
    );
    row(
        &mut out,
        "returning visitor (decision stored), cold cache",
        cold,
        Some(RETURNING_BUDGET),
    );
    row(
        &mut out,
        "returning visitor, next page (warm cache)",
        warm,
        None,
    );
    writeln!(out, "\nPer file, first visit:\n").unwrap();
    writeln!(out, "| file | transferred | gzip body | decoded |").unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    for (name, transfer, body, decoded) in &first.resources {
        writeln!(
            out,
            "| `{name}` | {} | {} | {} |",
            kb(*transfer),
            kb(*body),
            kb(*decoded)
        )
        .unwrap();
    }
    writeln!(
        out,
        "\n| main-thread time per tracked event (`sonde.track` with 2 properties and a value, {EVENTS} calls) | {per_event:.4} ms ({total:.1} ms in all) | budget {PER_EVENT_BUDGET_MS} ms | {} |",
        verdict(per_event < PER_EVENT_BUDGET_MS)
    )
    .unwrap();
    writeln!(out, "{END}").unwrap();
    out
}

const START: &str = "<!-- budgets:start (written by `cargo xtask bench`) -->";
const END: &str = "<!-- budgets:end -->";

fn replace_section(existing: &str, section: &str) -> String {
    match (existing.find(START), existing.find(END)) {
        (Some(a), Some(b)) => format!(
            "{}{}{}",
            &existing[..a],
            section.trim_end(),
            &existing[b + END.len()..]
        ),
        _ => format!("{}\n{}", existing.trim_end(), section),
    }
}
