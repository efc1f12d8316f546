//! Web vitals (`performance`): LCP, INP, CLS, FCP and TTFB, observed with
//! `PerformanceObserver` once `performance` is granted (buffered, so what
//! happened before counts) and reported once per page load, with their final
//! values, when the page is first hidden.
//!
//! The definitions follow web.dev's: LCP is the last largest-contentful-paint
//! entry before the first input; CLS the largest session window of layout
//! shifts not caused by input (gaps under 1 s, windows at most 5 s); INP the
//! longest interaction (an exact p98 needs more than 50 interactions, which
//! few pages see); FCP the first-contentful-paint entry; TTFB the navigation's
//! `responseStart`.
//!
//! Kept in the collector rather than in a module loaded on grant, for the
//! same reason as errors: a second module's glue costs more (BENCHMARKS.md).

use sonde_protocol::{EventData, Vital};
use wasm_bindgen::JsValue;

use crate::browser::{self, call0, call1, get, text};
use crate::{enqueue, with};

/// The entry types observed, with the options `observe` takes for each.
const OBSERVED: [&str; 5] = [
    r#"{"type":"largest-contentful-paint","buffered":true}"#,
    r#"{"type":"paint","buffered":true}"#,
    r#"{"type":"layout-shift","buffered":true}"#,
    r#"{"type":"event","buffered":true,"durationThreshold":40}"#,
    r#"{"type":"first-input","buffered":true}"#,
];

#[derive(Default)]
struct Measured {
    lcp: Option<f64>,
    lcp_final: bool,
    fcp: Option<f64>,
    inp: Option<f64>,
    cls: f64,
    cls_seen: bool,
    window_value: f64,
    window_start: f64,
    window_last: f64,
}

pub struct Vitals {
    measured: Measured,
    observers: Vec<JsValue>,
    reported: bool,
}

impl Vitals {
    /// Starts observing. Entry types this browser does not know are skipped.
    pub fn observe() -> Vitals {
        let callback = browser::callback(Box::new(|list| {
            let entries = call0(&list, "getEntries");
            with(|state| {
                if let Some(vitals) = &mut state.vitals {
                    vitals.measured.record_all(&entries);
                }
            });
        }));
        let mut observers = Vec::new();
        for options in OBSERVED {
            let observer = browser::construct("PerformanceObserver", &callback);
            // `observe` throws for a type this browser does not know; the
            // call catches it, and that observer stays empty.
            call1(&observer, "observe", &browser::parse(options));
            observers.push(observer);
        }
        Vitals {
            measured: Measured::default(),
            observers,
            reported: false,
        }
    }

    /// The final values, once per page load; `None` after the first call.
    fn take_final(&mut self) -> Option<Vec<(Vital, f64)>> {
        if self.reported {
            return None;
        }
        self.reported = true;
        for observer in &self.observers {
            // Entries recorded but not yet dispatched to the callback.
            let pending = call0(observer, "takeRecords");
            self.measured.record_all(&pending);
            call0(observer, "disconnect");
        }
        let m = &self.measured;
        let mut values = Vec::new();
        let mut put = |vital, value: Option<f64>| {
            if let Some(v) = value.filter(|v| v.is_finite() && *v >= 0.0) {
                values.push((vital, round(v, vital)));
            }
        };
        put(Vital::Ttfb, ttfb());
        put(Vital::Fcp, m.fcp);
        put(Vital::Lcp, m.lcp);
        put(Vital::Cls, Some(if m.cls_seen { m.cls } else { 0.0 }));
        put(Vital::Inp, m.inp);
        Some(values)
    }
}

impl Measured {
    fn record_all(&mut self, entries: &JsValue) {
        let length = get(entries, "length").as_f64().unwrap_or(0.0) as u32;
        for i in 0..length {
            self.record(&browser::get_index(entries, i));
        }
    }

    fn record(&mut self, entry: &JsValue) {
        let number = |key: &str| get(entry, key).as_f64().unwrap_or(0.0);
        let at = number("startTime");
        match text(entry, "entryType").as_deref() {
            Some("largest-contentful-paint") if !self.lcp_final => self.lcp = Some(at),
            Some("paint") if text(entry, "name").as_deref() == Some("first-contentful-paint") => {
                self.fcp = Some(at)
            }
            Some("layout-shift") if !get(entry, "hadRecentInput").is_truthy() => {
                let value = number("value");
                self.cls_seen = true;
                if self.window_value > 0.0
                    && at - self.window_last < 1_000.0
                    && at - self.window_start < 5_000.0
                {
                    self.window_value += value;
                } else {
                    self.window_value = value;
                    self.window_start = at;
                }
                self.window_last = at;
                self.cls = self.cls.max(self.window_value);
            }
            Some(kind @ ("event" | "first-input")) => {
                // An input ends what counts as the largest contentful paint.
                self.lcp_final = self.lcp.is_some();
                if number("interactionId") > 0.0 || kind == "first-input" {
                    self.inp = Some(self.inp.unwrap_or(0.0).max(number("duration")));
                }
            }
            _ => {}
        }
    }
}

/// Queues the final values, the first time the page is hidden.
pub fn report_final() {
    let finals = with(|state| state.vitals.as_mut().and_then(Vitals::take_final)).flatten();
    for (metric, value) in finals.unwrap_or_default() {
        enqueue(EventData::Vital { metric, value });
    }
}

/// CLS keeps four decimals, the timings whole milliseconds.
fn round(value: f64, vital: Vital) -> f64 {
    match vital {
        Vital::Cls => (value * 10_000.0).round() / 10_000.0,
        _ => value.round(),
    }
}

fn ttfb() -> Option<f64> {
    let performance = browser::global_get("performance");
    let entries = call1(&performance, "getEntriesByType", &"navigation".into());
    let start = get(&browser::get_index(&entries, 0), "responseStart").as_f64()?;
    (start > 0.0).then_some(start)
}
