//! The consent banner: accept all, reject all or choose per category, all
//! equally prominent, nothing pre-ticked.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use sonde_collector::Collector;
use sonde_protocol::{Category, Grants};

use super::describe;

/// Asks the visitor what the site may learn, and records the answer with the
/// collector. Reopened from the site's privacy settings link.
#[component]
pub fn ConsentBanner(
    /// The collector that records and applies the decision.
    collector: StoredValue<Collector, LocalStorage>,
    /// Whether the banner is shown; a decision closes it.
    open: RwSignal<bool>,
) -> impl IntoView {
    let choosing = RwSignal::new(false);
    let choices = Category::OPTIONAL.map(|category| (category, RwSignal::new(false)));
    // Reopening shows the decision in force, not a blank form.
    Effect::new(move || {
        if open.get() {
            let grants = collector
                .try_with_value(|c| c.decision().map(|d| d.grants))
                .flatten()
                .unwrap_or_default();
            for (category, checked) in choices {
                checked.set(grants.allows(category));
            }
        }
    });
    let decide = move |grants: Grants| {
        collector.with_value(|c| c.decide(grants));
        choosing.set(false);
        open.set(false);
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
    let on_keydown = move |e: KeyboardEvent| {
        // Escape closes the details without deciding anything.
        if e.key() == "Escape" {
            choosing.set(false);
        }
    };

    view! {
        <Show when=move || open.get()>
            <section
                class="sonde-banner"
                role="dialog"
                aria-labelledby="sonde-banner-title"
                aria-describedby="sonde-banner-text"
                on:keydown=on_keydown
            >
                <h2 id="sonde-banner-title">"Your privacy on this site"</h2>
                <p id="sonde-banner-text">
                    "This site would like to learn how it is used, anonymously. "
                    "Nothing is collected until you choose, and you can change your mind at any time from the privacy settings link."
                </p>
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
                            .map(|(category, checked)| {
                                let (name, what) = describe(category);
                                let id = format!("sonde-category-{}", category.as_str());
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
                                        </span>
                                    </label>
                                }
                            })
                            .collect_view()}
                        <button class="sonde-button" data-action="save" on:click=save_choices>
                            "Save choices"
                        </button>
                    </fieldset>
                </Show>
                <div class="sonde-actions">
                    <button class="sonde-button" data-action="reject" on:click=move |_| decide(Grants::NONE)>
                        "Reject all"
                    </button>
                    <button
                        class="sonde-button"
                        data-action="choose"
                        aria-expanded=move || choosing.get().to_string()
                        on:click=move |_| choosing.update(|c| *c = !*c)
                    >
                        "Choose"
                    </button>
                    <button class="sonde-button" data-action="accept" on:click=move |_| decide(Grants::ALL)>
                        "Accept all"
                    </button>
                </div>
            </section>
        </Show>
    }
}
