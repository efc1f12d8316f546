//! Sonde's collector: the part of Sonde that runs on every page of an
//! instrumented site. It keeps the visitor's consent decision, captures what
//! the decision allows, and delivers it in batches to the ingest endpoint.
//!
//! Nothing is captured, queued or sent before the visitor decides; a category
//! that is not granted is never captured at all, and withdrawing one drops
//! its queued events. Each module is one concern: [`consent`] (the decision
//! on the device and its anonymous record), [`capture`] (`usage`: page
//! views, clicks, forms), [`errors`], [`vitals`] (`performance`),
//! [`delivery`] (queue, batches, retries), [`transport`] (fetch and beacon),
//! [`settings`] (how the visitor reopens the choices), [`browser`] (what it
//! asks of the browser) and [`embed`] (the API the script tag and the
//! banner use from JavaScript).
//!
//! Written for size: it is the only part of Sonde that loads on other
//! people's pages. No `core::fmt` (no `format!`, no `{:?}` reached), no map
//! types, one callback type, and one page-wide state instead of shared
//! handles (a page has one collector).

mod browser;
mod capture;
mod consent;
mod delivery;
pub mod embed;
mod errors;
mod settings;
mod transport;
mod vitals;

use std::cell::RefCell;
use std::rc::Rc;

use sonde_protocol::limits::{MAX_NAME_LEN, MAX_PROPS};
use sonde_protocol::{
    Campaign, ConsentDecision, DecisionSource, EraseReceipt, Event, EventData, Grants, Props, scrub,
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

/// Why "erase my data" erased nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EraseFailure {
    /// Offline, or the server did not answer.
    Unreachable,
    /// The server refused the request, or its answer was not understood.
    Refused,
}

impl EraseFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            EraseFailure::Unreachable => "unreachable",
            EraseFailure::Refused => "refused",
        }
    }
}

/// The page's collector, once [`Collector::start`]ed. A handle: copies
/// reach the same collector, which lives as long as the page.
#[derive(Clone, Copy, Debug)]
pub struct Collector {
    _started: (),
}

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
    /// Page views are followed (navigation hooks installed).
    usage_started: bool,
    vitals: Option<vitals::Vitals>,
    last_path: Option<String>,
    sent_referrer: bool,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Runs `f` on the collector's state; `None` before it started, or when
/// the state is in use further up the stack (a callback the browser ran
/// synchronously), which the collector never relies on.
fn with<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|state| Some(f(state.try_borrow_mut().ok()?.as_mut()?)))
}

impl Collector {
    /// The page's collector, for the callbacks that reach it.
    const PAGE: Collector = Collector { _started: () };

    /// Starts collecting under the decision stored on this device, if there
    /// is one for the current policy version, and resumes delivery of events
    /// queued on an earlier page. Without one, `open_banner` is called. A
    /// page has one collector: a second start returns the first.
    pub fn start(options: Options, open_banner: OpenBanner) -> Collector {
        let collector = Collector::PAGE;
        if with(|_| ()).is_some() {
            return collector;
        }
        let decision =
            consent::load(&options.site).filter(|d| d.is_current(options.policy_version));
        let api = options.api.strip_suffix('/').unwrap_or(&options.api);
        let endpoints = Endpoints {
            ingest: api.to_owned() + "/ingest",
            consent: api.to_owned() + "/consent",
            erase: api.to_owned() + "/erase",
        };
        let queue = delivery::Queue::restore(&options.site, options.delivery.clone());
        consent::resend_pending(&endpoints.consent, &options.site);
        let decided = decision.is_some();
        STATE.set(Some(State {
            options,
            endpoints,
            decision,
            gpc: browser::global_privacy_control(),
            open_banner,
            queue,
            load_url: scrub::page_url(&browser::location_href()),
            usage_started: false,
            vitals: None,
            last_path: None,
            sent_referrer: false,
        }));
        capture::listen();
        errors::listen();
        delivery::listen_for_hiding();
        collector.apply_grants();
        if decided {
            collector.show_settings_button();
        } else {
            collector.open_banner(DecisionSource::Banner);
        }
        delivery::schedule();
        collector
    }

    /// The decision in force, or `None` while the visitor has not decided.
    pub fn decision(&self) -> Option<ConsentDecision> {
        with(|s| s.decision.clone()).flatten()
    }

    /// What may be collected now.
    pub fn grants(&self) -> Grants {
        with(|s| s.grants()).unwrap_or(Grants::NONE)
    }

    /// Whether the browser sends Global Privacy Control.
    pub fn gpc(&self) -> bool {
        with(|s| s.gpc).unwrap_or(false)
    }

    /// Records the visitor's decision on this device, sends its anonymous
    /// consent record, and applies it at once: newly granted categories
    /// start, withdrawn ones stop and their queued events are dropped.
    pub fn decide(&self, grants: Grants, source: DecisionSource) {
        with(|state| consent::decide(state, grants, source));
        self.apply_grants();
        self.show_settings_button();
    }

