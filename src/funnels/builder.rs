//! The funnel builder: a name, 2 to 8 steps (a page path with `*`, or an
//! event name with an optional property match), a window and a unit; run,
//! save, delete.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use sonde_protocol::funnel::{
    FunnelDefinition, FunnelDimension, FunnelQuery, FunnelReport, FunnelUnit, MAX_STEPS,
    SavedFunnel, Step,
};

use super::result::FunnelResult;
use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome};
use crate::route::Page;

/// One step being edited; its own signals, so typing does not redraw the list.
#[derive(Clone, Copy)]
struct StepRow {
    key: usize,
    /// "page" or "event".
    kind: RwSignal<String>,
    text: RwSignal<String>,
    /// An event step's property, and the value it must have (either may be
    /// empty: no property match, or any value).
    property: RwSignal<String>,
    value: RwSignal<String>,
}

impl StepRow {
    fn new(key: usize, step: &Step) -> Self {
        let (kind, text, property, value) = match step {
            Step::Page { path } => ("page", path.clone(), None, None),
            Step::Event {
                name,
                property,
                value,
            } => ("event", name.clone(), property.clone(), value.clone()),
        };
        StepRow {
            key,
            kind: RwSignal::new(kind.into()),
            text: RwSignal::new(text),
            property: RwSignal::new(property.unwrap_or_default()),
            value: RwSignal::new(value.unwrap_or_default()),
        }
    }

    fn step(&self) -> Step {
        let text = self.text.get_untracked().trim().to_owned();
        let given = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|t| !t.is_empty())
        };
        if self.kind.get_untracked() == "event" {
            let property = given(self.property);
            Step::Event {
                name: text,
                value: property.as_ref().and(given(self.value)),
                property,
            }
        } else {
            Step::Page { path: text }
        }
    }
}

/// A new funnel from the home page to the event `name`.
pub fn to_event(name: &str) -> FunnelDefinition {
    FunnelDefinition {
        name: name.to_owned(),
        steps: vec![
            Step::Page { path: "/".into() },
            Step::Event {
                name: name.to_owned(),
                property: None,
                value: None,
            },
        ],
        ..starter()
    }
}

fn starter() -> FunnelDefinition {
    FunnelDefinition {
        name: String::new(),
        steps: vec![
            Step::Page { path: "/".into() },
            Step::Page {
                path: String::new(),
            },
        ],
        window_ms: 3_600_000,
        unit: FunnelUnit::Session,
    }
}

