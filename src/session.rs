//! Who is reading: the gate before the dashboard. A share link (`/?share=…`)
//! reads its site without signing in; anyone else signs in first.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::account::{Principal, Role};

use crate::api::{self, ClientError};

/// The page's reader, for the components behind the gate.
#[derive(Clone, Copy, Debug)]
pub struct Session(RwSignal<Option<Result<Principal, ClientError>>>);

impl Session {
    pub fn principal(&self) -> Option<Principal> {
        self.0.get().and_then(Result::ok)
    }

    /// Whether the reader is an admin (who may save funnels and goals).
    pub fn is_admin(&self) -> bool {
        matches!(
            self.principal(),
            Some(Principal::User {
                role: Role::Admin,
                ..
            })
        )
    }

    /// Whether the reader signed in (not a share link).
    pub fn is_user(&self) -> bool {
        matches!(self.principal(), Some(Principal::User { .. }))
    }

    /// Signs out and shows the sign-in form.
    pub fn sign_out(&self) {
        let state = self.0;
        spawn_local(async move {
            let outcome = api::sign_out().await;
            state.set(Some(Err(outcome.err().unwrap_or(ClientError::Api(
                sonde_protocol::ApiError {
                    code: "sign_in_required".into(),
                    message: "You signed out.".into(),
                    field: None,
                },
            )))));
        });
    }
}

/// The share link's token in the page's URL, if it has one.
pub fn share_token() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get("share")
        .filter(|t| !t.is_empty())
}

#[component]
pub fn SessionGate(children: ChildrenFn) -> impl IntoView {
    if let Some(token) = share_token() {
        api::use_share_token(token);
    }
    let state = RwSignal::new(None);
    spawn_local(async move { state.set(Some(api::session().await)) });
    provide_context(Session(state));
    let children = StoredValue::new(children);
    move || match state.get() {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Ok(_)) => children.read_value()().into_any(),
        Some(Err(e)) if e.needs_sign_in() && share_token().is_none() => {
            let on_signed_in = Callback::new(move |p: Principal| state.set(Some(Ok(p))));
            view! { <SignInForm on_signed_in /> }.into_any()
        }
        Some(Err(e)) => view! {
            <main class="sign-in">
                <h1>"Sonde"</h1>
                <p class="error" role="alert">{e.to_string()}</p>
            </main>
        }
        .into_any(),
    }
}

#[component]
fn SignInForm(
    /// Called with the reader once the server accepted the password.
    on_signed_in: Callback<Principal>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        error.set(None);
        spawn_local(async move {
            match api::sign_in(username.get_untracked(), password.get_untracked()).await {
                Ok(principal) => on_signed_in.run(principal),
                Err(e) => {
                    error.set(Some(e.to_string()));
                    pending.set(false);
                }
            }
        });
    };
    view! {
        <main class="sign-in">
            <h1>"Sonde"</h1>
            <form on:submit=submit aria-label="Sign in">
                <label>
                    "Username"
                    <input type="text" name="username" autocomplete="username" required bind:value=username />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required bind:value=password />
                </label>
                <button type="submit" disabled=pending>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </form>
        </main>
    }
}
