//! The budgets section of BENCHMARKS.md, written from what was measured.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::contenders::{Contender, PACKAGES};
use crate::load::{SETTLE, Sample, median, quantile};
use crate::{
    Budget, EVENTS, FIRST_VISIT, LOAD_AIM_MS, Measured, NEXT_PAGE, PER_EVENT_MUST_MS, RETURNING,
    Visits,
};

/// A time a sample took (main thread, script, long tasks).
type Time = fn(&Sample) -> f64;
const MAIN_THREAD: Time = |s| s.metrics.task_ms;
const SCRIPT: Time = |s| s.metrics.script_ms;
const LONG_TASKS: Time = |s| s.long_tasks_ms;

pub const START: &str = "<!-- budgets:start (written by `cargo xtask bench`) -->";
pub const END: &str = "<!-- budgets:end -->";

pub struct Report<'a> {
    /// The page alone first, then Sonde at `sonde`, then the others.
    pub contenders: &'a [Contender],
    pub measured: &'a [Measured],
    pub sonde: usize,
    pub next_page: &'a Sample,
    pub per_event_ms: f64,
    pub events_ms: f64,
    pub browser: String,
    pub rounds: usize,
}

impl Visits {
    /// The first visit's sample, or the returning visit's.
    fn sample(&self, returning: bool) -> &Sample {
        if returning {
            &self.returning
        } else {
            &self.first
        }
    }
}

impl Measured {
    fn gzip(&self, returning: bool) -> Option<&Sample> {
        self.gzip.as_ref().map(|v| v.sample(returning))
    }

    fn timed(&self, returning: bool) -> impl Iterator<Item = &Sample> {
        self.timed.iter().map(move |v| v.sample(returning))
    }

    /// The median over the timed loads of `f`.
    fn median(&self, returning: bool, f: impl Fn(&Sample) -> f64) -> f64 {
        median(self.timed(returning).map(f).collect())
    }

    /// The last timed load: its files, as negotiated.
    fn last(&self, returning: bool) -> Option<&Sample> {
        self.timed(returning).last()
    }
}

/// A time in milliseconds, with its sign when `signed` (a difference);
/// never "-0.0".
fn ms(value: f64, signed: bool) -> String {
    let value = if (value * 10.0).round() == 0.0 {
        0.0
    } else {
        value
    };
    if signed && value != 0.0 {
        format!("{value:+.1} ms")
    } else {
        format!("{value:.1} ms")
    }
}

fn kb(bytes: f64) -> String {
    format!("{:.1} KB", bytes / 1024.0)
}

/// The encodings the files came in: "br", or "br, uncompressed".
fn encodings(sample: &Sample) -> String {
    let all: BTreeSet<&str> = sample
        .resources
        .iter()
        .map(|r| match r.encoding.as_str() {
            "" => "uncompressed",
            e => e,
        })
        .collect();
    all.into_iter().collect::<Vec<_>>().join(", ")
}

fn verdict(value: f64, must: f64, aim: f64) -> &'static str {
    match (value <= must, value <= aim) {
        (true, true) => "within budget, aim met",
        (true, false) => "within budget",
        (false, _) => "OVER BUDGET",
    }
}

