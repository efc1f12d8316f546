//! Page views for navigation inside a single-page app: `history.pushState`
//! and `replaceState` are wrapped, and `popstate` (back, forward) observed.

use std::cell::RefCell;
use std::rc::Weak;

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::{Collector, State};

type HistoryMethod = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>;

/// Installed hooks; [`Hooks::remove`] restores the page as it was.
pub struct Hooks {
    history: web_sys::History,
    originals: Vec<(&'static str, Function)>,
    _wrappers: Vec<HistoryMethod>,
    popstate: Closure<dyn FnMut(web_sys::Event)>,
}

impl Hooks {
    pub fn install(collector: Weak<RefCell<State>>) -> Option<Hooks> {
        let window = web_sys::window()?;
        let history = window.history().ok()?;
        let mut originals = Vec::new();
        let mut wrappers = Vec::new();
        for name in ["pushState", "replaceState"] {
            let original: Function = Reflect::get(&history, &name.into()).ok()?.dyn_into().ok()?;
            let (target, call, collector) = (history.clone(), original.clone(), collector.clone());
            let wrapper: HistoryMethod = Closure::new(move |state, title, url| {
                let result = call.call3(&target, &state, &title, &url);
                if let Some(collector) = Collector::from_weak(&collector) {
                    collector.track_page_view();
                }
                result.unwrap_or_else(|e| wasm_bindgen::throw_val(e))
            });
            Reflect::set(&history, &name.into(), wrapper.as_ref()).ok()?;
            originals.push((name, original));
            wrappers.push(wrapper);
        }
        let popstate: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |_| {
            if let Some(collector) = Collector::from_weak(&collector) {
                collector.track_page_view();
            }
        });
        window
            .add_event_listener_with_callback("popstate", popstate.as_ref().unchecked_ref())
            .ok()?;
        Some(Hooks {
            history,
            originals,
            _wrappers: wrappers,
            popstate,
        })
    }

    pub fn remove(self) {
        for (name, original) in &self.originals {
            let _ = Reflect::set(&self.history, &(*name).into(), original);
        }
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "popstate",
                self.popstate.as_ref().unchecked_ref(),
            );
        }
    }
}
