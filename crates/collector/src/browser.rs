//! Thin, infallible access to the browser APIs the collector needs. Every
//! function degrades to `None` where the API is missing or blocked.

use wasm_bindgen::JsCast;
use web_sys::Storage;

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn local_storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session_storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn location_href() -> Option<String> {
    web_sys::window()?.location().href().ok()
}

pub fn document_title() -> Option<String> {
    Some(web_sys::window()?.document()?.title())
}

/// The referring page's host, when it is another site.
pub fn external_referrer_host() -> Option<String> {
    let window = web_sys::window()?;
    let referrer = sonde_protocol::scrub::referrer_host(&window.document()?.referrer())?;
    let own = window.location().hostname().ok()?;
    (referrer != own.to_ascii_lowercase()).then_some(referrer)
}

/// 128 random bits as hex. `crypto.getRandomValues` works on plain-HTTP
/// pages too, unlike `crypto.randomUUID`.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // No Web Crypto: fall back to Math.random, still unique enough to
        // tell retries of one event from distinct events.
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This tab's session id, created on first use. It lives in
/// `sessionStorage`, so it ends with the tab and is never shared.
pub fn session_id() -> Option<String> {
    let storage = session_storage()?;
    const KEY: &str = "sonde:session";
    if let Ok(Some(id)) = storage.get_item(KEY) {
        return Some(id);
    }
    let id = random_id();
    storage.set_item(KEY, &id).ok()?;
    Some(id)
}

/// Runs `f` once after `ms` milliseconds.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) -> Option<i32> {
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms)
        .ok()
}

pub fn warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}
