//! Sonde's consent banner and privacy settings, as a module of its own that
//! `sonde.js` loads only when a decision is needed or the visitor opens the
//! settings. No UI framework: the markup comes from a template
//! ([`markup`]), one delegated handler per event kind answers every button
//! ([`dialog`]), and what it says comes from [`wording`]. It talks to the
//! collector only through the collector's JavaScript face, `window.sonde`
//! ([`collector::Sonde`]), so the two are separate downloads.

mod collector;
mod dialog;
pub mod markup;
mod style;
pub mod wording;

use wasm_bindgen::prelude::*;

pub use collector::Sonde;

/// Shows the banner (`source` `"banner"`: no decision yet) or the privacy
/// settings (`"settings"`) for the collector `sonde`. `wording` is the
/// site's banner settings as the server answers them (`title`, `text`,
/// `policy_url`, each optional); `lang` forces a language (`data-lang` on
/// the script tag) or is empty to follow the browser's.
#[wasm_bindgen]
pub fn open(source: &str, sonde: JsValue, wording: JsValue, lang: &str) {
    let mode = if source == "settings" {
        markup::Mode::Settings
    } else {
        markup::Mode::Banner
    };
    dialog::open(mode, Sonde(sonde), site_wording(&wording), language(lang));
}

fn site_wording(value: &JsValue) -> wording::SiteWording {
    let text = |key: &str| sonde_browser::text(value, key).filter(|s| !s.trim_ascii().is_empty());
    wording::SiteWording {
        title: text("title"),
        text: text("text"),
        policy_url: text("policy_url"),
    }
}

fn language(forced: &str) -> wording::Language {
    if let Some(language) = wording::Language::from_tag(forced) {
        return language;
    }
    let preferred = sonde_browser::get(&sonde_browser::global_get("navigator"), "languages");
    let count = sonde_browser::get(&preferred, "length")
        .as_f64()
        .unwrap_or(0.0) as u32;
    let tags: Vec<String> = (0..count)
        .filter_map(|i| sonde_browser::get_index(&preferred, i).as_string())
        .collect();
    wording::Language::choose(tags.iter().map(String::as_str))
}
