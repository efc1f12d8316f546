//! The collector as the banner sees it: the object `sonde.js` put on
//! `window.sonde` (see the collector's `embed` module).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The running collector.
    #[derive(Clone, Debug)]
    pub type Sonde;

    /// Records the decision and applies it at once.
    #[wasm_bindgen(method)]
    pub fn decide(
        this: &Sonde,
        usage: bool,
        errors: bool,
        performance: bool,
        marketing: bool,
        source: &str,
    );

    /// Whether a category is granted now.
    #[wasm_bindgen(method)]
    pub fn granted(this: &Sonde, category: &str) -> bool;

    /// Whether the browser sends Global Privacy Control.
    #[wasm_bindgen(method)]
    pub fn gpc(this: &Sonde) -> bool;

    /// "Erase my data": resolves to `{ eventsDeleted, consentRecordsDeleted }`.
    #[wasm_bindgen(method)]
    pub fn erase(this: &Sonde) -> js_sys::Promise;
}
