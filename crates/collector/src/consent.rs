//! The visitor's decision, kept in `localStorage` on their device.

use sonde_protocol::ConsentDecision;

use crate::browser;

fn key(site: &str) -> String {
    format!("sonde:consent:{site}")
}

pub fn load(site: &str) -> Option<ConsentDecision> {
    let text = browser::local_storage()?.get_item(&key(site)).ok()??;
    serde_json::from_str(&text).ok()
}

pub fn store(site: &str, decision: &ConsentDecision) {
    if let (Some(storage), Ok(text)) = (browser::local_storage(), serde_json::to_string(decision)) {
        // Storage can be full or disabled; the decision still holds for this page.
        let _ = storage.set_item(&key(site), &text);
    }
}
