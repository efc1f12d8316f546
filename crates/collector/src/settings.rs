//! How a visitor reopens their choices: any element with the
//! `data-sonde-settings` attribute, and a small floating "Privacy" button the
//! site can turn off (`data-settings-button="off"` on the script tag).

use std::cell::RefCell;
use std::rc::Weak;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::browser::Listener;
use crate::{Collector, State};

/// The attribute that turns any element into a privacy settings link.
pub const SETTINGS_ATTRIBUTE: &str = "data-sonde-settings";

const BUTTON_ID: &str = "sonde-settings-button";
const BUTTON_STYLE: &str = "position:fixed;left:12px;bottom:12px;z-index:2147483000;\
    font:500 13px/1.2 system-ui,sans-serif;padding:8px 12px;border-radius:999px;\
    border:1px solid #4a4a5a;background:#fff;color:#1d1d2b;cursor:pointer;\
    box-shadow:0 1px 4px rgba(0,0,0,.2)";

/// The settings links, listened to on the document, so elements added later
/// work too.
pub fn listen(collector: Weak<RefCell<State>>) -> Option<Listener> {
    let document = web_sys::window()?.document()?;
    Some(Listener::new(&document, "click", true, move |event| {
        let link = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|e| e.closest("[data-sonde-settings]").ok().flatten());
        if let (Some(_), Some(c)) = (link, Collector::from_weak(&collector)) {
            event.prevent_default();
            c.open_settings();
        }
    }))
}

/// Adds the floating button unless it is there already.
pub fn show_button() -> Option<()> {
    let document = web_sys::window()?.document()?;
    if document.get_element_by_id(BUTTON_ID).is_some() {
        return Some(());
    }
    let button: HtmlElement = document.create_element("button").ok()?.dyn_into().ok()?;
    button.set_id(BUTTON_ID);
    button.set_text_content(Some("Privacy"));
    for (name, value) in [
        ("type", "button"),
        ("aria-label", "Privacy settings"),
        (SETTINGS_ATTRIBUTE, ""),
        ("style", BUTTON_STYLE),
    ] {
        button.set_attribute(name, value).ok()?;
    }
    document.body()?.append_child(&button).ok()?;
    Some(())
}
