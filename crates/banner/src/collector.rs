//! The collector as the banner sees it: the module `sonde.js` put on
//! `window.sonde` (see the collector's `embed` module).

use sonde_browser::{call0, call1, call2, settle};
use wasm_bindgen::JsValue;

/// The running collector.
#[derive(Clone, Debug)]
pub struct Sonde(pub JsValue);

impl Sonde {
    /// Records the decision and applies it at once.
    pub fn decide(&self, [usage, errors, performance, marketing]: [bool; 4], source: &str) {
        let decide = sonde_browser::get(&self.0, "decide");
        // Five arguments: more than the door's `call` passes, so `apply`.
        let arguments = sonde_browser::parse("[]");
        for granted in [usage, errors, performance, marketing] {
            call1(&arguments, "push", &granted.into());
        }
        call1(&arguments, "push", &source.into());
        call2(&decide, "apply", &self.0, &arguments);
    }

    /// Whether a category is granted now.
    pub fn granted(&self, category: &str) -> bool {
        call1(&self.0, "granted", &category.into()).is_truthy()
    }

    /// Whether the browser sends Global Privacy Control.
    pub fn gpc(&self) -> bool {
        call0(&self.0, "gpc").is_truthy()
    }

    /// "Erase my data": `done` gets `{ eventsDeleted, consentRecordsDeleted }`,
    /// or the reason nothing was erased (`"unreachable"` or `"refused"`).
    pub fn erase(&self, done: Box<dyn FnOnce(JsValue)>) {
        settle(&call0(&self.0, "erase"), done);
    }
}
