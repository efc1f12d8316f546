//! The collector as a site sees it from JavaScript, through the script tag:
//! `sonde.js` loads this module, calls [`start`], and puts the module itself
//! on `window.sonde`, replaying calls the page queued before.
//!
//! ```html
//! <script src="https://sonde.example/sonde.js" data-site="KEY" async></script>
//! <script>
//!   (window.sonde = window.sonde || []).push(["track", "signup", { plan: "pro" }]);
//!   // once loaded: sonde.track("purchase", { items: 2 }, 67.5)
//! </script>
//! ```
//!
//! The banner, a separate module loaded only when needed, uses the same
//! functions to read and record the decision and to erase the visitor's
//! data. Free functions rather than a class: a class costs glue of its own.
//! Each decision is announced with a `sonde:consent` event on `window`
//! (the Leptos integration and any page script can follow it).

use std::rc::Rc;

use sonde_protocol::{Category, DecisionSource, Grants, PropValue, Props};
use wasm_bindgen::prelude::*;

use crate::browser::{self, call1, call2, call3, get};
use crate::{Collector, DeliveryOptions, Options, with};

/// The name of the event announcing the decision in force.
pub const DECISION_EVENT: &str = "sonde:consent";

/// Starts the collector for the script tag's site. `open_banner(source)` is
/// called with `"banner"` or `"settings"` when the banner must be shown;
/// `early_errors` are the error events the loader caught before this ran.
#[wasm_bindgen]
pub fn start(
    site: String,
    api: String,
    policy_version: u32,
    settings_button: bool,
    google_consent_mode: bool,
    open_banner: JsValue,
    early_errors: JsValue,
) {
    let options = Options {
        site,
        api,
        policy_version,
        delivery: DeliveryOptions::default(),
        settings_button,
        google_consent_mode,
    };
    let open: crate::OpenBanner = Rc::new(move |source: DecisionSource| {
        call2(
            &open_banner,
            "call",
            &JsValue::NULL,
            &source.as_str().into(),
        );
    });
    Collector::start(options, open);
    crate::errors::replay(&early_errors);
}

/// `sonde.track(name, props?, value?)`: a custom event; `props` is a flat
/// object of strings, numbers and booleans, `value` a number such as
/// revenue.
#[wasm_bindgen]
pub fn track(name: &str, props: JsValue, value: JsValue) {
    Collector::PAGE.track(name, props_from_js(&props), value.as_f64());
}

/// Records a decision made in the banner (`source` `"banner"`) or the
/// settings (`"settings"`).
#[wasm_bindgen]
pub fn decide(usage: bool, errors: bool, performance: bool, marketing: bool, source: &str) {
    let source = if source == "settings" {
        DecisionSource::Settings
    } else {
        DecisionSource::Banner
    };
    let grants = Grants {
        usage,
        errors,
        performance,
        marketing,
    };
    Collector::PAGE.decide(grants, source);
}

/// Whether `category` (`"usage"`, `"errors"`, …) is granted now.
#[wasm_bindgen]
pub fn granted(category: &str) -> bool {
    let grants = Collector::PAGE.grants();
    Category::OPTIONAL
        .iter()
        .any(|c| c.as_str() == category && grants.allows(*c))
}

/// Whether the visitor has decided under the current policy version.
#[wasm_bindgen(js_name = hasDecision)]
pub fn has_decision() -> bool {
    Collector::PAGE.decision().is_some()
}

/// Whether the browser sends Global Privacy Control.
#[wasm_bindgen]
pub fn gpc() -> bool {
    Collector::PAGE.gpc()
}

/// Opens the privacy settings.
#[wasm_bindgen(js_name = openSettings)]
pub fn open_settings() {
    Collector::PAGE.open_settings();
}

/// "Erase my data": resolves to `{ eventsDeleted, consentRecordsDeleted }`,
/// or rejects with why nothing was erased (`"unreachable"`, `"refused"`).
#[wasm_bindgen]
pub fn erase() -> JsValue {
    let pending = call1(
        &browser::global_get("Promise"),
        "withResolvers",
        &JsValue::UNDEFINED,
    );
    let (resolve, reject) = (get(&pending, "resolve"), get(&pending, "reject"));
    Collector::PAGE.erase(Box::new(move |outcome| {
        let (settle, value) = match outcome {
            Ok(receipt) => {
                let mut json = String::from("{\"eventsDeleted\":");
                sonde_protocol::json::int(&mut json, receipt.events_deleted as i64);
                json.push_str(",\"consentRecordsDeleted\":");
                sonde_protocol::json::int(&mut json, receipt.consent_records_deleted as i64);
                json.push('}');
                (resolve, browser::parse(&json))
            }
            Err(failure) => (reject, failure.as_str().into()),
        };
        call2(&settle, "call", &JsValue::NULL, &value);
        announce_decision();
    }));
    get(&pending, "promise")
}

/// Sends what is queued now.
#[wasm_bindgen]
pub fn flush() {
    Collector::PAGE.flush();
}

/// Number of events waiting to be sent.
#[wasm_bindgen]
pub fn queued() -> usize {
    Collector::PAGE.queued()
}

/// A flat JS object as properties; other values are dropped with a warning.
fn props_from_js(props: &JsValue) -> Props {
    let mut out = Props::new();
    if props.is_undefined() || props.is_null() {
        return out;
    }
    if !props.is_object() {
        browser::warn("Sonde: event properties must be an object; they were dropped");
        return out;
    }
    let entries = browser::call1(&browser::global_get("Object"), "entries", props);
    let length = get(&entries, "length").as_f64().unwrap_or(0.0) as u32;
    for i in 0..length {
        let entry = browser::get_index(&entries, i);
        let Some(key) = browser::get_index(&entry, 0).as_string() else {
            continue;
        };
        let value = browser::get_index(&entry, 1);
        let value = if let Some(s) = value.as_string() {
            PropValue::Text(s)
        } else if let Some(n) = value.as_f64() {
            PropValue::Number(n)
        } else if let Some(b) = value.as_bool() {
            PropValue::Bool(b)
        } else {
            browser::warn(
                &("Sonde: property \"".to_owned()
                    + &key
                    + "\" must be a string, number or boolean; it was dropped"),
            );
            continue;
        };
        out.insert(key, value);
    }
    out
}

/// Tells the page the decision in force: a `sonde:consent` event on
/// `window`, and Google Consent Mode v2 when the site asked for it.
pub fn announce_decision() {
    let Some((decided, grants, google)) = with(|s| {
        (
            s.decision.is_some(),
            s.grants(),
            s.options.google_consent_mode,
        )
    }) else {
        return;
    };
    let window = browser::global();
    call1(
        &window,
        "dispatchEvent",
        &browser::construct("Event", &DECISION_EVENT.into()),
    );
    if google && decided {
        google_consent_update(&window, grants);
    }
}

/// `gtag('consent', 'update', …)` with the grants mapped to Consent Mode
/// v2, when `gtag` is on the page.
fn google_consent_update(window: &JsValue, grants: Grants) {
    let state = |granted: bool| if granted { "\"granted\"" } else { "\"denied\"" };
    let marketing = state(grants.marketing);
    let update = "{\"analytics_storage\":".to_owned()
        + state(grants.usage)
        + ",\"ad_storage\":"
        + marketing
        + ",\"ad_user_data\":"
        + marketing
        + ",\"ad_personalization\":"
        + marketing
        + "}";
    call3(
        window,
        "gtag",
        &"consent".into(),
        &"update".into(),
        &browser::parse(&update),
    );
}
