//! The errors report, apart from any store: grouping by fingerprint
//! ([`fingerprint`], [`group`]), reach, the period before ([`compare`]) and
//! the effect on saved funnels ([`funnel_visits`]). The definitions are in
//! [`sonde_protocol::errors`].
//!
//! # What a store provides
//!
//! - The errors of the scope's sessions in its period as [`ErrorRow`]s,
//!   oldest first (time, then the stored sequence number), each stored
//!   error once, with its visitor: groups list their first and last
//!   occurrence from this order, and name a browser or page only when at
//!   least `k` visitors had the error there.
//! - The number of visits in the scope (a session's page views on one day
//!   of the site's calendar, as the overview counts them): the share of
//!   visits an error reached is over these. A group's visits are the
//!   sessions it happened in, each once per day.
//! - For each saved funnel, its figures over every session, and the
//!   occurrences of only the sessions with an error in the period
//!   ([`super::Scope::with_errors`]), as the funnel contract says.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};

use chrono_tz::Tz;
use sonde_protocol::errors::{Conversion, ErrorGroup, ErrorTotals, FunnelImpact, LabelCount};
use sonde_protocol::funnel::{FunnelDefinition, StepResult};

use super::buckets::Bucket;
use super::funnel::{Occurrence, progress};

/// An error as the errors page reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorRow {
    pub session: String,
    pub visitor: i64,
    pub ts: i64,
    pub message: String,
    pub stack: Option<String>,
    pub source: Option<String>,
    pub browser: String,
    pub path: String,
}

