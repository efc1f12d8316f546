//! The dialog in the page: a container of its own at the end of the body,
//! the markup swapped in on every change of state, one delegated `click`
//! and one `keydown` handler for everything in it, and the focus kept
//! inside it while it is open (Tab and Shift+Tab wrap around), then given
//! back to whatever had it before.

use std::cell::RefCell;

use sonde_browser::{call0, call1, document, get, get_index, listen, set, text};
use wasm_bindgen::JsValue;

use crate::collector::Sonde;
use crate::markup::{self, CATEGORIES, Mode, View};
use crate::style;
use crate::wording::{Language, SiteWording};

const CONTAINER_ID: &str = "sonde-consent";
const FOCUSABLE: &str = "button, input, a[href]";

struct Dialog {
    container: JsValue,
    sonde: Sonde,
    /// `None` while closed.
    view: Option<View>,
    /// What had the focus before the dialog opened.
    opened_from: JsValue,
}

thread_local! {
    static DIALOG: RefCell<Option<Dialog>> = const { RefCell::new(None) };
}

/// Runs `f` on the open dialog's state, if it is mounted.
fn with(f: impl FnOnce(&mut Dialog)) {
    DIALOG.with(|dialog| {
        if let Ok(mut dialog) = dialog.try_borrow_mut()
            && let Some(dialog) = dialog.as_mut()
        {
            f(dialog);
        }
    });
}

/// Opens the dialog, or reopens it in `mode`, starting from the decision in
/// force (nothing ticked on a first visit).
pub fn open(mode: Mode, sonde: Sonde, site: SiteWording, language: Language) {
    if DIALOG.with(|d| d.borrow().is_none()) {
        let container = mount();
        DIALOG.set(Some(Dialog {
            container,
            sonde: sonde.clone(),
            view: None,
            opened_from: JsValue::UNDEFINED,
        }));
    }
    with(|dialog| {
        let checked = CATEGORIES.map(|c| sonde.granted(c));
        dialog.opened_from = get(&document(), "activeElement");
        dialog.view = Some(View {
            mode,
            choosing: mode == Mode::Settings,
            checked,
            gpc: sonde.gpc(),
            language,
            site,
            erase_result: None,
        });
        dialog.sonde = sonde;
        dialog.render(Some(".sonde-banner"));
    });
}

/// The container, its handlers and the banner's styles.
fn mount() -> JsValue {
    let document = document();
    let style = call1(&document, "createElement", &"style".into());
    set(&style, "textContent", &style::CSS.into());
    call1(&get(&document, "head"), "append", &style);
    let container = call1(&document, "createElement", &"div".into());
    set(&container, "id", &CONTAINER_ID.into());
    call1(&get(&document, "body"), "append", &container);
    listen(
        &container,
        "click",
        false,
        Box::new(|event| {
            let action = closest(&get(&event, "target"), "[data-action]")
                .map(|button| call1(&button, "getAttribute", &"data-action".into()))
                .and_then(|action| action.as_string());
            if let Some(action) = action {
                act(&action);
            }
        }),
    );
    listen(&container, "keydown", false, Box::new(|event| key(&event)));
    container
}

impl Dialog {
    /// Swaps in the markup for the current view, and moves the focus to
    /// `focus` (a selector inside the dialog), if given.
    fn render(&self, focus: Option<&str>) {
        let html = self.view.as_ref().map(markup::render).unwrap_or_default();
        set(&self.container, "innerHTML", &html.into());
        if let Some(selector) = focus {
            call0(&self.find(selector), "focus");
        }
    }

    /// The first element inside the dialog matching `selector`.
    fn find(&self, selector: &str) -> JsValue {
        call1(&self.container, "querySelector", &selector.into())
    }

    /// Reads the ticks the visitor made into the view, before the markup
    /// is replaced.
    fn read_choices(&mut self) {
        let Some(view) = &self.view else { return };
        if !view.choosing {
            return;
        }
        let checked = CATEGORIES.map(|category| {
            get(
                &self.find(&("#sonde-category-".to_owned() + category)),
                "checked",
            )
            .is_truthy()
        });
        if let Some(view) = &mut self.view {
            view.checked = checked;
        }
    }

