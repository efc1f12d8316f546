//! The funnels page: the saved funnels of the site, and a builder that runs
//! a funnel over the chosen range and filters and saves it (admins). `?id=` opens a
//! saved funnel, so a funnel can be bookmarked and shared; `?step=NAME`
//! starts a new one from the home page to that event (the events page
//! links so).

mod builder;
mod result;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api;
use crate::layout::ReportPage;
use crate::route::Page;
use crate::session::Session;
use builder::Builder;

#[component]
pub fn Funnels() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| query.read().get("id"));
    let step = Memo::new(move |_| query.read().get("step"));
    // Bumped after a save or delete, so the list reloads.
    let changed = RwSignal::new(0u32);
    let load = move |site: String| {
        changed.track();
        async move {
            let funnels = api::saved_funnels(&site).await?;
            Ok((site, funnels))
        }
    };
    let session = expect_context::<Session>();
    let admin = move || session.is_admin();
    view! {
        <ReportPage page=Page::Funnels load let((site, funnels))>
            {
                let open = id.get();
                let chosen = open.as_ref().and_then(|id| funnels.iter().find(|f| &f.id == id).cloned());
                let missing = open.is_some() && chosen.is_none();
                view! {
                    <nav class="saved-funnels" aria-label="Saved funnels">
                        <h3>"Saved funnels"</h3>
                        {if funnels.is_empty() {
                            view! { <p class="muted">"No funnel saved yet: build one below."</p> }.into_any()
                        } else {
                            view! {
                                <ul>
                                    {funnels.iter().map(|f| view! {
                                        <li><a href=format!("{}?id={}", Page::Funnels.path(), f.id)>{f.funnel.name.clone()}</a></li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        <a href=Page::Funnels.path()>"New funnel"</a>
                    </nav>
                    {missing.then(|| view! { <p class="error" role="alert">"This funnel was deleted."</p> })}
                    <Builder site saved=chosen draft=step.get().map(|name| builder::to_event(&name)) admin=admin() on_change=Callback::new(move |()| changed.update(|n| *n += 1)) />
                }
            }
        </ReportPage>
    }
}