    /// Opens the privacy settings (the banner, with the choices in force).
    pub fn open_settings(&self) {
        self.open_banner(DecisionSource::Settings);
    }

    /// Records a custom event, such as a conversion with its revenue as
    /// `value`. Needs `usage`. A name or properties beyond the limits are
    /// refused or cut with a console warning, never sent as they are.
    pub fn track(&self, name: &str, mut props: Props, value: Option<f64>) {
        let name = name.trim_ascii();
        if name.is_empty() || scrub::char_count(name) > MAX_NAME_LEN {
            let subject = "the event name \"".to_owned() + name + "\" is empty or longer than";
            browser::warn_limit(&subject, MAX_NAME_LEN, " characters", "it was not tracked");
            return;
        }
        if props.len() > MAX_PROPS {
            let subject = "the event \"".to_owned() + name + "\" has more properties than";
            browser::warn_limit(&subject, MAX_PROPS, "", "the rest were dropped");
            props.truncate(MAX_PROPS);
        }
        props.retain(|key, _| {
            let ok = !key.is_empty() && scrub::char_count(key) <= MAX_NAME_LEN;
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
        enqueue(EventData::Custom {
            name: name.to_owned(),
            props,
            value,
        });
    }

    /// Records a page view of the current location, unless it is the page
    /// last recorded (a `replaceState` that changed nothing, say).
    pub fn track_page_view(&self) {
        let location = browser::location_href();
        let data = with(|state| {
            let grants = state.grants();
            let url = scrub::page_url(&location);
            if !grants.usage || state.last_path.as_deref() == Some(&url) {
                return None;
            }
            state.last_path = Some(url);
            // Where the visit came from belongs to its first page only.
            let first = !state.sent_referrer;
            state.sent_referrer = true;
            let referrer = if first {
                external_referrer_host()
            } else {
                None
            };
            let campaign = if first && grants.marketing {
                Campaign::from_url(&location)
            } else {
                Campaign::default()
            };
            let title = browser::text(&browser::document(), "title").filter(|t| !t.is_empty());
            Some(EventData::PageView {
                referrer,
                title,
                campaign,
            })
        });
        if let Some(data) = data.flatten() {
            enqueue(data);
        }
    }

    /// Asks the server to erase everything that can still be linked to this
    /// visitor, then forgets this tab's session and the queued events, so
    /// nothing sent afterwards links back. `done` gets the server's counts.
    pub fn erase(&self, done: Box<dyn FnOnce(Result<EraseReceipt, EraseFailure>)>) {
        consent::erase(done);
    }

    /// Sends everything queued now rather than at the next timer.
    pub fn flush(&self) {
        delivery::flush();
    }

    /// Number of events waiting to be sent.
    pub fn queued(&self) -> usize {
        with(|s| s.queue.len()).unwrap_or(0)
    }

    fn open_banner(&self, source: DecisionSource) {
        // Called without holding the state: the page's callback may call
        // back into the collector.
        if let Some(open) = with(|s| Rc::clone(&s.open_banner)) {
            open(source);
        }
    }

    /// Starts the capture newly granted categories need. What is withdrawn
    /// stops at once without being removed: every capture asks for its
    /// grant before it reads anything.
    fn apply_grants(&self) {
        let start_usage = with(|state| {
            let grants = state.grants();
            if grants.performance && state.vitals.is_none() {
                state.vitals = Some(vitals::Vitals::observe());
            }
            if !grants.usage {
                state.last_path = None;
            }
            let start = grants.usage && !state.usage_started;
            state.usage_started |= grants.usage;
            (start, grants.usage)
        });
        let Some((start, usage)) = start_usage else {
            return;
        };
        if start {
            capture::follow_navigation();
        }
        if usage {
            self.track_page_view();
        }
        embed::announce_decision();
    }

    fn show_settings_button(&self) {
        if with(|s| s.options.settings_button) == Some(true) {
            settings::show_button();
        }
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

/// Queues an event of the current page if its category is granted.
fn enqueue(data: EventData) {
    let queued = with(|state| {
        let grants = state.grants();
        if !grants.allows(data.category()) {
            return;
        }
        let url = match &data {
            EventData::Vital { .. } => state.load_url.clone(),
            _ => browser::location_href(),
        };
        let session = if grants.usage {
            browser::session_id()
        } else {
            None
        };
        let mut event = Event {
            id: browser::random_id(),
            ts: browser::now_ms(),
            session,
            url,
            data,
        };
        event.strip_ungranted(grants);
        event.scrub();
        state.queue.push(&event);
    });
    if queued.is_some() {
        delivery::schedule();
    }
}

/// The referring page's host, when it is another site.
fn external_referrer_host() -> Option<String> {
    let referrer = browser::text(&browser::document(), "referrer")?;
    let referrer = scrub::referrer_host(&referrer)?;
    (referrer != browser::hostname().to_ascii_lowercase()).then_some(referrer)
}
