//! Posting JSON to Sonde's API: `fetch` with `keepalive` while the page
//! lives, `sendBeacon` when it is being hidden or closed.
//!
//! Bodies go as `text/plain`, which keeps every request a CORS "simple
//! request": no preflight round trip, and `sendBeacon` can send it
//! cross-origin.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
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

pub async fn post(endpoint: &str, body: &str) -> Outcome {
    let Some(window) = web_sys::window() else {
        return Outcome::Failed;
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
    let Ok(response) = JsFuture::from(window.fetch_with_str_and_init(endpoint, &init)).await else {
        return Outcome::Failed;
    };
    let Ok(response) = response.dyn_into::<Response>() else {
        return Outcome::Failed;
    };
    match response.status() {
        200..=299 => {
            let text = match response.text() {
                Ok(promise) => JsFuture::from(promise).await.ok(),
                Err(_) => None,
            };
            Outcome::Accepted(text.and_then(|t| t.as_string()).unwrap_or_default())
        }
        429 | 503 => Outcome::Failed,
        status @ 400..=499 => Outcome::Refused(status),
        _ => Outcome::Failed,
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
