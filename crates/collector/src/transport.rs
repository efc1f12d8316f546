//! Posting JSON to Sonde's API: `fetch` with `keepalive` while the page
//! lives, `sendBeacon` when it is being hidden or closed.
//!
//! Bodies go as `text/plain`, which keeps every request a CORS "simple
//! request": no preflight round trip, and `sendBeacon` can send it
//! cross-origin. Completion is a callback on the fetch promise rather than
//! an `async fn`: an executor costs kilobytes the collector cannot spare.

use crate::browser::{self, call2, get};

/// `keepalive` lets the request outlive the page, so the last batch of a
/// page that is being closed still arrives.
const INIT: &str =
    r#"{"method":"POST","keepalive":true,"headers":{"content-type":"text/plain;charset=UTF-8"}}"#;

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
pub fn post(endpoint: &str, body: &str, done: Box<dyn FnOnce(Outcome)>) {
    let init = browser::parse(INIT);
    browser::set(&init, "body", &body.into());
    let request = call2(&browser::global(), "fetch", &endpoint.into(), &init);
    if request.is_undefined() {
        return done(Outcome::Failed);
    }
    browser::settle(
        &request,
        Box::new(move |response| {
            // A rejection (offline, blocked) is an error, not a Response.
            let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
            match status {
                200..=299 => {
                    let text = browser::call0(&response, "text");
                    browser::settle(
                        &text,
                        Box::new(move |text| {
                            done(Outcome::Accepted(text.as_string().unwrap_or_default()))
                        }),
                    );
                }
                429 | 503 => done(Outcome::Failed),
                400..=499 => done(Outcome::Refused(status)),
                _ => done(Outcome::Failed),
            }
        }),
    );
}

/// Hands `body` to the browser to deliver even as the page goes away (a
/// string goes as `text/plain;charset=UTF-8`). `false` when the browser
/// would not take it (too large, or no beacon).
pub fn beacon(endpoint: &str, body: &str) -> bool {
    call2(
        &browser::global_get("navigator"),
        "sendBeacon",
        &endpoint.into(),
        &body.into(),
    )
    .is_truthy()
}
