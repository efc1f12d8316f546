//! Sonde's collector: the part of Sonde that runs on every page of an
//! instrumented site. It keeps the visitor's consent decision, captures what
//! the decision allows, and delivers it in batches to the ingest endpoint.
//!
//! Nothing is captured, queued or sent before the visitor decides; a category
//! that is not granted is never captured at all, and withdrawing one drops
//! its queued events. Each module is one concern: [`consent`] (the decision
//! on the device and its anonymous record), [`navigation`] and [`capture`]
//! (`usage`), [`errors`], [`vitals`] (`performance`), [`delivery`] (queue,
//! batches, retries), [`transport`] (fetch and beacon), [`settings`] (how the
//! visitor reopens the choices), and [`embed`] (the API the script tag and
//! the banner use from JavaScript).

mod browser;
mod capture;
mod consent;
mod delivery;
pub mod embed;
mod errors;
mod navigation;
mod settings;
mod transport;
mod vitals;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use sonde_protocol::limits::{MAX_NAME_LEN, MAX_PROPS};
use sonde_protocol::{
    Campaign, ConsentDecision, ConsentRecord, DecisionSource, EraseReceipt, EraseRequest, Event,
    EventData, Grants, Props, scrub,
};

pub use capture::EVENT_ATTRIBUTE;
pub use delivery::DeliveryOptions;
pub use settings::SETTINGS_ATTRIBUTE;

/// How a page sets up the collector.
#[derive(Clone, Debug)]
pub struct Options {
    /// The site's public key.
    pub site: String,
    /// Base URL of Sonde's API, such as `https://sonde.example/api`.
    pub api: String,
    /// The site's consent policy version; a stored decision for another
    /// version does not count, so the visitor is asked again.
    pub policy_version: u32,
    pub delivery: DeliveryOptions,
    /// Show the floating "Privacy" button once the visitor has decided.
    pub settings_button: bool,
    /// Forward each decision to Google Consent Mode v2 when `gtag` is on the page.
    pub google_consent_mode: bool,
}

/// Called when the banner must be shown: no current decision
/// ([`DecisionSource::Banner`]) or the visitor opened the settings.
pub type OpenBanner = Rc<dyn Fn(DecisionSource)>;

/// A running collector. Clones share the same state.
#[derive(Clone)]
pub struct Collector(Rc<RefCell<State>>);

struct Endpoints {
    ingest: String,
    consent: String,
    erase: String,
}

struct State {
    options: Options,
    endpoints: Endpoints,
    decision: Option<ConsentDecision>,
    gpc: bool,
    open_banner: OpenBanner,
    queue: delivery::Queue,
    /// The page this document was loaded as: where its vitals belong.
    load_url: String,
    navigation: Option<navigation::Hooks>,
    interactions: Option<capture::Interactions>,
    errors: Option<errors::Errors>,
    vitals: Option<vitals::Vitals>,
    _listeners: Vec<browser::Listener>,
    last_path: Option<String>,
    sent_referrer: bool,
}

impl Collector {
    /// Starts collecting under the decision stored on this device, if there
    /// is one for the current policy version, and resumes delivery of events
    /// queued on an earlier page. Without one, `open_banner` is called.
    pub fn start(options: Options, open_banner: OpenBanner) -> Collector {
        let decision =
            consent::load(&options.site).filter(|d| d.is_current(options.policy_version));
        let api = options.api.trim_end_matches('/');
        let endpoints = Endpoints {
            ingest: api.to_owned() + "/ingest",
            consent: api.to_owned() + "/consent",
            erase: api.to_owned() + "/erase",
        };
        let queue = delivery::Queue::restore(&options.site, options.delivery.clone());
        let href = browser::location_href().unwrap_or_default();
        consent::resend_pending(endpoints.consent.clone(), &options.site);
        let collector = Collector(Rc::new(RefCell::new(State {
            options,
            endpoints,
            decision,
            gpc: browser::global_privacy_control(),
            open_banner,
            queue,
            load_url: scrub::page_url(&href),
            navigation: None,
            interactions: None,
            errors: None,
            vitals: None,
            _listeners: Vec::new(),
            last_path: None,
            sent_referrer: false,
        })));
        collector.listen_to_lifecycle();
        collector.apply_grants();
        collector.update_google_consent();
        let decided = collector.0.borrow().decision.is_some();
        if decided {
            collector.show_settings_button();
        } else {
            let open = Rc::clone(&collector.0.borrow().open_banner);
            open(DecisionSource::Banner);
        }
        collector.0.borrow_mut().queue.schedule(collector.weak());
        collector
    }

    /// The decision in force, or `None` while the visitor has not decided.
    pub fn decision(&self) -> Option<ConsentDecision> {
        self.0.borrow().decision.clone()
    }

    /// What may be collected now.
    pub fn grants(&self) -> Grants {
        self.0.borrow().grants()
    }

    /// Whether the browser sends Global Privacy Control.
    pub fn gpc(&self) -> bool {
        self.0.borrow().gpc
    }

