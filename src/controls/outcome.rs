//! What a form says after it is sent: that it was saved, or why not.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ClientError;

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

/// Sends a change made from a list (a removal, a revocation) and says how
/// it went in `outcome`: `done`, when given, once it went through, after
/// which `then` runs (the list loads again); the server's reason if not.
pub fn send_change(
    outcome: FormOutcome,
    change: impl Future<Output = Result<(), ClientError>> + 'static,
    done: Option<String>,
    then: Callback<()>,
) {
    spawn_local(async move {
        match change.await {
            Ok(()) => {
                if let Some(done) = done {
                    outcome.set(Some(Ok(done)));
                }
                then.run(());
            }
            Err(e) => outcome.set(Some(Err(e.to_string()))),
        }
    });
}
