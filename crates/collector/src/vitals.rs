//! Web vitals (`performance`): LCP, INP, CLS, FCP and TTFB, observed with
//! `PerformanceObserver` and reported once per page load, with their final
//! values, when the page is first hidden.
//!
//! The definitions follow web.dev's: LCP is the last largest-contentful-paint
//! entry before the first input; CLS the largest session window of layout
//! shifts not caused by input (gaps under 1 s, windows at most 5 s); INP the
//! longest interaction (an exact p98 needs more than 50 interactions, which
//! few pages see); FCP the first-contentful-paint entry; TTFB the navigation's
//! `responseStart`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use sonde_protocol::Vital;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::PerformanceObserver;

use crate::browser::get;

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

type OnEntry = Rc<dyn Fn(&mut Measured, &JsValue)>;

struct Observer {
    observer: PerformanceObserver,
    on_entry: OnEntry,
    _callback: Closure<dyn FnMut(JsValue)>,
}

pub struct Vitals {
    measured: Rc<RefCell<Measured>>,
    observers: Vec<Observer>,
    reported: bool,
}

impl Vitals {
    pub fn install() -> Vitals {
        let measured = Rc::new(RefCell::new(Measured::default()));
        let mut vitals = Vitals {
            measured,
            observers: Vec::new(),
            reported: false,
        };
        vitals.observe("largest-contentful-paint", None, |m, entry| {
            if !m.lcp_final {
                m.lcp = Some(start_time(entry));
            }
        });
        vitals.observe("paint", None, |m, entry| {
            if get(entry, "name").as_string().as_deref() == Some("first-contentful-paint") {
                m.fcp = Some(start_time(entry));
            }
        });
        vitals.observe("layout-shift", None, |m, entry| {
            if get(entry, "hadRecentInput").is_truthy() {
                return;
            }
            let (value, at) = (
                get(entry, "value").as_f64().unwrap_or(0.0),
                start_time(entry),
            );
            m.cls_seen = true;
            if m.window_value > 0.0 && at - m.window_last < 1_000.0 && at - m.window_start < 5_000.0
            {
                m.window_value += value;
            } else {
                m.window_value = value;
                m.window_start = at;
            }
            m.window_last = at;
            m.cls = m.cls.max(m.window_value);
        });
        let on_interaction = |m: &mut Measured, entry: &JsValue| {
            // An input ends what counts as the largest contentful paint.
            m.lcp_final = m.lcp.is_some();
            let interaction = get(entry, "interactionId").as_f64().unwrap_or(0.0);
            if interaction > 0.0
                || get(entry, "entryType").as_string().as_deref() == Some("first-input")
            {
                let duration = get(entry, "duration").as_f64().unwrap_or(0.0);
                m.inp = Some(m.inp.unwrap_or(0.0).max(duration));
            }
        };
        vitals.observe("event", Some(40.0), on_interaction);
        vitals.observe("first-input", None, on_interaction);
        vitals
    }

    fn observe(
        &mut self,
        entry_type: &str,
        duration_threshold: Option<f64>,
        on_entry: impl Fn(&mut Measured, &JsValue) + 'static,
    ) {
        let on_entry: OnEntry = Rc::new(on_entry);
        let (measured, handler) = (Rc::clone(&self.measured), Rc::clone(&on_entry));
        let callback = Closure::<dyn FnMut(JsValue)>::new(move |list: JsValue| {
            let entries: Array = Reflect::get(&list, &"getEntries".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|f| f.call0(&list).ok())
                .map(|entries| Array::from(&entries))
                .unwrap_or_default();
            let mut m = measured.borrow_mut();
            for entry in entries.iter() {
                handler(&mut m, &entry);
            }
        });
        let Ok(observer) = PerformanceObserver::new(callback.as_ref().unchecked_ref()) else {
            return;
        };
        let options = Object::new();
        let _ = Reflect::set(&options, &"type".into(), &entry_type.into());
        let _ = Reflect::set(&options, &"buffered".into(), &true.into());
        if let Some(threshold) = duration_threshold {
            let _ = Reflect::set(&options, &"durationThreshold".into(), &threshold.into());
        }
        // Throws for entry types this browser does not know; skip those.
        let observe = get(&observer, "observe").dyn_into::<js_sys::Function>();
        if let Ok(observe) = observe
            && observe.call1(&observer, &options).is_ok()
        {
            self.observers.push(Observer {
                observer,
                on_entry,
                _callback: callback,
            });
        }
    }

    /// The final values, once per page load; `None` after the first call.
    pub fn take_final(&mut self) -> Option<Vec<(Vital, f64)>> {
        if self.reported {
            return None;
        }
        self.reported = true;
        let mut m = self.measured.borrow_mut();
        for Observer {
            observer, on_entry, ..
        } in &self.observers
        {
            // Entries recorded but not yet dispatched to the callback.
            let pending = observer.take_records();
            for entry in pending.iter() {
                on_entry(&mut m, &entry);
            }
            observer.disconnect();
        }
        let mut values = Vec::new();
        let mut put = |vital, value: Option<f64>| {
            if let Some(v) = value.filter(|v| v.is_finite() && *v >= 0.0) {
                values.push((vital, round(v, vital)));
            }
        };
        put(Vital::Ttfb, ttfb());
        put(Vital::Fcp, m.fcp);
        put(Vital::Lcp, m.lcp);
        put(Vital::Cls, m.cls_seen.then_some(m.cls).or(Some(0.0)));
        put(Vital::Inp, m.inp);
        Some(values)
    }
}

fn start_time(entry: &JsValue) -> f64 {
    get(entry, "startTime").as_f64().unwrap_or(0.0)
}

/// CLS keeps four decimals, the timings whole milliseconds.
fn round(value: f64, vital: Vital) -> f64 {
    match vital {
        Vital::Cls => (value * 10_000.0).round() / 10_000.0,
        _ => value.round(),
    }
}

fn ttfb() -> Option<f64> {
    let performance = web_sys::window()?.performance()?;
    let entry = performance.get_entries_by_type("navigation").get(0);
    let start = get(&entry, "responseStart").as_f64()?;
    (start > 0.0).then_some(start)
}
