//! The frame every dashboard page shares: the title, the pages, who is
//! reading, and the way out.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};
use sonde_protocol::account::Principal;

use crate::session::Session;

/// The dashboard's pages, in the order of the navigation.
const PAGES: [(&str, &str); 6] = [
    ("/", "Overview"),
    ("/funnels", "Funnels"),
    ("/conversions", "Conversions"),
    ("/errors", "Errors"),
    ("/performance", "Performance"),
    ("/consent", "Consent"),
];

#[component]
pub fn Page(
    /// What the page shows, as its heading.
    title: &'static str,
    /// Controls for the page's header (a range picker).
    #[prop(optional)]
    controls: Option<Children>,
    children: Children,
) -> impl IntoView {
    let location = use_location();
    let query = use_query_map();
    // The range, the filters and a share link's token go along to the
    // next page, so the view stays what it was, and shareable.
    let carried = move || {
        let mut query = query.get();
        if let Some(token) = crate::session::share_token() {
            query.replace("share", token);
        }
        crate::view::carried(&query)
    };
    view! {
        <div class="dashboard">
            <header class="dashboard-header">
                <h1>"Sonde"</h1>
                <nav aria-label="Dashboard pages" class="pages">
                    {PAGES
                        .into_iter()
                        .map(|(path, label)| {
                            let current = move || {
                                (location.pathname.get() == path).then_some("page")
                            };
                            view! {
                                <a href=move || format!("{path}{}", carried()) aria-current=current>
                                    {label}
                                </a>
                            }
                        })
                        .collect_view()}
                </nav>
                {controls.map(|c| c())}
                <a href="/demo/" rel="external">"Open the demo shop"</a>
                <Reader />
            </header>
            <h2 class="page-title">{title}</h2>
            {children()}
        </div>
    }
}

/// Who is reading, and the way out.
#[component]
fn Reader() -> impl IntoView {
    let session = expect_context::<Session>();
    move || {
        match session.principal() {
        Some(Principal::User { username, role, .. }) => view! {
            <div class="reader">
                <span>{username} " (" {role.as_str()} ")"</span>
                <button type="button" class="link" on:click=move |_| session.sign_out()>"Sign out"</button>
            </div>
        }
        .into_any(),
        Some(Principal::Share { site }) => view! {
            <div class="reader"><span>"Shared read-only view of " <code>{site}</code></span></div>
        }
        .into_any(),
        None => ().into_any(),
    }
    }
}
