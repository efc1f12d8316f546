//! How a visitor reopens their choices: any element with the
//! `data-sonde-settings` attribute, and a small floating "Privacy" button the
//! site can turn off (`data-settings-button="off"` on the script tag).

use wasm_bindgen::JsValue;

use crate::Collector;
use crate::browser::{self, call0, call1, call2};
use crate::capture::closest;

/// The attribute that turns any element into a privacy settings link.
pub const SETTINGS_ATTRIBUTE: &str = "data-sonde-settings";

const BUTTON_ID: &str = "sonde-settings-button";
const BUTTON_STYLE: &str = "position:fixed;left:12px;bottom:12px;z-index:2147483000;\
    font:500 13px/1.2 system-ui,sans-serif;padding:8px 12px;border-radius:999px;\
    border:1px solid #4a4a5a;background:#fff;color:#1d1d2b;cursor:pointer;\
    box-shadow:0 1px 4px rgba(0,0,0,.2)";

/// A click on a settings link (elements added later count too, since the
/// click is seen on the document) opens the settings.
pub fn opened_by(event: &JsValue, target: &JsValue) -> bool {
    if closest(target, "[data-sonde-settings]").is_none() {
        return false;
    }
    call0(event, "preventDefault");
    Collector::PAGE.open_settings();
    true
}

/// Adds the floating button unless it is there already.
pub fn show_button() {
    let document = browser::document();
    if call1(&document, "getElementById", &BUTTON_ID.into()).is_object() {
        return;
    }
    let button = call1(&document, "createElement", &"button".into());
    browser::set(&button, "id", &BUTTON_ID.into());
    browser::set(&button, "textContent", &"Privacy".into());
    for (name, value) in [
        ("type", "button"),
        ("aria-label", "Privacy settings"),
        (SETTINGS_ATTRIBUTE, ""),
        ("style", BUTTON_STYLE),
    ] {
        call2(&button, "setAttribute", &name.into(), &value.into());
    }
    call1(&browser::get(&document, "body"), "append", &button);
}
