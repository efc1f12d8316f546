//! Sonde for Leptos sites. A Leptos site loads the same embed as any other
//! site (the script tag's loader, collector and banner), so its visitors
//! meet the same banner, not a second one; this crate only drives it:
//!
//! - [`load_embed`] adds the script tag, once;
//! - [`use_consent`] is the visitor's decision in force, as a signal that
//!   follows every decision and withdrawal (the embed announces each with a
//!   `sonde:consent` event on `window`);
//! - [`PrivacySettingsLink`] reopens the banner's settings, where the
//!   visitor changes their choice or erases their data.
//!
//! ```ignore
//! sonde_leptos::load_embed("https://sonde.example/sonde.js", "shop");
//! let consent = sonde_leptos::use_consent();
//! view! {
//!     <PrivacySettingsLink>"Privacy"</PrivacySettingsLink>
//!     <Show when=move || consent.get().grants.usage>"Thanks for helping us improve."</Show>
//! }
//! ```

use leptos::prelude::*;
use sonde_protocol::{Category, Grants};
use wasm_bindgen::{JsCast, JsValue};

/// The event the embed dispatches on `window` whenever the decision in
/// force changes (the collector's `embed::DECISION_EVENT`).
pub const DECISION_EVENT: &str = "sonde:consent";

/// The visitor's decision as the embed holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consent {
    /// The embed is running (its collector has loaded).
    pub running: bool,
    /// The visitor has decided under the site's current policy.
    pub decided: bool,
    /// What they granted; nothing before they decide.
    pub grants: Grants,
}

/// Adds Sonde's script tag for `site` to the page, unless it is there: the
/// loader at `script_url` (`https://sonde.example/sonde.js`) starts the
/// collector and, when a decision is needed, the banner.
pub fn load_embed(script_url: &str, site: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document
        .query_selector("script[data-sonde-embed]")
        .ok()
        .flatten()
        .is_some()
    {
        return;
    }
    let Ok(script) = document.create_element("script") else {
        return;
    };
    for (name, value) in [
        ("src", script_url),
        ("data-site", site),
        ("data-sonde-embed", ""),
        ("async", ""),
    ] {
        let _ = script.set_attribute(name, value);
    }
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}

/// The decision in force now, read from the running embed (`window.sonde`).
pub fn current_consent() -> Consent {
    let Some(sonde) =
        web_sys::window().and_then(|w| js_sys::Reflect::get(&w, &"sonde".into()).ok())
    else {
        return Consent::default();
    };
    let ask = |method: &str, argument: &JsValue| -> Option<bool> {
        let function = js_sys::Reflect::get(&sonde, &method.into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        function.call1(&sonde, argument).ok()?.as_bool()
    };
    let Some(decided) = ask("hasDecision", &JsValue::UNDEFINED) else {
        // The page's queue, before the collector has loaded.
        return Consent::default();
    };
    let granted = |category: Category| ask("granted", &category.as_str().into()) == Some(true);
    Consent {
        running: true,
        decided,
        grants: Grants {
            usage: granted(Category::Usage),
            errors: granted(Category::Errors),
            performance: granted(Category::Performance),
            marketing: granted(Category::Marketing),
        },
    }
}

/// The visitor's decision as a signal, updated on every decision, change
/// and withdrawal, for as long as the calling owner lives.
pub fn use_consent() -> ReadSignal<Consent> {
    let (consent, set_consent) = signal(current_consent());
    let handle = window_event_listener_untyped(DECISION_EVENT, move |_| {
        set_consent.set(current_consent());
    });
    on_cleanup(move || handle.remove());
    consent
}

/// A button that opens the visitor's privacy settings (the embed's banner,
/// with the choices in force and "erase my data").
#[component]
pub fn PrivacySettingsLink(
    /// Classes for the button, to style it like the site's links.
    #[prop(optional, into)]
    class: String,
    /// Its label, such as "Privacy".
    children: Children,
) -> impl IntoView {
    view! {
        <button type="button" class=class data-sonde-settings="">
            {children()}
        </button>
    }
}
