//! The banner and the privacy settings: one dialog. On a first visit it asks
//! (accept all, reject all, choose: equally prominent, nothing pre-ticked);
//! reopened from a settings link it shows the choices in force and offers
//! "Erase my data".

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use sonde_protocol::{Category, Grants};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::categories::describe;
use crate::collector::Sonde;

/// Why the dialog is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No decision is stored for the current policy.
    Banner,
    /// The visitor opened the privacy settings.
    Settings,
}

impl Mode {
    fn source(self) -> &'static str {
        match self {
            Mode::Banner => "banner",
            Mode::Settings => "settings",
        }
    }
}

#[component]
pub fn Banner(
    /// The collector that records and applies the decision.
    sonde: StoredValue<Sonde, LocalStorage>,
    /// Open, and why; `None` when closed.
    open: RwSignal<Option<Mode>>,
) -> impl IntoView {
    let gpc = sonde.with_value(|s| s.gpc());
    let choosing = RwSignal::new(false);
    let choices = Category::OPTIONAL.map(|category| (category, RwSignal::new(false)));
    let erase_result = RwSignal::new(None::<String>);
    let opened_from = StoredValue::new_local(None::<web_sys::HtmlElement>);

    // Each opening starts from the decision in force (nothing on a first
    // visit), and moves the focus into the dialog.
    Effect::new(move || {
        let Some(mode) = open.get() else { return };
        for (category, checked) in choices {
            checked.set(sonde.with_value(|s| s.granted(category.as_str())));
        }
        choosing.set(mode == Mode::Settings);
        erase_result.set(None);
        opened_from.set_value(active_element());
        request_animation_frame(|| focus("#sonde-consent .sonde-banner"));
    });

    let close = move || {
        open.set(None);
        if let Some(element) = opened_from.get_value() {
            let _ = element.focus();
        }
    };
    let decide = move |grants: Grants| {
        let source = open.get_untracked().unwrap_or(Mode::Banner).source();
        sonde.with_value(|s| {
            s.decide(
                grants.usage,
                grants.errors,
                grants.performance,
                grants.marketing,
                source,
            )
        });
        close();
    };
    let save_choices = move |_| {
        let granted = |c: Category| {
            choices
                .iter()
                .any(|(cat, on)| *cat == c && on.get_untracked())
        };
        decide(Grants {
            usage: granted(Category::Usage),
            errors: granted(Category::Errors),
            performance: granted(Category::Performance),
            marketing: granted(Category::Marketing),
        });
    };
    let erase = move |_| {
        erase_result.set(Some("Erasing…".into()));
        let promise = sonde.with_value(|s| s.erase());
        wasm_bindgen_futures::spawn_local(async move {
            let message = match JsFuture::from(promise).await {
                Ok(receipt) => erased_message(&receipt),
                Err(e) => format!(
                    "Nothing was erased: {}.",
                    e.as_string().unwrap_or_else(|| "the request failed".into())
                ),
            };
            erase_result.set(Some(message));
        });
    };
    let on_keydown = move |e: KeyboardEvent| {
        // Escape closes the details without deciding anything; in the
        // settings, a second Escape closes them unchanged.
        if e.key() == "Escape" {
            if choosing.get_untracked() && open.get_untracked() == Some(Mode::Banner) {
                choosing.set(false);
            } else if open.get_untracked() == Some(Mode::Settings) {
                close();
            } else {
                choosing.set(false);
            }
        }
    };
    let in_settings = move || open.get() == Some(Mode::Settings);

    view! {
        <Show when=move || open.get().is_some()>
            <section
                class="sonde-banner"
                role="dialog"
                aria-modal="false"
                aria-labelledby="sonde-title"
                aria-describedby="sonde-text"
                tabindex="-1"
                data-mode=move || open.get().map(Mode::source)
                on:keydown=on_keydown
            >
                <h2 id="sonde-title">
                    {move || if in_settings() { "Privacy settings" } else { "Your privacy on this site" }}
                </h2>
                <p id="sonde-text">
                    "This site would like to learn how it is used, without knowing who you are. "
                    "Nothing is collected until you choose, and you can change your mind at any time."
                </p>
                {gpc.then(|| view! {
                    <p class="sonde-gpc" data-gpc>
                        "Your browser sends Global Privacy Control, so we honour it: everything optional "
                        "starts off, and marketing stays off unless you tick it yourself."
                    </p>
                })}
                <Show when=move || choosing.get()>
                    <fieldset class="sonde-choices">
                        <legend>"Choose what this site may learn"</legend>
                        <p class="sonde-necessary">
                            <strong>{describe(Category::Necessary).0}</strong>
                            " — "
                            {describe(Category::Necessary).1}
                        </p>
                        {choices
                            .into_iter()
                            .map(|(category, checked)| view! { <Choice category checked gpc /> })
                            .collect_view()}
                        <button type="button" class="sonde-button" data-action="save" on:click=save_choices>
                            "Save choices"
                        </button>
                    </fieldset>
                </Show>
                <div class="sonde-actions">
                    <button type="button" class="sonde-button" data-action="reject" on:click=move |_| decide(Grants::NONE)>
                        "Reject all"
                    </button>
                    <button
                        type="button"
                        class="sonde-button"
                        data-action="choose"
                        aria-expanded=move || choosing.get().to_string()
                        on:click=move |_| {
                            choosing.update(|c| *c = !*c);
                            // Keyboard users land on the first choice, not
                            // below the list they just opened.
                            if choosing.get_untracked() {
                                request_animation_frame(|| focus("#sonde-category-usage"));
                            }
                        }
                    >
                        "Choose"
                    </button>
                    <button
                        type="button"
                        class="sonde-button"
                        data-action="accept"
                        on:click=move |_| decide(Grants::accept_all(gpc))
                    >
                        "Accept all"
                    </button>
                </div>
                <Show when=in_settings>
                    <div class="sonde-erase">
                        <button type="button" class="sonde-link" data-action="erase" on:click=erase>
                            "Erase my data"
                        </button>
                        <button type="button" class="sonde-link" data-action="close" on:click=move |_| close()>
                            "Close"
                        </button>
                        <p role="status" aria-live="polite" data-erase-result>
                            {move || erase_result.get()}
                        </p>
                    </div>
                </Show>
            </section>
        </Show>
    }
}