    fn decide(&mut self, grants: [bool; 4]) {
        let Some(view) = &self.view else { return };
        self.sonde.decide(grants, view.mode.source());
        self.close();
    }

    fn close(&mut self) {
        self.view = None;
        self.render(None);
        call0(&self.opened_from, "focus");
    }
}

/// A button of the dialog was pressed.
fn act(action: &str) {
    with(|dialog| {
        let Some(view) = &dialog.view else { return };
        let gpc = view.gpc;
        match action {
            "reject" => dialog.decide([false; 4]),
            // Under Global Privacy Control, "accept all" leaves marketing
            // off: it needs its own tick.
            "accept" => dialog.decide([true, true, true, !gpc]),
            "save" => {
                dialog.read_choices();
                let checked = dialog.view.as_ref().map_or([false; 4], |v| v.checked);
                dialog.decide(checked);
            }
            "choose" => {
                dialog.read_choices();
                let Some(view) = &mut dialog.view else { return };
                view.choosing = !view.choosing;
                // Keyboard users land on the first choice, not below the
                // list they just opened.
                let focus = if view.choosing {
                    "#sonde-category-usage"
                } else {
                    "[data-action=choose]"
                };
                dialog.render(Some(focus));
            }
            "erase" => erase(dialog),
            "close" => dialog.close(),
            _ => {}
        }
    });
}

/// Escape closes the details without deciding anything (and, in the
/// settings, closes them unchanged); Tab stays inside the dialog.
fn key(event: &JsValue) {
    match text(event, "key").as_deref() {
        Some("Escape") => with(|dialog| {
            let Some(view) = &dialog.view else { return };
            if view.mode == Mode::Settings {
                dialog.close();
            } else if view.choosing {
                dialog.read_choices();
                if let Some(view) = &mut dialog.view {
                    view.choosing = false;
                }
                dialog.render(Some("[data-action=choose]"));
            }
        }),
        Some("Tab") => with(|dialog| {
            let focusable = call1(&dialog.container, "querySelectorAll", &FOCUSABLE.into());
            let count = get(&focusable, "length").as_f64().unwrap_or(0.0) as u32;
            if count == 0 {
                return;
            }
            let (first, last) = (get_index(&focusable, 0), get_index(&focusable, count - 1));
            let active = get(&document(), "activeElement");
            let backwards = get(event, "shiftKey").is_truthy();
            let wrap_to =
                if backwards && (active == first || active == dialog.find(".sonde-banner")) {
                    last
                } else if !backwards && active == last {
                    first
                } else {
                    return;
                };
            call0(event, "preventDefault");
            call0(&wrap_to, "focus");
        }),
        _ => {}
    }
}

/// "Erase my data": the collector asks the server, and the dialog says what
/// was erased (or why nothing was) in its status line.
fn erase(dialog: &mut Dialog) {
    let Some(view) = &dialog.view else { return };
    let language = view.language;
    show_erase_result(dialog, language.texts().erasing.to_owned());
    dialog.sonde.erase(Box::new(move |outcome| {
        // A receipt is an object; a refusal the collector's reason.
        let message = match outcome.as_string() {
            Some(reason) => markup::not_erased_message(language, &reason),
            None => {
                let count = |key: &str| get(&outcome, key).as_f64().unwrap_or(0.0) as u64;
                markup::erased_message(
                    language,
                    count("eventsDeleted"),
                    count("consentRecordsDeleted"),
                )
            }
        };
        with(|dialog| show_erase_result(dialog, message));
    }));
}

/// Puts `message` in the status line (announced by screen readers) and
/// keeps it for the next render.
fn show_erase_result(dialog: &mut Dialog, message: String) {
    set(
        &dialog.find("[data-erase-result]"),
        "textContent",
        &message.as_str().into(),
    );
    if let Some(view) = &mut dialog.view {
        view.erase_result = Some(message);
    }
}

/// `element.closest(selector)`, when there is one.
fn closest(element: &JsValue, selector: &str) -> Option<JsValue> {
    Some(call1(element, "closest", &selector.into())).filter(JsValue::is_object)
}
