//! The annotations page: the marks on the site's timeline (a deploy, a
//! campaign launch) in the range, with their CSV download and, for admins,
//! a form to add one and a way to remove each. The charts draw them
//! through [`crate::timeline`].

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::annotation::{Annotation, MAX_TEXT, NewAnnotation};

use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome, send_change, use_view};
use crate::layout::ReportPage;
use crate::local_time::local_time;
use crate::route::Page;
use crate::session::Session;

/// What the page shows: the site, the range's bounds and its annotations.
#[derive(Clone)]
struct Listed {
    site: String,
    from: i64,
    to: i64,
    annotations: Vec<Annotation>,
}

#[component]
pub fn AnnotationsPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let view = use_view();
    let session = expect_context::<Session>();
    let fetch = move |site: String| {
        changed.track();
        let (from, to) = view.range.get().bounds(js_sys::Date::now() as i64);
        async move {
            let annotations: Result<Vec<Annotation>, ClientError> =
                api::annotations(&site, from, to).await;
            annotations.map(|annotations| Listed {
                site,
                from,
                to,
                annotations,
            })
        }
    };
    let reload = Callback::new(move |()| changed.update(|n| *n += 1));
    let outcome: FormOutcome = RwSignal::new(None);
    view! {
        <ReportPage page=Page::Annotations load=fetch failure="The annotations could not load: "
            ignores_filters="Annotations mark the whole site's timeline: the filters do not apply here."
            let(listed)>
            <div class="form-outcome annotations-outcome"><Outcome outcome=outcome /></div>
            <AnnotationList listed=listed.clone() admin=session.is_admin() outcome=outcome on_change=reload />
            {session.is_admin().then(|| view! {
                <AnnotationForm site=listed.site.clone() outcome=outcome on_saved=reload />
            })}
        </ReportPage>
    }
}

/// The range's annotations, oldest first, with their CSV and, for admins,
/// a way to remove each.
#[component]
fn AnnotationList(
    listed: Listed,
    /// Whether the reader may remove annotations.
    admin: bool,
    /// Where removing says how it went.
    outcome: FormOutcome,
    /// Called after an annotation was removed.
    on_change: Callback<()>,
) -> impl IntoView {
    let range = use_view().range;
    let csv = api::annotations_csv_url(&listed.site, listed.from, listed.to);
    if listed.annotations.is_empty() {
        return view! {
            <section class="panel record-list annotation-list">
                <h3>"Annotations"</h3>
                <p class="empty">{move || format!("No annotation in {}.", range.get().phrase())}</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel record-list annotation-list">
            <h3>"Annotations " <a class="csv" href=csv download data-export="csv">"CSV"</a></h3>
            <table class="breakdown" data-annotations="">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Added by"</th>
                    {admin.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {listed.annotations.into_iter().map(|a| {
                        let (id, text) = (a.id.clone(), a.text.clone());
                        let remove = move |_| {
                            let id = id.clone();
                            send_change(outcome, async move { api::delete_annotation(&id).await }, None, on_change);
                        };
                        view! {
                            <tr data-annotation=a.id.clone()>
                                <td data-label="When">{local_time(a.at)}</td>
                                <td data-label="What">{a.text.clone()}</td>
                                <td data-label="Added by">{a.added_by.clone()}</td>
                                {admin.then(|| view! {
                                    <td class="actions">
                                        <button type="button" class="link" aria-label=format!("Remove {text}") on:click=remove>"Remove"</button>
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// `ms` as a `datetime-local` input's value, in the reader's time.
fn input_value(ms: i64) -> String {
    let date = js_sys::Date::new(&js_sys::Number::from(ms as f64).into());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// A `datetime-local` input's value (the reader's time) in ms, if it is one.
fn input_ms(value: &str) -> Option<i64> {
    let ms = js_sys::Date::new(&value.into()).get_time();
    (!ms.is_nan()).then_some(ms as i64)
}

/// Adds an annotation at an instant, now unless changed.
#[component]
fn AnnotationForm(
    site: String,
    /// Where the form says whether it was saved.
    outcome: FormOutcome,
    /// Called after the annotation is saved.
    on_saved: Callback<()>,
) -> impl IntoView {
    let when = RwSignal::new(input_value(js_sys::Date::now() as i64));
    let text = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(at) = input_ms(&when.get_untracked()) else {
            outcome.set(Some(Err("Give the date and time it happened.".into())));
            return;
        };
        let annotation = NewAnnotation {
            at,
            text: text.get_untracked().trim().to_owned(),
        };
        let site = site.clone();
        spawn_local(async move {
            match api::add_annotation(&site, &annotation).await {
                Ok(saved) => {
                    outcome.set(Some(Ok(format!(
                        "Added “{}” at {}.",
                        saved.text,
                        local_time(saved.at)
                    ))));
                    text.set(String::new());
                    on_saved.run(());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <section class="panel entry-form annotation-form">
            <h3>"Add an annotation"</h3>
            <p class="hint">"Shown on every chart over time. A deploy pipeline can add them with an API key that may add annotations: "
                <code>"POST /api/sites/{site}/annotations"</code> "."</p>
            <form on:submit=submit aria-label="Add an annotation">
                <label>"When" <input type="datetime-local" name="annotation-at" bind:value=when required=true /></label>
                <label class="wide">"What happened"
                    <input type="text" name="annotation-text" bind:value=text maxlength=MAX_TEXT.to_string() placeholder="Deploy 2.4.0" required=true />
                </label>
                <button type="submit">"Add"</button>
            </form>
        </section>
    }
}
