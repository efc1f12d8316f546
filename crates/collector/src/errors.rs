//! Automatic capture of JavaScript errors (`errors`): uncaught exceptions
//! and unhandled promise rejections, with message, source, line, column and
//! stack. Everything is scrubbed and truncated before it is queued.
//!
//! The listeners are installed when the collector starts and report only
//! while `errors` is granted; errors thrown before the collector was ready
//! were kept by the loader and are replayed by [`replay`].
//!
//! Kept in the collector rather than in a module loaded on grant: this is
//! under a kilobyte, less than a second module's own glue (BENCHMARKS.md).

use sonde_protocol::{ErrorReport, EventData};
use wasm_bindgen::JsValue;

use crate::browser::{self, get, text};
use crate::enqueue;

pub fn listen() {
    for kind in ["error", "unhandledrejection"] {
        browser::listen(&browser::global(), kind, false, Box::new(report));
    }
}

/// Replays errors the loader caught before the collector was running.
pub fn replay(early: &JsValue) {
    let length = get(early, "length").as_f64().unwrap_or(0.0) as u32;
    for i in 0..length {
        report(browser::get_index(early, i));
    }
}

fn report(event: JsValue) {
    if let Some(report) = describe(&event) {
        // Queued only if `errors` is granted.
        enqueue(EventData::Error(report));
    }
}

/// What an `error` or `unhandledrejection` event says, or `None` for what
/// says nothing (a resource that failed to load, a cross-origin "Script
/// error." whose details the browser hides).
fn describe(event: &JsValue) -> Option<ErrorReport> {
    let rejection = text(event, "type").as_deref() == Some("unhandledrejection");
    let (message, stack) = if rejection {
        let reason = get(event, "reason");
        let message = text(&reason, "message")
            .or_else(|| reason.as_string())
            .or_else(|| browser::stringify(&reason))
            .unwrap_or_else(|| "unhandled rejection".to_owned());
        (message, text(&reason, "stack"))
    } else {
        let message = text(event, "message")?;
        (message, text(&get(event, "error"), "stack"))
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
        source: text(event, "filename").filter(|s| !s.is_empty()),
        line: number("lineno"),
        column: number("colno"),
        stack,
        rejection,
    })
}
