//! Sonde's collector: the part of Sonde that runs on every page of an
//! instrumented site. It keeps the visitor's consent decision, captures what
//! the decision allows, and delivers it in batches to the ingest endpoint.
//!
//! Nothing is captured, queued or sent before the visitor decides; a category
//! that is not granted is never captured at all.

mod browser;
mod consent;
mod delivery;
mod navigation;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use sonde_protocol::{Category, ConsentDecision, Event, EventData, Grants, scrub};

pub use delivery::DeliveryOptions;

/// How a page sets up the collector.
#[derive(Clone, Debug)]
pub struct Options {
    /// The site's public key.
    pub site: String,
    /// URL of the ingest endpoint.
    pub endpoint: String,
    /// The site's consent policy version; a stored decision for another
    /// version does not count, so the visitor is asked again.
    pub policy_version: u32,
    pub delivery: DeliveryOptions,
}

/// A running collector. Clones share the same state.
#[derive(Clone)]
pub struct Collector(Rc<RefCell<State>>);

struct State {
    options: Options,
    decision: Option<ConsentDecision>,
    queue: delivery::Queue,
    navigation: Option<navigation::Hooks>,
    last_path: Option<String>,
    sent_referrer: bool,
}

impl Collector {
    /// Starts collecting under the decision stored on this device, if there
    /// is one for the current policy version, and resumes delivery of events
    /// queued on an earlier page.
    pub fn start(options: Options) -> Collector {
        let decision =
            consent::load(&options.site).filter(|d| d.is_current(options.policy_version));
        let queue = delivery::Queue::restore(&options);
        let collector = Collector(Rc::new(RefCell::new(State {
            options,
            decision,
            queue,
            navigation: None,
            last_path: None,
            sent_referrer: false,
        })));
        collector.apply_grants();
        collector.0.borrow_mut().queue.schedule(collector.weak());
        collector
    }

    /// The decision in force, or `None` while the visitor has not decided.
    pub fn decision(&self) -> Option<ConsentDecision> {
        self.0.borrow().decision
    }

    /// Records the visitor's decision on this device and applies it at once:
    /// newly granted categories start, withdrawn ones stop and their queued
    /// events are dropped.
    pub fn decide(&self, grants: Grants) {
        {
            let mut state = self.0.borrow_mut();
            let decision = ConsentDecision {
                policy_version: state.options.policy_version,
                grants,
                decided_at: browser::now_ms(),
            };
            consent::store(&state.options.site, &decision);
            state.decision = Some(decision);
            state.queue.retain_granted(grants);
        }
        self.apply_grants();
    }

    /// Records a page view of the current location, unless it is the page
    /// last recorded (a `replaceState` that changed nothing, say).
    pub fn track_page_view(&self) {
        let Some(location) = browser::location_href() else {
            return;
        };
        let url = scrub::page_url(&location);
        let event = {
            let mut state = self.0.borrow_mut();
            if !state.grants().allows(Category::Usage) || state.last_path.as_deref() == Some(&url) {
                return;
            }
            state.last_path = Some(url.clone());
            let referrer = if state.sent_referrer {
                None
            } else {
                state.sent_referrer = true;
                browser::external_referrer_host()
            };
            EventData::PageView {
                url,
                referrer,
                title: browser::document_title().filter(|t| !t.is_empty()),
            }
        };
        self.enqueue(event);
    }

    /// Sends everything queued now rather than at the next timer.
    pub fn flush(&self) {
        delivery::flush(self.weak());
    }

    /// Stops capturing on this page (navigation hooks removed) and sends what
    /// is queued. The stored decision is kept.
    pub fn shutdown(&self) {
        if let Some(hooks) = self.0.borrow_mut().navigation.take() {
            hooks.remove();
        }
        self.flush();
    }

    fn enqueue(&self, data: EventData) {
        let event = {
            let state = self.0.borrow();
            Event {
                id: browser::random_id(),
                ts: browser::now_ms(),
                session: state.grants().usage.then(browser::session_id).flatten(),
                data,
            }
        };
        let mut state = self.0.borrow_mut();
        state.queue.push(event);
        state.queue.schedule(self.weak());
    }

    /// Installs or removes the capture each category needs.
    fn apply_grants(&self) {
        let usage = self.0.borrow().grants().usage;
        let installed = self.0.borrow().navigation.is_some();
        if usage && !installed {
            let hooks = navigation::Hooks::install(self.weak());
            self.0.borrow_mut().navigation = hooks;
            self.track_page_view();
        } else if !usage && installed {
            if let Some(hooks) = self.0.borrow_mut().navigation.take() {
                hooks.remove();
            }
            self.0.borrow_mut().last_path = None;
        }
    }

    fn weak(&self) -> Weak<RefCell<State>> {
        Rc::downgrade(&self.0)
    }

    fn from_weak(weak: &Weak<RefCell<State>>) -> Option<Collector> {
        weak.upgrade().map(Collector)
    }
}

impl State {
    fn grants(&self) -> Grants {
        self.decision.map(|d| d.grants).unwrap_or_default()
    }
}
