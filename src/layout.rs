//! The frame every dashboard page shares (the title, the pages, the range,
//! who is reading, and the way out), and the shell of a report page: the
//! filters, then the report of the current site, loading, or why it could
//! not load.

use std::future::Future;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};
use sonde_protocol::account::Principal;

use crate::api::ClientError;
use crate::controls::{FilterChips, RangeControl, VersusControl, query, use_view};
use crate::route::Page;
use crate::session::Session;
use crate::site::{CurrentSite, SiteSwitcher};
use crate::timeline::provide_page_annotations;

/// What a report page says when its report holds nothing: "No error was
/// reported in the last 7 days (errors are collected from visitors who
/// allow them, in the visits the filters select)."
pub struct Nothing<T> {
    /// Whether the report holds nothing to show.
    pub when: fn(&T) -> bool,
    /// What did not happen ("No error was reported").
    pub said: &'static str,
    /// Where the report's data comes from, the reason it may have none
    /// ("errors are collected from visitors who allow them").
    pub source: &'static str,
}

/// A report page: the frame, the filters (or why they do not apply here),
/// and what `load` fetched for the current site, drawn by `children`
/// (or, when it holds nothing, what [`Nothing`] says).
///
/// `load` runs again whenever a signal it reads when called changes (the
/// range and the filters of [`use_view`](crate::controls::use_view)), and
/// the report shown stays until the new one arrives.
#[component]
pub fn ReportPage<T, Load, Fut, Show, V>(
    /// Which page this is: its heading and its place in the navigation.
    page: Page,
    /// Fetches the page's report for the site shown.
    load: Load,
    /// Said before the reason when the report cannot load ("The errors
    /// could not load: ").
    #[prop(optional)]
    failure: &'static str,
    /// Why the filters do not apply to this page, if they do not: said in
    /// place of the filter chips while any filter is set.
    #[prop(optional)]
    ignores_filters: Option<&'static str>,
    /// What to say instead of drawing a report that holds nothing.
    #[prop(optional)]
    nothing: Option<Nothing<T>>,
    /// Draws the report.
    children: Show,
) -> impl IntoView
where
    T: Clone + 'static,
    Load: Fn(String) -> Fut + 'static,
    Fut: Future<Output = Result<T, ClientError>> + 'static,
    Show: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let site = expect_context::<CurrentSite>();
    provide_page_annotations();
    let report = LocalResource::new(move || {
        // Called here, not in the future, so the signals `load` reads
        // are tracked.
        let request = site.get().map(|site| site.map(&load));
        async move {
            match request {
                None => None,
                Some(Ok(loading)) => Some(loading.await),
                Some(Err(e)) => Some(Err(e)),
            }
        }
    });
    let view = use_view();
    let nothing = nothing.map(|n| {
        let said = move || {
            format!(
                "{} in {} ({}{}).",
                n.said,
                view.range.get_untracked().phrase(),
                n.source,
                if view.filters.get_untracked().is_empty() {
                    ""
                } else {
                    ", in the visits the filters select"
                },
            )
        };
        (n.when, said)
    });
    let filters = match ignores_filters {
        None => view! { <FilterChips /> }.into_any(),
        Some(reason) => (move || {
            (!view.filters.get().is_empty()).then(|| {
                view! { <p class="notice" data-filters-ignored="">{reason}</p> }
            })
        })
        .into_any(),
    };
    let loading = || view! { <p class="loading">"Loading…"</p> };
    view! {
        <Frame page>
            {filters}
            <Transition fallback=loading>
                {move || {
                    report.get().map(|loaded| match loaded {
                        None => loading().into_any(),
                        Some(Ok(report)) => match &nothing {
                            Some((empty, said)) if empty(&report) => {
                                view! { <p class="empty">{said()}</p> }.into_any()
                            }
                            _ => children(report).into_any(),
                        },
                        Some(Err(e)) => view! {
                            <p class="error" role="alert">{format!("{failure}{e}")}</p>
                        }
                        .into_any(),
                    })
                }}
            </Transition>
        </Frame>
    }
}

/// The header and the page's heading around its content.
#[component]
fn Frame(
    /// The page shown.
    page: Page,
    children: Children,
) -> impl IntoView {
    let location = use_location();
    let query = use_query_map();
    let session = expect_context::<Session>();
    // The range, the filters and a share link's token go along to the
    // next page, so the view stays what it was, and shareable.
    let carried = move || {
        let mut query = query.get();
        if let Some(token) = crate::session::share_token() {
            query.replace("share", token);
        }
        query::carried(&query)
    };
    view! {
        <div class="dashboard">
            <header class="dashboard-header">
                <h1>"Sonde"</h1>
                <nav aria-label="Dashboard pages" class="pages">
                    {Page::ALL
                        .into_iter()
                        .filter(|to| !(to.needs_account() && crate::session::share_token().is_some()))
                        .filter(|to| !to.needs_admin() || session.is_admin())
                        .map(|to| {
                            let path = to.path();
                            let current = move || {
                                (location.pathname.get() == path).then_some("page")
                            };
                            view! {
                                <a href=move || format!("{path}{}", carried()) aria-current=current>
                                    {to.label()}
                                </a>
                            }
                        })
                        .collect_view()}
                </nav>
                <SiteSwitcher />
                <RangeControl />
                <VersusControl />
                <a href="/demo/" rel="external">"Open the demo shop"</a>
                <Reader />
            </header>
            <h2 class="page-title">{page.label()}</h2>
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
