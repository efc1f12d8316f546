//! Automatic capture of interactions (`usage`): clicks on elements the site
//! marked with `data-sonde-event`, outbound links, file downloads, and form
//! submissions (the form's name only, never a field value). One listener per
//! kind on the document, in the capture phase, so a page that stops
//! propagation still gets counted.

use std::cell::RefCell;
use std::rc::Weak;

use sonde_protocol::EventData;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlAnchorElement, HtmlFormElement};

use crate::browser::{self, Listener};
use crate::{Collector, State};

/// The attribute that names a click event: `data-sonde-event="add_to_cart"`.
pub const EVENT_ATTRIBUTE: &str = "data-sonde-event";

/// File types whose links count as downloads.
const DOWNLOAD_EXTENSIONS: [&str; 16] = [
    "pdf", "zip", "gz", "dmg", "exe", "msi", "pkg", "csv", "xlsx", "xls", "docx", "doc", "pptx",
    "mp3", "mp4", "epub",
];

pub struct Interactions {
    _click: Listener,
    _submit: Listener,
}

impl Interactions {
    pub fn install(collector: Weak<RefCell<State>>) -> Option<Interactions> {
        let document = web_sys::window()?.document()?;
        let on_click = collector.clone();
        let click = Listener::new(&document, "click", true, move |event| {
            if let (Some(c), Some(data)) = (Collector::from_weak(&on_click), classify_click(&event))
            {
                c.enqueue(data);
            }
        });
        let submit = Listener::new(&document, "submit", true, move |event| {
            let form = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlFormElement>().ok());
            if let (Some(c), Some(form)) = (Collector::from_weak(&collector), form) {
                c.enqueue(EventData::FormSubmit {
                    form: form_name(&form),
                });
            }
        });
        Some(Interactions {
            _click: click,
            _submit: submit,
        })
    }
}

fn classify_click(event: &web_sys::Event) -> Option<EventData> {
    let target: Element = event.target()?.dyn_into().ok()?;
    if let Some(marked) = target.closest("[data-sonde-event]").ok()? {
        let name = marked.get_attribute(EVENT_ATTRIBUTE)?;
        return (!name.trim().is_empty()).then(|| EventData::Click {
            name: name.trim().to_owned(),
        });
    }
    let link: HtmlAnchorElement = target.closest("a[href]").ok()??.dyn_into().ok()?;
    let href = link.href();
    if link.has_attribute("download") || is_download(&link.pathname()) {
        return Some(EventData::Download { href });
    }
    let external = matches!(link.protocol().as_str(), "http:" | "https:")
        && browser::hostname().is_some_and(|own| !link.hostname().eq_ignore_ascii_case(&own));
    external.then_some(EventData::Outbound { href })
}

fn is_download(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        DOWNLOAD_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

/// `data-sonde-form`, else the `name` or `id` attribute.
fn form_name(form: &HtmlFormElement) -> String {
    ["data-sonde-form", "name", "id"]
        .iter()
        .filter_map(|attr| form.get_attribute(attr))
        .find(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "form".to_owned())
}
