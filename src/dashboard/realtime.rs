//! Who is on the site now: the last 30 minutes, refreshed every 15 seconds
//! without reloading the page.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::usage::RealtimeReport;

use crate::api::{self, ClientError};

const REFRESH: Duration = Duration::from_secs(15);

#[component]
pub fn Realtime(
    /// The site shown.
    site: String,
) -> impl IntoView {
    let state = RwSignal::new(None::<Result<RealtimeReport, ClientError>>);
    let refresh = move |site: String| {
        spawn_local(async move { state.set(Some(api::realtime(&site).await)) });
    };
    refresh(site.clone());
    let handle = set_interval_with_handle(move || refresh(site.clone()), REFRESH).ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });
    view! {
        <section class="realtime" aria-label="Now" aria-live="polite">
            {move || match state.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">"Who is on the site now could not load: " {e.to_string()}</p> }.into_any(),
                Some(Ok(now)) => {
                    let pages = now
                        .pages
                        .iter()
                        .map(|p| format!("{} ({})", p.path, p.visitors))
                        .collect::<Vec<_>>()
                        .join(", ");
                    view! {
                        <p>
                            <span class="pulse" aria-hidden="true"></span>
                            <strong data-figure="realtime-visitors">{now.visitors}</strong>
                            {if now.visitors == 1 { " visitor" } else { " visitors" }}
                            " in the last 30 minutes, "
                            <span data-figure="realtime-pageviews">{now.pageviews}</span>
                            " page views"
                            {(!pages.is_empty()).then(|| format!(": {pages}"))}
                            {(now.pages_hidden > 0).then(|| format!(" (and {} pages with fewer visitors)", now.pages_hidden))}
                        </p>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