    /// Records the visitor's decision on this device, sends its anonymous
    /// consent record, and applies it at once: newly granted categories
    /// start, withdrawn ones stop and their queued events are dropped.
    pub fn decide(&self, grants: Grants, source: DecisionSource) {
        let (endpoint, record) = {
            let mut state = self.0.borrow_mut();
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
            consent::store(&state.options.site, &decision);
            let record = ConsentRecord {
                site: state.options.site.clone(),
                consent_id: decision.consent_id.clone(),
                grants,
                policy_version: decision.policy_version,
                gpc: decision.gpc,
                source,
                decided_at: decision.decided_at,
            };
            state.decision = Some(decision);
            let grants = state.grants();
            state.queue.retain_granted(grants);
            (state.endpoints.consent.clone(), record)
        };
        consent::send_record(endpoint, record);
        self.apply_grants();
        self.update_google_consent();
        self.show_settings_button();
    }

    /// Opens the privacy settings (the banner, with the choices in force).
    pub fn open_settings(&self) {
        let open = Rc::clone(&self.0.borrow().open_banner);
        open(DecisionSource::Settings);
    }

    /// Records a custom event, such as a conversion with its revenue as
    /// `value`. Needs `usage`. A name or properties beyond the limits are
    /// refused or cut with a console warning, never sent as they are.
    pub fn track(&self, name: &str, mut props: Props, value: Option<f64>) {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            let subject = "the event name \"".to_owned() + name + "\" is empty or longer than";
            browser::warn_limit(&subject, MAX_NAME_LEN, " characters", "it was not tracked");
            return;
        }
        if props.len() > MAX_PROPS {
            let subject = "the event \"".to_owned() + name + "\" has more properties than";
            browser::warn_limit(&subject, MAX_PROPS, "", "the rest were dropped");
            props = props.into_iter().take(MAX_PROPS).collect();
        }
        props.retain(|key, _| {
            let ok = !key.is_empty() && key.chars().count() <= MAX_NAME_LEN;
            if !ok {
                let subject =
                    "the property name \"".to_owned() + key + "\" is empty or longer than";
                browser::warn_limit(&subject, MAX_NAME_LEN, " characters", "it was dropped");
            }
            ok
        });
        let value = value.filter(|v| {
            if !v.is_finite() {
                browser::warn("Sonde: an event value must be a finite number; it was dropped");
            }
            v.is_finite()
        });
        self.enqueue(EventData::Custom {
            name: name.to_owned(),
            props,
            value,
        });
    }

    /// Records a page view of the current location, unless it is the page
    /// last recorded (a `replaceState` that changed nothing, say).
    pub fn track_page_view(&self) {
        let Some(location) = browser::location_href() else {
            return;
        };
        let url = scrub::page_url(&location);
        let data = {
            let mut state = self.0.borrow_mut();
            let grants = state.grants();
            if !grants.usage || state.last_path.as_deref() == Some(&url) {
                return;
            }
            state.last_path = Some(url);
            // Where the visit came from belongs to its first page only.
            let first = !state.sent_referrer;
            state.sent_referrer = true;
            let referrer = first.then(external_referrer_host).flatten();
            let campaign = if first && grants.marketing {
                Campaign::from_url(&location)
            } else {
                Campaign::default()
            };
            EventData::PageView {
                referrer,
                title: browser::document_title().filter(|t| !t.is_empty()),
                campaign,
            }
        };
        self.enqueue(data);
    }

    /// Asks the server to erase everything that can still be linked to this
    /// visitor, then forgets this tab's session and the queued events, so
    /// nothing sent afterwards links back. `done` gets the server's counts.
    pub fn erase(&self, done: impl FnOnce(Result<EraseReceipt, String>) + 'static) {
        let (endpoint, request) = {
            let state = self.0.borrow();
            let request = EraseRequest {
                site: state.options.site.clone(),
                sessions: browser::existing_session_id().into_iter().collect(),
                consent_id: state
                    .decision
                    .as_ref()
                    .map(|d| d.consent_id.clone())
                    .filter(|id| !id.is_empty()),
            };
            (state.endpoints.erase.clone(), request)
        };
        let weak = self.weak();
        transport::post(&endpoint, &request.to_json(), move |outcome| {
            let receipt = match outcome {
                transport::Outcome::Accepted(text) => match js_sys::JSON::parse(&text) {
                    Ok(value) => EraseReceipt {
                        events_deleted: consent::number(&value, "events_deleted"),
                        consent_records_deleted: consent::number(&value, "consent_records_deleted"),
                    },
                    Err(_) => return done(Err("the server's answer was not understood".into())),
                },
                transport::Outcome::Refused(_) => {
                    return done(Err("the server refused the request".into()));
                }
                transport::Outcome::Failed => {
                    return done(Err(
                        "the server could not be reached; try again later".into()
                    ));
                }
            };
            if let Some(c) = Collector::from_weak(&weak) {
                c.forget_after_erase();
            }
            done(Ok(receipt));
        });
    }

    fn forget_after_erase(&self) {
        browser::end_session();
        let mut state = self.0.borrow_mut();
        consent::drop_pending(&state.options.site);
        let State {
            queue,
            decision,
            options,
            ..
        } = &mut *state;
        queue.clear();
        // A fresh consent id: the erased records are not linked to new ones.
        if let Some(decision) = decision {
            decision.consent_id = browser::random_id();
            consent::store(&options.site, decision);
        }
    }

    /// Sends everything queued now rather than at the next timer.
    pub fn flush(&self) {
        delivery::flush(self.weak());
    }

    /// Number of events waiting to be sent.
    pub fn queued(&self) -> usize {
        self.0.borrow().queue.len()
    }

    /// Queues an event of the current page if its category is granted.
    fn enqueue(&self, data: EventData) {
        let mut state = self.0.borrow_mut();
        let grants = state.grants();
        if !grants.allows(data.category()) {
            return;
        }
        let url = match &data {
            EventData::Vital { .. } => state.load_url.clone(),
            _ => browser::location_href().unwrap_or_default(),
        };
        let mut event = Event {
            id: browser::random_id(),
            ts: browser::now_ms(),
            session: grants.usage.then(browser::session_id).flatten(),
            url,
            data,
        };
        event.strip_ungranted(grants);
        event.scrub();
        state.queue.push(&event);
        state.queue.schedule(self.weak());
    }

    /// Installs or removes the capture each category needs.
    fn apply_grants(&self) {
        let grants = self.grants();
        let weak = self.weak();
        let start_usage = {
            let mut state = self.0.borrow_mut();
            let start_usage = grants.usage && state.navigation.is_none();
            if start_usage {
                state.navigation = navigation::Hooks::install(weak.clone());
                state.interactions = capture::Interactions::install(weak.clone());
            } else if !grants.usage {
                if let Some(hooks) = state.navigation.take() {
                    hooks.remove();
                }
                state.interactions = None;
                state.last_path = None;
            }
            if grants.errors && state.errors.is_none() {
                state.errors = errors::Errors::install(weak.clone());
            } else if !grants.errors {
                state.errors = None;
            }
            if grants.performance && state.vitals.is_none() {
                state.vitals = Some(vitals::Vitals::install());
            } else if !grants.performance {
                state.vitals = None;
            }
            start_usage
        };
        if start_usage {
            self.track_page_view();
        }
    }

    /// When the page is hidden: the vitals' final values, then everything
    /// queued stored and handed to a beacon.
    fn listen_to_lifecycle(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let on_hide = {
            let weak = self.weak();
            move |_: web_sys::Event| {
                let Some(c) = Collector::from_weak(&weak) else {
                    return;
                };
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
                if !hidden {
                    return;
                }
                let finals =
                    c.0.borrow_mut()
                        .vitals
                        .as_mut()
                        .and_then(|v| v.take_final());
                for (metric, value) in finals.unwrap_or_default() {
                    c.enqueue(EventData::Vital { metric, value });
                }
                delivery::flush_on_hide(&mut c.0.borrow_mut());
            }
        };
        let mut listeners = Vec::new();
        if let Some(document) = window.document() {
            listeners.push(browser::Listener::new(
                &document,
                "visibilitychange",
                false,
                on_hide.clone(),
            ));
        }
        listeners.push(browser::Listener::new(&window, "pagehide", false, on_hide));
        if let Some(settings) = settings::listen(self.weak()) {
            listeners.push(settings);
        }
        self.0.borrow_mut()._listeners = listeners;
    }

    fn show_settings_button(&self) {
        if self.0.borrow().options.settings_button {
            settings::show_button();
        }
    }

    /// Google Consent Mode v2: tells `gtag` what the visitor granted, when
    /// the site asked for it and `gtag` is on the page.
    fn update_google_consent(&self) {
        let state = self.0.borrow();
        if !state.options.google_consent_mode || state.decision.is_none() {
            return;
        }
        let grants = state.grants();
        embed::google_consent_update(grants);
    }

    fn weak(&self) -> Weak<RefCell<State>> {
        Rc::downgrade(&self.0)
    }

    fn from_weak(weak: &Weak<RefCell<State>>) -> Option<Collector> {
        weak.upgrade().map(Collector)
    }
}

impl State {
    /// The grants in force. A decision made before the browser sent Global
    /// Privacy Control does not keep `marketing` once it does: that needs a
    /// new, explicit choice.
    fn grants(&self) -> Grants {
        let Some(decision) = &self.decision else {
            return Grants::NONE;
        };
        let mut grants = decision.grants;
        if self.gpc && !decision.gpc {
            grants.marketing = false;
        }
        grants
    }
}

/// The referring page's host, when it is another site.
fn external_referrer_host() -> Option<String> {
    let referrer = scrub::referrer_host(&browser::document_referrer()?)?;
    let own = browser::hostname()?.to_ascii_lowercase();
    (referrer != own).then_some(referrer)
}