impl Report<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        writeln!(out, "{START}").unwrap();
        writeln!(out, "## Browser budgets (`cargo xtask bench`)\n").unwrap();
        writeln!(
            out,
            "Measured {} on this machine in headless {}, against `sonde serve` on loopback. \
             Bytes are what Resource Timing reports for Sonde's files (`/sonde.js`, `/sonde/…` and \
             the banner's settings, `/api/banner/demo`): transferred (the body as sent plus headers), \
             in one load with the browser accepting gzip only (the budgets are in gzip), and the median \
             of {} loads with what it asks for itself (`Content-Encoding` as it came), and decoded. \
             Cold cache unless said.\n",
            chrono::Utc::now().format("%Y-%m-%d"),
            self.browser,
            self.rounds,
        )
        .unwrap();
        self.budgets(&mut out);
        self.files(&mut out);
        self.side_by_side(&mut out);
        writeln!(out, "{END}").unwrap();
        out
    }

    fn budgets(&self, out: &mut String) {
        let sonde = &self.measured[self.sonde];
        writeln!(
            out,
            "| what | transferred, gzip | transferred, as negotiated | decoded | must | aim | |"
        )
        .unwrap();
        writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
        let row = |out: &mut String, what: &str, returning: bool, budget: Budget| {
            let gzip = sonde.gzip(returning).map_or(0, Sample::transfer) as f64;
            let negotiated = sonde.median(returning, |s| s.transfer() as f64);
            let decoded = sonde.median(returning, |s| s.decoded() as f64);
            let encodings = sonde.last(returning).map(encodings).unwrap_or_default();
            writeln!(
                out,
                "| {what} | {} | {} ({encodings}) | {} | ≤ {} | ≤ {} | {} |",
                kb(gzip),
                kb(negotiated),
                kb(decoded),
                kb(budget.must as f64),
                kb(budget.aim as f64),
                verdict(gzip, budget.must as f64, budget.aim as f64),
            )
            .unwrap();
        };
        row(
            out,
            "first visit (banner shown), cold cache",
            false,
            FIRST_VISIT,
        );
        row(
            out,
            "returning visitor (decision stored), cold cache",
            true,
            RETURNING,
        );
        let next = self.next_page.transfer() as f64;
        writeln!(
            out,
            "| returning visitor, next page (warm cache) | – | {} | {} | ≤ {} | nothing | {} |",
            kb(next),
            kb(self.next_page.decoded() as f64),
            kb(NEXT_PAGE.must as f64),
            verdict(next, NEXT_PAGE.must as f64, NEXT_PAGE.aim as f64),
        )
        .unwrap();

        writeln!(out, "\n| main-thread time | measured | must | aim | |").unwrap();
        writeln!(out, "|---|---|---|---|---|").unwrap();
        writeln!(
            out,
            "| per tracked event (`sonde.track` with 2 properties and a value, {EVENTS} calls) | {:.4} ms ({:.1} ms in all) | < {PER_EVENT_MUST_MS} ms | kept | {} |",
            self.per_event_ms,
            self.events_ms,
            if self.per_event_ms < PER_EVENT_MUST_MS { "within budget" } else { "OVER BUDGET" },
        )
        .unwrap();
        for (what, returning) in [
            ("of the embed during page load, first visit", false),
            ("of the embed during page load, returning visitor", true),
        ] {
            let extra = self.extra(sonde, returning, MAIN_THREAD);
            let (low, mid, high) = (
                quantile(extra.clone(), 0.25),
                median(extra.clone()),
                quantile(extra, 0.75),
            );
            let script = median(self.extra(sonde, returning, SCRIPT));
            let long = sonde.median(returning, LONG_TASKS);
            writeln!(
                out,
                "| {what} | {} (the middle half of the loads {} to {}; script {}, long tasks {}) | measured | < {LOAD_AIM_MS} ms | {} |",
                ms(mid, false),
                ms(low, false),
                ms(high, false),
                ms(script, false),
                ms(long, false),
                if mid < LOAD_AIM_MS { "aim met" } else { "aim not met" },
            )
            .unwrap();
        }
    }

    fn files(&self, out: &mut String) {
        let sonde = &self.measured[self.sonde];
        let (Some(first), Some(gzip)) = (sonde.last(false), sonde.gzip(false)) else {
            return;
        };
        let returning: BTreeSet<&str> = sonde
            .last(true)
            .map(|s| s.resources.iter().map(|r| r.path.as_str()).collect())
            .unwrap_or_default();
        writeln!(out, "\nPer file, first visit:\n").unwrap();
        writeln!(
            out,
            "| file | transferred, gzip | transferred, as negotiated | decoded | a returning visitor loads it |"
        )
        .unwrap();
        writeln!(out, "|---|---|---|---|---|").unwrap();
        for file in &first.resources {
            let gzip = gzip
                .resources
                .iter()
                .find(|r| r.path == file.path)
                .map_or("–".into(), |r| kb(r.transfer as f64));
            writeln!(
                out,
                "| `{}` | {gzip} | {} ({}) | {} | {} |",
                file.path,
                kb(file.transfer as f64),
                if file.encoding.is_empty() {
                    "uncompressed"
                } else {
                    file.encoding.as_str()
                },
                kb(file.decoded as f64),
                if returning.contains(file.path.as_str()) {
                    "yes"
                } else {
                    "no"
                },
            )
            .unwrap();
        }
    }

    /// The median of `time` over every load of the page alone.
    fn alone(&self, time: Time) -> f64 {
        let all = self.measured.iter().flat_map(|m| &m.timed);
        median(all.flat_map(|v| &v.alone).map(time).collect())
    }

    /// How much more `time` each of `m`'s timed loads took than the page
    /// alone's median.
    fn extra(&self, m: &Measured, returning: bool, time: Time) -> Vec<f64> {
        let alone = self.alone(time);
        m.timed(returning).map(|s| time(s) - alone).collect()
    }

    fn side_by_side(&self, out: &mut String) {
        writeln!(out, "\n### Side by side\n").unwrap();
        writeln!(
            out,
            "The same demo page, with each tool in place of Sonde's script tag, in the same run and \
             browser: {}. Their files are precompressed (gzip level 9, brotli quality 11) and served \
             from loopback in the encoding the browser accepts. Bytes: the tool's files only, \
             transferred (gzip, then as negotiated), on a first visit (nothing stored) and on a \
             returning visit after a click on the tool's \"accept all\". Main thread: the page's \
             main-thread CPU time from its start to {} s after `load` (`Performance.getMetrics`: \
             `TaskDuration` with `timeDomain: threadTicks`, less the DevTools commands chromedriver \
             ran), the median of {} cold loads (an empty HTTP cache, and a full garbage collection \
             before each, which drops the code V8 compiled for an earlier load), less the median of \
             the page alone, loaded before each of them; \"script\" is `ScriptDuration` + \
             `V8CompileDuration` taken the same way; long tasks are the page's `longtask` entries \
             (over 50 ms, wall time), the median of their sum.\n",
            PACKAGES
                .iter()
                .map(|(name, version)| format!("`{name}@{version}`"))
                .collect::<Vec<_>>()
                .join(", "),
            SETTLE.as_secs(),
            self.rounds,
        )
        .unwrap();
        writeln!(
            out,
            "| page | first visit (banner shown) | returning visitor (decision stored) | main thread at load, first / returning | of which script | long tasks, first / returning |"
        )
        .unwrap();
        writeln!(out, "|---|---|---|---|---|---|").unwrap();
        for (i, (contender, m)) in self.contenders.iter().zip(self.measured).enumerate() {
            let label = if i == self.sonde {
                format!("**{}**", contender.label)
            } else {
                contender.label.to_owned()
            };
            if let Some(failure) = &m.failure {
                writeln!(
                    out,
                    "| {label} | could not be measured: {} | | | | |",
                    failure.replace('|', "/")
                )
                .unwrap();
                continue;
            }
            let bytes = |returning: bool| {
                if i == 0 {
                    return "–".to_owned();
                }
                let gzip = m.gzip(returning).map_or(0, Sample::transfer) as f64;
                let negotiated = m.median(returning, |s| s.transfer() as f64);
                let files = m.last(returning).map_or(0, |s| s.resources.len());
                let encodings = m.last(returning).map(encodings).unwrap_or_default();
                format!(
                    "{} gzip, {} {encodings} ({files} files)",
                    kb(gzip),
                    kb(negotiated)
                )
            };
            let time = |time: Time| {
                if i == 0 {
                    ms(self.alone(time), false)
                } else {
                    format!(
                        "{} / {}",
                        ms(median(self.extra(m, false, time)), true),
                        ms(median(self.extra(m, true, time)), true)
                    )
                }
            };
            let long_tasks = if i == 0 {
                ms(self.alone(LONG_TASKS), false)
            } else {
                format!(
                    "{} / {}",
                    ms(m.median(false, LONG_TASKS), false),
                    ms(m.median(true, LONG_TASKS), false)
                )
            };
            writeln!(
                out,
                "| {label} | {} | {} | {} | {} | {long_tasks} |",
                bytes(false),
                bytes(true),
                time(MAIN_THREAD),
                time(SCRIPT),
            )
            .unwrap();
        }
        writeln!(out).unwrap();
        for contender in self.contenders {
            writeln!(out, "- {}: {}", contender.label, contender.note).unwrap();
        }
    }
}

pub fn replace_section(existing: &str, section: &str) -> String {
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
