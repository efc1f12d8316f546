//! What a form says after it is sent: that it was saved, or why not.

use leptos::prelude::*;

/// A form's last outcome: `Ok` with what was done, `Err` with why not.
pub type FormOutcome = RwSignal<Option<Result<String, String>>>;

/// The outcome of a form, announced to screen readers (a status when it
/// went through, an alert when it did not); nothing before it is sent.
#[component]
pub fn Outcome(
    /// Set by the form when its request answers.
    outcome: FormOutcome,
) -> impl IntoView {
    move || {
        outcome.get().map(|o| match o {
            Ok(text) => view! { <p class="notice" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })
    }
}
