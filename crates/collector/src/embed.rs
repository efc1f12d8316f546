//! The collector as a site sees it from JavaScript, through the script tag:
//! `sonde.js` loads this module, calls [`start`], and puts the returned
//! [`Sonde`] on `window.sonde`, replaying calls the page queued before.
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
//! object to read and record the decision and to erase the visitor's data.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use sonde_protocol::{Category, DecisionSource, Grants, PropValue, Props};
use wasm_bindgen::prelude::*;

use crate::{Collector, DeliveryOptions, Options, browser};

/// The collector's JavaScript face, `window.sonde`.
#[wasm_bindgen]
pub struct Sonde {
    collector: Collector,
}

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
    open_banner: Function,
    early_errors: js_sys::Array,
) -> Sonde {
    let options = Options {
        site,
        api,
        policy_version,
        delivery: DeliveryOptions::default(),
        settings_button,
        google_consent_mode,
    };
    let open: crate::OpenBanner = Rc::new(move |source: DecisionSource| {
        let _ = open_banner.call1(&JsValue::NULL, &source.as_str().into());
    });
    let collector = Collector::start(options, open);
    let early: Vec<JsValue> = early_errors.iter().collect();
    crate::errors::replay(&collector, &early);
    Sonde { collector }
}

#[wasm_bindgen]
impl Sonde {
    /// `sonde.track(name, props?, value?)`: a custom event; `props` is a flat
    /// object of strings, numbers and booleans, `value` a number such as
    /// revenue.
    pub fn track(&self, name: &str, props: JsValue, value: JsValue) {
        self.collector
            .track(name, props_from_js(&props), value.as_f64());
    }

    /// Records a decision made in the banner (`source` `"banner"`) or the
    /// settings (`"settings"`).
    pub fn decide(
        &self,
        usage: bool,
        errors: bool,
        performance: bool,
        marketing: bool,
        source: &str,
    ) {
        let source = if source == "settings" {
            DecisionSource::Settings
        } else {
            DecisionSource::Banner
        };
        self.collector.decide(
            Grants {
                usage,
                errors,
                performance,
                marketing,
            },
            source,
        );
    }

    /// Whether `category` (`"usage"`, `"errors"`, …) is granted now.
    pub fn granted(&self, category: &str) -> bool {
        let grants = self.collector.grants();
        Category::OPTIONAL
            .iter()
            .any(|c| c.as_str() == category && grants.allows(*c))
    }

    /// Whether the visitor has decided under the current policy version.
    #[wasm_bindgen(js_name = hasDecision)]
    pub fn has_decision(&self) -> bool {
        self.collector.decision().is_some()
    }

    /// Whether the browser sends Global Privacy Control.
    pub fn gpc(&self) -> bool {
        self.collector.gpc()
    }

    /// Opens the privacy settings.
    #[wasm_bindgen(js_name = openSettings)]
    pub fn open_settings(&self) {
        self.collector.open_settings();
    }

    /// "Erase my data": resolves to `{ eventsDeleted, consentRecordsDeleted }`.
    pub fn erase(&self) -> js_sys::Promise {
        let collector = self.collector.clone();
        js_sys::Promise::new(&mut move |resolve, reject| {
            collector.erase(move |outcome| match outcome {
                Ok(receipt) => {
                    let result = Object::new();
                    let _ = Reflect::set(
                        &result,
                        &"eventsDeleted".into(),
                        &(receipt.events_deleted as f64).into(),
                    );
                    let _ = Reflect::set(
                        &result,
                        &"consentRecordsDeleted".into(),
                        &(receipt.consent_records_deleted as f64).into(),
                    );
                    let _ = resolve.call1(&JsValue::NULL, &result);
                }
                Err(message) => {
                    let _ = reject.call1(&JsValue::NULL, &message.into());
                }
            });
        })
    }

    /// Sends what is queued now.
    pub fn flush(&self) {
        self.collector.flush();
    }

    /// Number of events waiting to be sent.
    pub fn queued(&self) -> usize {
        self.collector.queued()
    }
}

/// A flat JS object as properties; other values are dropped with a warning.
fn props_from_js(props: &JsValue) -> Props {
    let mut out = Props::new();
    if props.is_undefined() || props.is_null() {
        return out;
    }
    let Some(object) = props.dyn_ref::<Object>() else {
        browser::warn("Sonde: event properties must be an object; they were dropped");
        return out;
    };
    for entry in Object::entries(object).iter() {
        let key = Reflect::get_u32(&entry, 0).ok().and_then(|k| k.as_string());
        let value = Reflect::get_u32(&entry, 1).unwrap_or(JsValue::UNDEFINED);
        let Some(key) = key else { continue };
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

/// `gtag('consent', 'update', …)` with the grants mapped to Consent Mode v2.
pub fn google_consent_update(grants: Grants) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(gtag) = browser::get(&window, "gtag").dyn_into::<Function>() else {
        return;
    };
    let state = |granted: bool| JsValue::from(if granted { "granted" } else { "denied" });
    let update = Object::new();
    for (key, granted) in [
        ("analytics_storage", grants.usage),
        ("ad_storage", grants.marketing),
        ("ad_user_data", grants.marketing),
        ("ad_personalization", grants.marketing),
    ] {
        let _ = Reflect::set(&update, &key.into(), &state(granted));
    }
    let _ = gtag.call3(&window, &"consent".into(), &"update".into(), &update);
}
