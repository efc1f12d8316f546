//! The visitor's decision, kept in `localStorage` on their device, the
//! anonymous consent record each decision sends once to the consent
//! endpoint, and "erase my data". The record waits in storage until the
//! server acknowledged it, so a decision made offline or just before leaving
//! is still recorded.

use sonde_protocol::{
    ConsentDecision, ConsentRecord, DecisionSource, EraseReceipt, EraseRequest, Grants,
};
use wasm_bindgen::JsValue;

use crate::browser::{self, get};
use crate::transport::{self, Outcome};
use crate::{EraseFailure, State, with};

const STORAGE: &str = "localStorage";

fn decision_key(site: &str) -> String {
    "sonde:consent:".to_owned() + site
}

fn record_key(site: &str) -> String {
    "sonde:consent-record:".to_owned() + site
}

/// The decision stored on this device, read with the browser's `JSON.parse`
/// (see [`sonde_protocol::json`] for why not serde).
pub fn load(site: &str) -> Option<ConsentDecision> {
    let value = browser::parse(&browser::load(STORAGE, &decision_key(site))?);
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
        decided_at: number(&value, "decided_at") as i64,
        consent_id: browser::text(&value, "consent_id").unwrap_or_default(),
        gpc: get(&value, "gpc").is_truthy(),
    })
}

/// Records a decision on the device, drops queued events it no longer
/// allows, and sends its anonymous record.
pub fn decide(state: &mut State, grants: Grants, source: DecisionSource) {
    let consent_id = state
        .decision
        .as_ref()
        .map(|d| d.consent_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(browser::random_id);
    let decision = ConsentDecision {
        policy_version: state.options.policy_version,
        grants,
        decided_at: browser::now_ms(),
        consent_id,
        gpc: state.gpc,
    };
    let site = &state.options.site;
    browser::store(STORAGE, &decision_key(site), &decision.to_json());
    let record = ConsentRecord {
        site: site.clone(),
        consent_id: decision.consent_id.clone(),
        grants,
        policy_version: decision.policy_version,
        gpc: decision.gpc,
        source,
        decided_at: decision.decided_at,
    };
    browser::store(STORAGE, &record_key(site), &record.to_json());
    resend_pending(&state.endpoints.consent, site);
    state.decision = Some(decision);
    let grants = state.grants();
    state.queue.retain_granted(grants);
}

/// Sends the record still waiting from an earlier page, if any.
pub fn resend_pending(endpoint: &str, site: &str) {
    let key = record_key(site);
    let Some(body) = browser::load(STORAGE, &key) else {
        return;
    };
    transport::post(
        endpoint,
        &body.clone(),
        Box::new(move |outcome| {
            // Only remove what was sent: a newer decision may have replaced
            // the record meanwhile.
            let sent = !matches!(outcome, Outcome::Failed);
            if sent && browser::load(STORAGE, &key).as_deref() == Some(&body) {
                browser::forget(STORAGE, &key);
            }
        }),
    );
}

/// "Erase my data": asks the server, then forgets this tab's session, the
/// queue and the record not sent yet, and gives the decision a new consent
/// id, so nothing sent afterwards links to what was erased.
pub fn erase(done: Box<dyn FnOnce(Result<EraseReceipt, EraseFailure>)>) {
    let Some((endpoint, body)) = with(|state| {
        let request = EraseRequest {
            site: state.options.site.clone(),
            sessions: browser::existing_session_id().into_iter().collect(),
            consent_id: state
                .decision
                .as_ref()
                .map(|d| d.consent_id.clone())
                .filter(|id| !id.is_empty()),
        };
        (state.endpoints.erase.clone(), request.to_json())
    }) else {
        return done(Err(EraseFailure::Unreachable));
    };
    transport::post(
        &endpoint,
        &body,
        Box::new(move |outcome| {
            let receipt = match outcome {
                Outcome::Accepted(text) => {
                    let value = browser::parse(&text);
                    if !value.is_object() {
                        return done(Err(EraseFailure::Refused));
                    }
                    EraseReceipt {
                        events_deleted: number(&value, "events_deleted") as u64,
                        consent_records_deleted: number(&value, "consent_records_deleted") as u64,
                    }
                }
                Outcome::Refused(_) => return done(Err(EraseFailure::Refused)),
                Outcome::Failed => return done(Err(EraseFailure::Unreachable)),
            };
            browser::end_session();
            with(|state| {
                browser::forget(STORAGE, &record_key(&state.options.site));
                state.queue.clear();
                if let Some(decision) = &mut state.decision {
                    decision.consent_id = browser::random_id();
                    let key = decision_key(&state.options.site);
                    browser::store(STORAGE, &key, &decision.to_json());
                }
            });
            done(Ok(receipt));
        }),
    );
}

/// A number from parsed JSON, 0 when it is missing.
fn number(value: &JsValue, key: &str) -> f64 {
    get(value, key).as_f64().unwrap_or(0.0)
}
