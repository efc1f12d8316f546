//! What the collector asks of the browser beyond [`sonde_browser`]'s door:
//! time, randomness, the page's address, storage, the tab's session.

pub use sonde_browser::*;

pub fn now_ms() -> i64 {
    call0(&global_get("Date"), "now").as_f64().unwrap_or(0.0) as i64
}

pub fn warn(message: &str) {
    call1(&global_get("console"), "warn", &message.into());
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

/// 128 random bits as 32 hex digits: `crypto.randomUUID` where the page is
/// a secure context, `Math.random` elsewhere (unique enough to tell retries
/// of one event from distinct events).
pub fn random_id() -> String {
    let uuid = call0(&global_get("crypto"), "randomUUID").as_string();
    if let Some(uuid) = uuid {
        return uuid
            .bytes()
            .filter(|b| *b != b'-')
            .map(char::from)
            .collect();
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let math = global_get("Math");
    let mut id = String::with_capacity(32);
    for _ in 0..32 {
        let digit = call0(&math, "random").as_f64().unwrap_or(0.0) * 16.0;
        id.push(HEX[(digit as usize) & 15] as char);
    }
    id
}

/// `location.href`.
pub fn location_href() -> String {
    text(&global_get("location"), "href").unwrap_or_default()
}

pub fn hostname() -> String {
    text(&global_get("location"), "hostname").unwrap_or_default()
}

/// The page is hidden (switched away from, being closed).
pub fn hidden() -> bool {
    text(&document(), "visibilityState").as_deref() == Some("hidden")
}

/// Whether the browser sends Global Privacy Control.
pub fn global_privacy_control() -> bool {
    get(&global_get("navigator"), "globalPrivacyControl").is_truthy()
}

/// Web storage: `"localStorage"` (the decision, the queue) or
/// `"sessionStorage"` (the tab's session id).
pub fn load(storage: &str, key: &str) -> Option<String> {
    call1(&global_get(storage), "getItem", &key.into()).as_string()
}

/// Stores `value`; storage can be full or disabled, and then the page
/// goes on without it.
pub fn store(storage: &str, key: &str, value: &str) {
    call2(&global_get(storage), "setItem", &key.into(), &value.into());
}

pub fn forget(storage: &str, key: &str) {
    call1(&global_get(storage), "removeItem", &key.into());
}

const SESSION_KEY: &str = "sonde:session";

/// This tab's session id, created on first use. It lives in
/// `sessionStorage`, so it ends with the tab and is never shared.
pub fn session_id() -> Option<String> {
    if let Some(id) = existing_session_id() {
        return Some(id);
    }
    let id = random_id();
    store("sessionStorage", SESSION_KEY, &id);
    existing_session_id()
}

/// The session id this tab holds, without creating one.
pub fn existing_session_id() -> Option<String> {
    load("sessionStorage", SESSION_KEY)
}

/// Forgets this tab's session id, so what follows is not linked to what came before.
pub fn end_session() {
    forget("sessionStorage", SESSION_KEY);
}
