//! Thin, infallible access to the browser APIs the collector needs. Every
//! function degrades to `None` (or does nothing) where the API is missing or
//! blocked, because the collector must never break the page it runs on.

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{EventTarget, Storage};

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

pub fn hostname() -> Option<String> {
    web_sys::window()?.location().hostname().ok()
}

pub fn document_title() -> Option<String> {
    Some(web_sys::window()?.document()?.title())
}

pub fn document_referrer() -> Option<String> {
    Some(web_sys::window()?.document()?.referrer())
}

/// Whether the browser sends Global Privacy Control.
pub fn global_privacy_control() -> bool {
    web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &"globalPrivacyControl".into()).ok())
        .is_some_and(|v| v.is_truthy())
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for b in bytes {
        id.push(HEX[usize::from(b >> 4)] as char);
        id.push(HEX[usize::from(b & 15)] as char);
    }
    id
}

const SESSION_KEY: &str = "sonde:session";

/// This tab's session id, created on first use. It lives in
/// `sessionStorage`, so it ends with the tab and is never shared.
pub fn session_id() -> Option<String> {
    let storage = session_storage()?;
    if let Ok(Some(id)) = storage.get_item(SESSION_KEY) {
        return Some(id);
    }
    let id = random_id();
    storage.set_item(SESSION_KEY, &id).ok()?;
    Some(id)
}

/// The session id this tab holds, without creating one.
pub fn existing_session_id() -> Option<String> {
    session_storage()?.get_item(SESSION_KEY).ok()?
}

/// Forgets this tab's session id, so what follows is not linked to what came before.
pub fn end_session() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(SESSION_KEY);
    }
}

/// Runs `f` once after `ms` milliseconds.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) -> Option<i32> {
    let callback = Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms)
        .ok()
}

pub fn warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

/// "Sonde: <subject> <limit><unit>; <outcome>", without `format!` (see
/// [`sonde_protocol::json`] for why).
pub fn warn_limit(subject: &str, limit: usize, unit: &str, outcome: &str) {
    let mut message = "Sonde: ".to_owned() + subject + " ";
    sonde_protocol::json::int(&mut message, limit as i64);
    message.push_str(unit);
    message.push_str("; ");
    message.push_str(outcome);
    warn(&message);
}

/// An event listener that stays installed until it is dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    capture: bool,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Listener {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        let _ = target.add_event_listener_with_callback_and_bool(
            kind,
            callback.as_ref().unchecked_ref(),
            capture,
        );
        Listener {
            target: target.clone(),
            kind,
            capture,
            callback,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            self.callback.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}

/// Reads a property of a JS object, `undefined` when it cannot.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}
