//! The visitor's decision, kept in `localStorage` on their device, and the
//! anonymous consent record each decision sends once to the consent
//! endpoint. The record waits in storage until the server acknowledged it,
//! so a decision made offline or just before leaving is still recorded.

use sonde_protocol::{ConsentDecision, ConsentRecord, Grants};
use wasm_bindgen::JsValue;

use crate::browser::{self, get};
use crate::transport;

fn decision_key(site: &str) -> String {
    "sonde:consent:".to_owned() + site
}

fn record_key(site: &str) -> String {
    "sonde:consent-record:".to_owned() + site
}

/// The decision stored on this device, read with the browser's `JSON.parse`
/// (see [`sonde_protocol::json`] for why not serde).
pub fn load(site: &str) -> Option<ConsentDecision> {
    let text = browser::local_storage()?
        .get_item(&decision_key(site))
        .ok()??;
    let value = js_sys::JSON::parse(&text).ok()?;
    let grants = get(&value, "grants");
    let flag = |key: &str| get(&grants, key).is_truthy();
    Some(ConsentDecision {
        policy_version: get(&value, "policy_version").as_f64()? as u32,
        grants: Grants {
            usage: flag("usage"),
            errors: flag("errors"),
            performance: flag("performance"),
            marketing: flag("marketing"),
        },
        decided_at: get(&value, "decided_at").as_f64().unwrap_or(0.0) as i64,
        consent_id: get(&value, "consent_id").as_string().unwrap_or_default(),
        gpc: get(&value, "gpc").is_truthy(),
    })
}

pub fn store(site: &str, decision: &ConsentDecision) {
    save(&decision_key(site), &decision.to_json());
}

/// Queues `record` for the consent endpoint and tries to send it now.
pub fn send_record(endpoint: String, record: ConsentRecord) {
    save(&record_key(&record.site), &record.to_json());
    resend_pending(endpoint, &record.site);
}

/// Forgets a record not sent yet (its consent id was erased).
pub fn drop_pending(site: &str) {
    if let Some(storage) = browser::local_storage() {
        let _ = storage.remove_item(&record_key(site));
    }
}

/// Sends the record still waiting from an earlier page, if any.
pub fn resend_pending(endpoint: String, site: &str) {
    let key = record_key(site);
    let Some(body) = browser::local_storage().and_then(|s| s.get_item(&key).ok().flatten()) else {
        return;
    };
    let sent = body.clone();
    transport::post(&endpoint, &body, move |outcome| match outcome {
        transport::Outcome::Accepted(_) | transport::Outcome::Refused(_) => {
            // Only remove what was sent: a newer decision may have
            // replaced the record meanwhile.
            if let Some(storage) = browser::local_storage()
                && storage.get_item(&key).ok().flatten().as_deref() == Some(&sent)
            {
                let _ = storage.remove_item(&key);
            }
        }
        transport::Outcome::Failed => {}
    });
}

fn save(key: &str, json: &str) {
    if let Some(storage) = browser::local_storage() {
        // Storage can be full or disabled; the decision still holds for this page.
        let _ = storage.set_item(key, json);
    }
}

/// Reads a number from parsed JSON.
pub fn number(value: &JsValue, key: &str) -> u64 {
    get(value, key).as_f64().unwrap_or(0.0) as u64
}