/// The message with what varies between occurrences replaced: numbers by
/// `<n>`, quoted text by `<s>`, hex runs of 8 or more by `<hex>`.
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\'' | '"' | '`')
            && let Some(end) = chars[i + 1..].iter().position(|&d| d == c)
        {
            out.push_str("<s>");
            i += end + 2;
            continue;
        }
        if c.is_ascii_hexdigit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let run = chars[i..]
                .iter()
                .take_while(|d| d.is_ascii_hexdigit())
                .count();
            let ends_word = chars.get(i + run).is_none_or(|d| !d.is_alphanumeric());
            if run >= 8 && ends_word {
                out.push_str("<hex>");
                i += run;
                continue;
            }
        }
        if c.is_ascii_digit() {
            let run = chars[i..]
                .iter()
                .take_while(|d| d.is_ascii_digit() || **d == '.')
                .count();
            out.push_str("<n>");
            i += run;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first frame of a stack (Firefox/Safari `fn@file:1:2`, or Chrome's
/// `at fn (file:1:2)`), without its line and column; else the source file.
pub fn top_frame(stack: Option<&str>, source: Option<&str>) -> Option<String> {
    let frame = stack
        .and_then(|s| {
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && (l.starts_with("at ") || l.contains('@')))
        })
        .map(|l| l.trim_start_matches("at ").to_owned())
        .or_else(|| source.map(str::to_owned))?;
    Some(strip_positions(&frame))
}

/// Removes `:line` and `:line:column` after a file name.
fn strip_positions(frame: &str) -> String {
    let mut out = String::new();
    let mut rest = frame;
    while let Some(at) = rest.find(':') {
        let (before, after) = rest.split_at(at);
        let digits = after[1..].chars().take_while(char::is_ascii_digit).count();
        out.push_str(before);
        if digits > 0 {
            rest = &after[1 + digits..];
        } else {
            out.push(':');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A group's id: a hash of the normalised message and the top frame.
pub fn fingerprint(message: &str, frame: Option<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(message.as_bytes());
    hasher.update(b"\n");
    hasher.update(frame.unwrap_or_default().as_bytes());
    hasher.finalize().to_hex()[..16].to_owned()
}

/// A saved funnel's visits: how many entered it and reached its end, and
/// which of the visits with errors did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunnelVisits {
    pub name: String,
    pub entered: u64,
    pub converted: u64,
    /// Visits with an error that entered it.
    pub entered_with_errors: HashSet<String>,
    /// Visits with an error that reached its end.
    pub converted_with_errors: HashSet<String>,
}

/// Groups errors (oldest first) by fingerprint, most visits affected first;
/// a group's browsers and pages seen by fewer than `k` visitors are
/// counted, not named.
pub fn group(
    errors: &[ErrorRow],
    k: u64,
    sessions: u64,
    timezone: Tz,
    buckets: &[Bucket],
    funnels: &[FunnelVisits],
) -> Vec<ErrorGroup> {
    struct Building<'e> {
        group: ErrorGroup,
        /// For the funnels, which follow whole sessions.
        sessions: HashSet<&'e str>,
        /// Visits: a session on one day of the site's calendar.
        visits: HashSet<(&'e str, usize)>,
        per_day: BTreeMap<usize, u64>,
        series: Vec<u64>,
        browsers: HashMap<&'e str, (u64, HashSet<i64>)>,
        pages: HashMap<&'e str, (u64, HashSet<i64>)>,
    }
    let days = Days::of(errors, timezone);
    // An error's group, by what it is made from: an error repeats its
    // message, stack and source far more often than not.
    let mut signatures: HashMap<(&str, Option<&str>, Option<&str>), String> = HashMap::default();
    let mut groups: HashMap<String, Building> = HashMap::default();
    for e in errors {
        let signature = (e.message.as_str(), e.stack.as_deref(), e.source.as_deref());
        let print = match signatures.get(&signature) {
            Some(print) => print,
            None => {
                let message = normalise(&e.message);
                let frame = top_frame(e.stack.as_deref(), e.source.as_deref());
                let print = fingerprint(&message, frame.as_deref());
                groups.entry(print.clone()).or_insert_with(|| Building {
                    group: ErrorGroup {
                        fingerprint: print.clone(),
                        message,
                        top_frame: frame,
                        first_seen: e.ts,
                        example_stack: e.stack.clone(),
                        ..ErrorGroup::default()
                    },
                    sessions: HashSet::default(),
                    visits: HashSet::default(),
                    per_day: BTreeMap::new(),
                    series: vec![0; buckets.len()],
                    browsers: HashMap::default(),
                    pages: HashMap::default(),
                });
                signatures.entry(signature).or_insert(print)
            }
        };
        let Some(b) = groups.get_mut(print) else {
            continue;
        };
        b.group.count += 1;
        b.group.last_seen = e.ts;
        b.sessions.insert(&e.session);
        let day = days.index(e.ts);
        b.visits.insert((&e.session, day));
        *b.per_day.entry(day).or_default() += 1;
        if let Some(n) = b
            .series
            .get_mut(buckets.partition_point(|b| b.stop <= e.ts))
        {
            *n += 1;
        }
        for (labels, label) in [(&mut b.browsers, &e.browser), (&mut b.pages, &e.path)] {
            let (count, visitors) = labels.entry(label).or_default();
            *count += 1;
            visitors.insert(e.visitor);
        }
    }
    // The rows of `k` visitors or more, most errors first; and the errors
    // of the others.
    let ranked = |counts: HashMap<&str, (u64, HashSet<i64>)>| {
        let mut hidden = 0;
        let mut rows: Vec<LabelCount> = Vec::new();
        for (label, (count, visitors)) in counts {
            if (visitors.len() as u64) < k {
                hidden += count;
            } else {
                rows.push(LabelCount {
                    label: label.to_owned(),
                    count,
                });
            }
        }
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        (rows, hidden)
    };
    let mut out: Vec<ErrorGroup> = groups
        .into_values()
        .map(|b| {
            let mut g = b.group;
            g.sessions = b.visits.len() as u64;
            g.session_share = if sessions == 0 {
                0.0
            } else {
                g.sessions as f64 / sessions as f64
            };
            g.per_day = b
                .per_day
                .into_iter()
                .map(|(day, count)| LabelCount {
                    label: days.label(day),
                    count,
                })
                .collect();
            g.series = buckets
                .iter()
                .zip(b.series)
                .map(|(bucket, count)| LabelCount {
                    label: bucket.local.clone(),
                    count,
                })
                .collect();
            (g.browsers, g.browsers_hidden) = ranked(b.browsers);
            (g.pages, g.pages_hidden) = ranked(b.pages);
            g.funnels = funnels
                .iter()
                .filter(|f| f.entered > 0)
                .map(|f| impact(f, &b.sessions))
                .collect();
            g
        })
        .collect();
    out.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    out
}

/// The days of the site's calendar that errors (oldest first) fall on,
/// so that an error's day is a search among a few days, not a date
/// formatted for each error.
struct Days(Vec<Bucket>);

impl Days {
    fn of(errors: &[ErrorRow], timezone: Tz) -> Self {
        let (Some(first), Some(last)) = (
            errors.iter().map(|e| e.ts).min(),
            errors.iter().map(|e| e.ts).max(),
        ) else {
            return Days(Vec::new());
        };
        Days(super::buckets::buckets(
            first,
            last + 1,
            sonde_protocol::Granularity::Day,
            timezone,
        ))
    }

    /// The day `ts` falls on, by its place among the days.
    fn index(&self, ts: i64) -> usize {
        self.0.partition_point(|d| d.stop <= ts)
    }

    /// A day as `YYYY-MM-DD`.
    fn label(&self, day: usize) -> String {
        self.0.get(day).map(|d| d.local.clone()).unwrap_or_default()
    }
}

/// A period's errors and the visits they reached (days in `timezone`).
pub fn totals(errors: &[ErrorRow], sessions: u64, timezone: Tz) -> ErrorTotals {
    let days = Days::of(errors, timezone);
    let affected: HashSet<(&str, usize)> = errors
        .iter()
        .map(|e| (e.session.as_str(), days.index(e.ts)))
        .collect();
    ErrorTotals {
        errors: errors.len() as u64,
        sessions_affected: affected.len() as u64,
        sessions,
    }
}

fn impact(funnel: &FunnelVisits, hit: &HashSet<&str>) -> FunnelImpact {
    let reached =
        |sessions: &HashSet<String>| hit.iter().filter(|s| sessions.contains(**s)).count() as u64;
    let entered = reached(&funnel.entered_with_errors);
    let converted = reached(&funnel.converted_with_errors);
    FunnelImpact {
        funnel: funnel.name.clone(),
        with_error: Conversion::new(entered, converted),
        without_error: Conversion::new(
            funnel.entered.saturating_sub(entered),
            funnel.converted.saturating_sub(converted),
        ),
    }
}

/// A saved funnel's visits (see [`FunnelVisits`]) from its figures over
/// every visit and the progress of the visits with an error.
pub fn funnel_visits(
    funnel: &FunnelDefinition,
    steps: &[StepResult],
    units_with_errors: Vec<(String, Vec<Occurrence>)>,
) -> FunnelVisits {
    let mut visits = FunnelVisits::new(funnel, steps);
    for (session, events) in units_with_errors {
        let reached = progress(&funnel.steps, &events, funnel.window_ms).len();
        visits.follow(session, reached, funnel.steps.len());
    }
    visits
}

impl FunnelVisits {
    /// A saved funnel's visits from its figures over every visit, before
    /// any visit with errors is followed.
    pub fn new(funnel: &FunnelDefinition, steps: &[StepResult]) -> Self {
        FunnelVisits {
            name: funnel.name.clone(),
            entered: steps.first().map_or(0, |s| s.entrants),
            converted: steps.last().map_or(0, |s| s.entrants),
            ..FunnelVisits::default()
        }
    }

    /// A session with errors that reached `reached` of the funnel's
    /// `step_count` steps.
    pub fn follow(&mut self, session: String, reached: usize, step_count: usize) {
        if reached == step_count {
            self.converted_with_errors.insert(session.clone());
        }
        if reached > 0 {
            self.entered_with_errors.insert(session);
        }
    }
}

/// Sets each group's count in the period before from that period's errors.
pub fn compare(groups: &mut [ErrorGroup], before: &[ErrorRow]) {
    let mut counts: HashMap<String, u64> = HashMap::default();
    for e in before {
        let message = normalise(&e.message);
        let frame = top_frame(e.stack.as_deref(), e.source.as_deref());
        *counts
            .entry(fingerprint(&message, frame.as_deref()))
            .or_default() += 1;
    }
    for g in groups {
        g.previous_count = Some(counts.get(&g.fingerprint).copied().unwrap_or(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_what_varies_between_occurrences() {
        assert_eq!(
            normalise("Cannot read properties of undefined (reading 'total')"),
            "Cannot read properties of undefined (reading <s>)"
        );
        assert_eq!(
            normalise("Request 4f3a9c2e1b failed after 3.5 s with code 502"),
            "Request <hex> failed after <n> s with code <n>"
        );
        assert_eq!(
            normalise("deadbeef is fine as a word: cafe"),
            "<hex> is fine as a word: cafe"
        );
        assert_eq!(normalise("  two   spaces "), "two spaces");
    }

    #[test]
    fn the_top_frame_keeps_the_function_and_file_but_not_the_position() {
        let safari = "renderTotal@https://shop.example/checkout.js:42:17\nsubmit@https://shop.example/checkout.js:88:5";
        assert_eq!(
            top_frame(Some(safari), None).as_deref(),
            Some("renderTotal@https://shop.example/checkout.js")
        );
        let chrome = "TypeError: x is undefined\n    at renderTotal (https://shop.example/checkout.js:42:17)";
        assert_eq!(
            top_frame(Some(chrome), None).as_deref(),
            Some("renderTotal (https://shop.example/checkout.js)")
        );
        assert_eq!(top_frame(None, Some("/app.js")).as_deref(), Some("/app.js"));
        assert_eq!(top_frame(None, None), None);
    }

    fn error(session: &str, ts: i64, message: &str, line: u32, browser: &str) -> ErrorRow {
        ErrorRow {
            session: session.into(),
            // One visitor per visit.
            visitor: session.bytes().map(i64::from).sum(),
            ts,
            message: message.into(),
            stack: Some(format!("render@/checkout.js:{line}:3")),
            source: None,
            browser: browser.into(),
            path: "/checkout".into(),
        }
    }

    /// A session that errs before and after the site's midnight is two
    /// visits, as the overview counts them, in Berlin's calendar.
    #[test]
    fn a_group_reaches_a_session_once_a_day() {
        const HOUR: i64 = 3_600_000;
        // 22:30, 23:00 and 23:30 UTC on 31 December 2025: 23:30, then 00:00
        // and 00:30 of the new year in Berlin.
        let evening = 1_767_220_200_000;
        let rows = vec![
            error("a", evening, "Boom", 1, "Chrome"),
            error("a", evening + HOUR / 2, "Boom", 1, "Chrome"),
            error("a", evening + HOUR, "Boom", 1, "Chrome"),
        ];
        let berlin = chrono_tz::Europe::Berlin;
        let groups = group(&rows, 1, 10, berlin, &[], &[]);
        assert_eq!((groups[0].count, groups[0].sessions), (3, 2));
        assert_eq!(totals(&rows, 10, berlin).sessions_affected, 2);
        assert_eq!(totals(&rows, 10, chrono_tz::UTC).sessions_affected, 1);
    }

    #[test]
    fn occurrences_group_by_fingerprint_with_reach_days_and_funnel_impact() {
        const DAY: i64 = 86_400_000;
        let rows = vec![
            error("a", 1_000, "Failed to load item 12", 42, "Safari"),
            error("a", 2_000, "Failed to load item 13", 42, "Safari"),
            error("b", DAY + 5, "Failed to load item 99", 43, "Chrome"),
            error("c", DAY + 9, "Something else", 7, "Chrome"),
        ];
        // Four visits entered (a, b, x, y), three converted (x, y, b); of
        // those with errors, a entered and b entered and converted.
        let funnel = FunnelVisits {
            name: "Checkout".into(),
            entered: 4,
            converted: 3,
            entered_with_errors: ["a", "b"].map(String::from).into_iter().collect(),
            converted_with_errors: ["b"].map(String::from).into_iter().collect(),
        };
        // Hours of the first two days: the series counts each, empty ones too.
        let hours = crate::reports::buckets::buckets(
            0,
            2 * DAY,
            sonde_protocol::Granularity::Hour,
            chrono_tz::UTC,
        );
        // Every browser and page named: k = 1.
        let groups = group(&rows, 1, 10, chrono_tz::UTC, &hours, &[funnel]);
        assert_eq!(groups.len(), 2, "line numbers do not split a group");
        let g = &groups[0];
        assert_eq!(g.message, "Failed to load item <n>");
        assert_eq!(g.top_frame.as_deref(), Some("render@/checkout.js"));
        assert_eq!((g.count, g.sessions), (3, 2));
        assert!((g.session_share - 0.2).abs() < 1e-9);
        assert_eq!((g.first_seen, g.last_seen), (1_000, DAY + 5));
        let days: Vec<(&str, u64)> = g
            .per_day
            .iter()
            .map(|d| (d.label.as_str(), d.count))
            .collect();
        assert_eq!(days, [("1970-01-01", 2), ("1970-01-02", 1)]);
        assert_eq!(g.series.len(), 48);
        assert_eq!(
            (g.series[0].label.as_str(), g.series[0].count),
            ("1970-01-01T00:00", 2)
        );
        assert_eq!(g.series[24].count, 1);
        assert_eq!(g.series.iter().map(|p| p.count).sum::<u64>(), 3);
        assert_eq!(
            g.browsers[0],
            LabelCount {
                label: "Safari".into(),
                count: 2
            }
        );
        let impact = &g.funnels[0];
        assert_eq!(
            impact.with_error,
            Conversion::new(2, 1),
            "a gave up, b bought"
        );
        assert_eq!(impact.without_error, Conversion::new(2, 2));
    }

    #[test]
    fn a_browser_or_page_of_fewer_than_k_visitors_is_counted_not_named() {
        let mut rows = Vec::new();
        // Three visitors in Chrome on /checkout; one in a rare browser on
        // a page of its own.
        for session in ["a", "b", "c"] {
            rows.push(error(session, 1_000, "Boom", 1, "Chrome"));
        }
        let mut rare = error("d", 2_000, "Boom", 1, "Pale Moon");
        rare.path = "/account/export".into();
        rows.push(rare.clone());
        rows.push(ErrorRow { ts: 3_000, ..rare });
        let g = &group(&rows, 3, 10, chrono_tz::UTC, &[], &[])[0];
        assert_eq!(g.count, 5);
        let named = |rows: &[LabelCount]| {
            rows.iter()
                .map(|r| (r.label.clone(), r.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(named(&g.browsers), [("Chrome".into(), 3)]);
        assert_eq!(g.browsers_hidden, 2, "Pale Moon's two errors, one visitor");
        assert_eq!(named(&g.pages), [("/checkout".into(), 3)]);
        assert_eq!(g.pages_hidden, 2);
    }
}