/// One category's checkbox and what it means.
#[component]
fn Choice(category: Category, checked: RwSignal<bool>, gpc: bool) -> impl IntoView {
    let (name, what) = describe(category);
    let id = format!("sonde-category-{}", category.as_str());
    let gpc_note = (gpc && category == Category::Marketing)
        .then_some(" Off because of Global Privacy Control; tick it only if you want to allow it.");
    let label_for = id.clone();
    view! {
        <label class="sonde-choice" for=label_for>
            <input
                type="checkbox"
                id=id
                name=category.as_str()
                prop:checked=move || checked.get()
                on:change=move |e| checked.set(event_target_checked(&e))
            />
            <span>
                <strong>{name}</strong>
                " — "
                {what}
                {gpc_note}
            </span>
        </label>
    }
}

fn erased_message(receipt: &wasm_bindgen::JsValue) -> String {
    let count = |key: &str| {
        js_sys::Reflect::get(receipt, &key.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0) as u64
    };
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Erased {} and {}. Older data needs no erasing: it was never linked to you, \
         because the anonymous id it was counted under changes every day and \
         yesterday's key is destroyed.",
        plural(count("eventsDeleted"), "event", "events"),
        plural(
            count("consentRecordsDeleted"),
            "consent record",
            "consent records"
        ),
    )
}

fn active_element() -> Option<web_sys::HtmlElement> {
    web_sys::window()?
        .document()?
        .active_element()?
        .dyn_into()
        .ok()
}

fn focus(selector: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}