#[component]
pub fn Builder(
    site: String,
    /// The saved funnel opened, if any.
    saved: Option<SavedFunnel>,
    /// A new funnel to start from, when none is opened.
    draft: Option<FunnelDefinition>,
    /// Whether the reader may save and delete.
    admin: bool,
    /// Called after a save or a delete.
    on_change: Callback<()>,
) -> impl IntoView {
    let id = saved.as_ref().map(|s| s.id.clone());
    let definition = saved.map(|s| s.funnel).or(draft).unwrap_or_else(starter);
    let name = RwSignal::new(definition.name.clone());
    let rows = RwSignal::new(
        definition
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepRow::new(i, s))
            .collect::<Vec<_>>(),
    );
    let next_key = StoredValue::new(definition.steps.len());
    let window_minutes = RwSignal::new((definition.window_ms / 60_000).to_string());
    let per_visitor = RwSignal::new(definition.unit == FunnelUnit::Visitor);
    // "" for none, else a dimension's name.
    let breakdown = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<FunnelReport, ClientError>>);
    let message: FormOutcome = RwSignal::new(None);

    let current = move || FunnelDefinition {
        name: name.get_untracked().trim().to_owned(),
        steps: rows.get_untracked().iter().map(StepRow::step).collect(),
        window_ms: window_minutes
            .get_untracked()
            .trim()
            .parse::<i64>()
            .unwrap_or(0)
            * 60_000,
        unit: if per_visitor.get_untracked() {
            FunnelUnit::Visitor
        } else {
            FunnelUnit::Session
        },
    };
    let view = crate::controls::use_view();
    let run_site = site.clone();
    let run = move || {
        let (from, to) = view
            .range
            .get_untracked()
            .bounds(js_sys::Date::now() as i64);
        let query = FunnelQuery {
            site: run_site.clone(),
            from,
            to,
            funnel: current(),
            filters: view.filters.get_untracked(),
            compare: true,
            versus: view.versus.get_untracked(),
            breakdown: FunnelDimension::ALL
                .into_iter()
                .find(|d| d.as_str() == breakdown.get_untracked()),
        };
        report.set(None);
        spawn_local(async move { report.set(Some(api::run_funnel(&query).await)) });
    };
    // A saved funnel runs when opened; a funnel on screen runs again when
    // the range or the filters change.
    let rerun = run.clone();
    let opened = id.is_some();
    Effect::new(move |first: Option<()>| {
        view.range.track();
        view.filters.track();
        view.versus.track();
        if first.is_none() && opened || first.is_some() && report.get_untracked().is_some() {
            rerun();
        }
    });
    let navigate = use_navigate();
    let save_id = id.clone();
    let save = move |_| {
        let (site, id, funnel, navigate) =
            (site.clone(), save_id.clone(), current(), navigate.clone());
        spawn_local(async move {
            match api::save_funnel(&site, id.as_deref(), &funnel).await {
                Ok(saved) => {
                    message.set(Some(Ok(format!("Saved “{}”.", saved.funnel.name))));
                    on_change.run(());
                    navigate(
                        &format!("{}?id={}", Page::Funnels.path(), saved.id),
                        Default::default(),
                    );
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    let delete_id = id.clone();
    let navigate = use_navigate();
    let delete = move |_| {
        let (Some(id), navigate) = (delete_id.clone(), navigate.clone()) else {
            return;
        };
        spawn_local(async move {
            match api::delete_funnel(&id).await {
                Ok(()) => {
                    on_change.run(());
                    navigate(Page::Funnels.path(), Default::default());
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    let run_now = run.clone();
    view! {
        <form class="funnel-builder" aria-label="Funnel" on:submit=move |ev| { ev.prevent_default(); run_now(); }>
            <label class="funnel-name">
                "Name"
                <input type="text" name="funnel-name" bind:value=name placeholder="Checkout" />
            </label>
            <ol class="funnel-steps">
                <For each=move || rows.get() key=|row| row.key let:row>
                    <li class="funnel-step">
                        <select aria-label="Step type" prop:value=move || row.kind.get()
                            on:change=move |ev| row.kind.set(event_target_value(&ev))>
                            <option value="page">"Page"</option>
                            <option value="event">"Event"</option>
                        </select>
                        <input type="text" aria-label="Page path or event name" bind:value=row.text
                            placeholder=move || if row.kind.get() == "event" { "signup" } else { "/pricing or /blog/*" } />
                        <Show when=move || row.kind.get() == "event">
                            <span class="property-match">
                                "where "
                                <input type="text" name="step-property" aria-label="Event property (optional)"
                                    bind:value=row.property placeholder="plan" size="8" />
                                " = "
                                <input type="text" name="step-value" aria-label="Property value (optional: any)"
                                    bind:value=row.value placeholder="any value" size="8" />
                            </span>
                        </Show>
                        <button type="button" class="link" aria-label="Remove this step"
                            disabled=move || { rows.read().len() <= 2 }
                            on:click=move |_| rows.update(|r| r.retain(|x| x.key != row.key))>"Remove"</button>
                    </li>
                </For>
            </ol>
            <div class="funnel-options">
                <button type="button" disabled=move || { rows.read().len() >= MAX_STEPS }
                    on:click=move |_| {
                        let key = next_key.get_value();
                        next_key.set_value(key + 1);
                        rows.update(|r| r.push(StepRow::new(key, &Step::Page { path: String::new() })));
                    }>"Add a step"</button>
                <label>
                    "Window (minutes)"
                    <input type="number" min="1" name="window" bind:value=window_minutes />
                </label>
                <label>
                    <input type="checkbox" bind:checked=per_visitor />
                    "Count visitors, not visits"
                </label>
                <label>
                    "Break down by"
                    <select name="breakdown" prop:value=move || breakdown.get()
                        on:change=move |ev| breakdown.set(event_target_value(&ev))>
                        <option value="">"nothing"</option>
                        {FunnelDimension::ALL.into_iter().map(|d| view! {
                            <option value=d.as_str()>{d.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="funnel-actions">
                <button type="submit" class="primary">{move || format!("Run over {}", view.range.get().phrase())}</button>
                {admin.then(|| view! {
                    <button type="button" on:click=save>{if id.is_some() { "Save changes" } else { "Save" }}</button>
                })}
                {(admin && id.is_some()).then(|| view! {
                    <button type="button" class="danger" on:click=delete>"Delete"</button>
                })}
            </div>
            <Outcome outcome=message />
        </form>
        {move || match report.get() {
            None => view! { <p class="muted">"Run the funnel to see how many get through each step."</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">"The funnel could not run: " {e.to_string()}</p> }.into_any(),
            Some(Ok(report)) => view! {
                <FunnelResult steps=rows.get_untracked().iter().map(|r| r.step()).collect() report versus=view.versus.get_untracked() />
            }.into_any(),
        }}
    }
}
