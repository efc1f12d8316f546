//! Posting JSON to Sonde's API: `fetch` with `keepalive` while the page
//! lives, `sendBeacon` when it is being hidden or closed.
//!
//! Bodies go as `text/plain`, which keeps every request a CORS "simple
//! request": no preflight round trip, and `sendBeacon` can send it
//! cross-origin. Completion is a callback on the fetch promise rather than
//! an `async fn`: an executor costs kilobytes the collector cannot spare.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{RequestInit, Response};

const CONTENT_TYPE: &str = "text/plain;charset=UTF-8";

/// How a post ended.
pub enum Outcome {
    /// A 2xx, with the response body.
    Accepted(String),
    /// A 4xx the server will answer again: sending again will not help.
    Refused(u16),
    /// Offline, a 5xx, or rate limited: try again later.
    Failed,
}

/// Posts `body` and calls `done` with the outcome, exactly once.
pub fn post(endpoint: &str, body: &str, done: impl FnOnce(Outcome) + 'static) {
    let Some(window) = web_sys::window() else {
        return done(Outcome::Failed);
    };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.into());
    // keepalive lets the request outlive the page, so the last batch of a
    // page that is being closed still arrives. (web-sys has no setter.)
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("content-type", CONTENT_TYPE);
        init.set_headers(&headers);
    }
    let request = window.fetch_with_str_and_init(endpoint, &init);
    settle(&request, move |response| {
        // A rejection (offline, blocked) is not a Response.
        let Ok(response) = response.dyn_into::<Response>() else {
            return done(Outcome::Failed);
        };
        match response.status() {
            200..=299 => match response.text() {
                Ok(text) => settle(&text, move |text| {
                    done(Outcome::Accepted(text.as_string().unwrap_or_default()))
                }),
                Err(_) => done(Outcome::Accepted(String::new())),
            },
            429 | 503 => done(Outcome::Failed),
            status @ 400..=499 => done(Outcome::Refused(status)),
            _ => done(Outcome::Failed),
        }
    });
}

/// Calls `f` once with what `promise` resolves or rejects to. One callback
/// for both, so it is always called and its memory always released.
fn settle(promise: &js_sys::Promise, f: impl FnOnce(JsValue) + 'static) {
    let callback = Closure::once_into_js(f);
    let then = js_sys::Reflect::get(promise, &"then".into())
        .ok()
        .and_then(|then| then.dyn_into::<js_sys::Function>().ok());
    if let Some(then) = then {
        let _ = then.call2(promise, &callback, &callback);
    }
}

/// Hands `body` to the browser to deliver even as the page goes away.
/// `false` when the browser would not take it (too large, or no beacon).
pub fn beacon(endpoint: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let parts = js_sys::Array::of1(&body.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(CONTENT_TYPE);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return false;
    };
    window
        .navigator()
        .send_beacon_with_opt_blob(endpoint, Some(&blob))
        .unwrap_or(false)
}
