//! Automatic capture of `usage`: page views (on load and on navigation
//! inside a single-page app), clicks on elements the site marked with
//! `data-sonde-event`, outbound links, file downloads, and form submissions
//! (the form's name only, never a field value).
//!
//! One listener per kind on the document, in the capture phase, so a page
//! that stops propagation still gets counted; each asks for the `usage`
//! grant before it reads anything, so nothing is captured without it.

use sonde_protocol::EventData;
use wasm_bindgen::JsValue;

use crate::browser::{self, call1, get, text};
use crate::{Collector, enqueue, settings, with};

/// The attribute that names a click event: `data-sonde-event="add_to_cart"`.
pub const EVENT_ATTRIBUTE: &str = "data-sonde-event";

/// File types whose links count as downloads.
const DOWNLOAD_EXTENSIONS: [&str; 16] = [
    "pdf", "zip", "gz", "dmg", "exe", "msi", "pkg", "csv", "xlsx", "xls", "docx", "doc", "pptx",
    "mp3", "mp4", "epub",
];

fn usage_granted() -> bool {
    with(|s| s.grants().usage).unwrap_or(false)
}

/// Clicks (settings links first, then what `usage` records) and form
/// submissions, for the page's lifetime.
pub fn listen() {
    let document = browser::document();
    browser::listen(
        &document,
        "click",
        true,
        Box::new(|event| {
            let Some(target) = target(&event) else { return };
            if settings::opened_by(&event, &target) || !usage_granted() {
                return;
            }
            if let Some(data) = classify_click(&target) {
                enqueue(data);
            }
            // Where the browser has no Navigation API, a click is when a
            // single-page app changes its address: look once it has.
            if !get(&browser::global(), "navigation").is_object() {
                browser::after(0, Box::new(|_| Collector::PAGE.track_page_view()));
            }
        }),
    );
    browser::listen(
        &document,
        "submit",
        true,
        Box::new(|event| {
            if let Some(form) = target(&event).filter(|_| usage_granted()) {
                enqueue(EventData::FormSubmit {
                    form: form_name(&form),
                });
            }
        }),
    );
}

/// Page views for navigation inside a single-page app: the Navigation
/// API's `currententrychange` (`pushState`, `replaceState`, back and
/// forward), or `popstate` where it is missing. A change that keeps the
/// path (a new query string) is not a new page view.
pub fn follow_navigation() {
    let navigation = get(&browser::global(), "navigation");
    let (target, kind) = if navigation.is_object() {
        (navigation, "currententrychange")
    } else {
        (browser::global(), "popstate")
    };
    browser::listen(
        &target,
        kind,
        false,
        Box::new(|_| Collector::PAGE.track_page_view()),
    );
}

fn target(event: &JsValue) -> Option<JsValue> {
    Some(get(event, "target")).filter(JsValue::is_object)
}

/// `element.closest(selector)`.
pub fn closest(element: &JsValue, selector: &str) -> Option<JsValue> {
    Some(call1(element, "closest", &selector.into())).filter(JsValue::is_object)
}

fn attribute(element: &JsValue, name: &str) -> Option<String> {
    call1(element, "getAttribute", &name.into()).as_string()
}

fn classify_click(target: &JsValue) -> Option<EventData> {
    if let Some(marked) = closest(target, "[data-sonde-event]") {
        let name = attribute(&marked, EVENT_ATTRIBUTE)?;
        let name = name.trim_ascii();
        return (!name.is_empty()).then(|| EventData::Click {
            name: name.to_owned(),
        });
    }
    let link = closest(target, "a[href]")?;
    let href = text(&link, "href")?;
    let downloads = call1(&link, "hasAttribute", &"download".into()).is_truthy()
        || is_download(&text(&link, "pathname").unwrap_or_default());
    if downloads {
        return Some(EventData::Download { href });
    }
    let web = matches!(text(&link, "protocol").as_deref(), Some("http:" | "https:"));
    let own = browser::hostname();
    let external = web && !text(&link, "hostname").is_some_and(|h| h.eq_ignore_ascii_case(&own));
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
fn form_name(form: &JsValue) -> String {
    ["data-sonde-form", "name", "id"]
        .iter()
        .filter_map(|name| attribute(form, name))
        .find(|name| !name.trim_ascii().is_empty())
        .unwrap_or_else(|| "form".to_owned())
}
