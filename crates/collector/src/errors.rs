//! Automatic capture of JavaScript errors (`errors`): uncaught exceptions
//! and unhandled promise rejections, with message, source, line, column and
//! stack. Everything is scrubbed and truncated before it is queued.

use std::cell::RefCell;
use std::rc::Weak;

use sonde_protocol::{ErrorReport, EventData};
use wasm_bindgen::JsValue;

use crate::browser::{Listener, get};
use crate::{Collector, State};

pub struct Errors {
    _error: Listener,
    _rejection: Listener,
}

impl Errors {
    pub fn install(collector: Weak<RefCell<State>>) -> Option<Errors> {
        let window = web_sys::window()?;
        let on_error = collector.clone();
        let error = Listener::new(&window, "error", false, move |event| {
            report(&on_error, &event);
        });
        let rejection = Listener::new(&window, "unhandledrejection", false, move |event| {
            report(&collector, &event);
        });
        Some(Errors {
            _error: error,
            _rejection: rejection,
        })
    }
}

fn report(collector: &Weak<RefCell<State>>, event: &JsValue) {
    if let (Some(c), Some(report)) = (Collector::from_weak(collector), describe(event)) {
        c.enqueue(EventData::Error(report));
    }
}

/// What an `error` or `unhandledrejection` event says, or `None` for what
/// says nothing (a resource that failed to load, a cross-origin "Script
/// error." whose details the browser hides).
pub fn describe(event: &JsValue) -> Option<ErrorReport> {
    let rejection = get(event, "type").as_string().as_deref() == Some("unhandledrejection");
    let (message, stack) = if rejection {
        let reason = get(event, "reason");
        let message = get(&reason, "message")
            .as_string()
            .or_else(|| reason.as_string())
            .or_else(|| js_sys::JSON::stringify(&reason).ok().map(String::from))
            .unwrap_or_else(|| "unhandled rejection".to_owned());
        (message, get(&reason, "stack").as_string())
    } else {
        let message = get(event, "message").as_string()?;
        (message, get(&get(event, "error"), "stack").as_string())
    };
    if message.is_empty() || message == "Script error." {
        return None;
    }
    let number = |key: &str| {
        get(event, key)
            .as_f64()
            .map(|n| n as u32)
            .filter(|n| *n > 0)
    };
    Some(ErrorReport {
        message,
        source: get(event, "filename").as_string().filter(|s| !s.is_empty()),
        line: number("lineno"),
        column: number("colno"),
        stack,
        rejection,
    })
}

/// Replays errors the loader caught before the collector was running.
pub fn replay(collector: &Collector, early: &[JsValue]) {
    for report in early.iter().filter_map(describe) {
        collector.enqueue(EventData::Error(report));
    }
}
