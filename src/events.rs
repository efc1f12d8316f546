//! The events page, for product managers: what visitors did besides
//! viewing pages (custom events, marked clicks, forms sent, outbound links
//! and downloads) over the range, each with its count, visitors and value.
//! `?event=kind:name` chooses one: its figures over time and by property.
//! An event a funnel step or a goal can name opens the funnel builder with
//! it as a step, or the goal form with it filled in.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use sonde_protocol::events_report::{ChosenEvent, EventStat, EventsReport, InteractionKind};
use sonde_protocol::{Filters, Granularity, Versus};

use crate::api::{self, ClientError};
use crate::charts;
use crate::controls::query::{carried, href};
use crate::controls::{Range, period, use_view};
use crate::layout::ReportPage;
use crate::route::Page;
use crate::session::Session;
use crate::timeline::{ChartMarks, MarkKey};

/// `kind:name`, as `?event=` says it.
fn choice_param(kind: InteractionKind, name: &str) -> String {
    format!("{}:{name}", kind.as_str())
}

fn parse_choice(param: &str) -> Option<(InteractionKind, String)> {
    let (kind, name) = param.split_once(':')?;
    Some((InteractionKind::parse(kind)?, name.to_owned()))
}

async fn load(
    site: String,
    range: Range,
    filters: Filters,
    chosen: Option<(InteractionKind, String)>,
) -> Result<EventsReport, ClientError> {
    // The events report is not compared with another period.
    let period = period(&site, range, &filters, Versus::Previous);
    api::events(&period, chosen.as_ref()).await
}

#[component]
pub fn Events() -> impl IntoView {
    let query = use_query_map();
    let chosen = Memo::new(move |_| query.read().get("event").and_then(|e| parse_choice(&e)));
    let view = use_view();
    let fetch = move |site| load(site, view.range.get(), view.filters.get(), chosen.get());
    view! {
        <ReportPage page=Page::Events load=fetch failure="The events could not load: " let(report)>
            <EventTable report=report.clone() />
            {report.chosen.clone().map(|c| view! { <Chosen chosen=c granularity=view.range.get_untracked().granularity() /> })}
        </ReportPage>
    }
}

/// A link to the page at `path` with the view's range and filters, and
/// `key=value`.
fn link_with(path: &str, key: &str, value: &str) -> String {
    let query = use_query_map().get_untracked();
    let carried = carried(&query);
    let separator = if carried.is_empty() { '?' } else { '&' };
    format!(
        "{path}{carried}{separator}{key}={}",
        js_sys::encode_uri_component(value)
    )
}

/// Every event of the range, by count.
#[component]
fn EventTable(report: EventsReport) -> impl IntoView {
    let session = expect_context::<Session>();
    let range = use_view().range;
    if report.events.is_empty() && report.hidden_events == 0 {
        return view! {
            <section class="panel events">
                <p class="empty">{move || format!("No custom event, marked click, form, outbound link or download in {}.", range.get().phrase())}</p>
            </section>
        }
        .into_any();
    }
    let query = use_query_map();
    let chosen = report.chosen.as_ref().map(|c| (c.kind, c.name.clone()));
    let hidden = (report.hidden_events > 0).then(|| {
        format!(
            "{} more events of fewer than {} visitors each ({} times) are counted, not listed.",
            report.hidden_events, report.k, report.hidden_count
        )
    });
    let admin = session.is_admin();
    view! {
        <section class="panel events record-list">
            <table class="breakdown" data-table="events">
                <caption>{move || format!("Events, {}", range.get().phrase())}</caption>
                <thead><tr>
                    <th scope="col">"Event"</th><th scope="col">"Kind"</th><th scope="col">"Times"</th>
                    <th scope="col">"Visitors"</th><th scope="col">"Value"</th>
                    <th scope="col"><span class="visually-hidden">"Use it"</span></th>
                </tr></thead>
                <tbody>
                    {report.events.into_iter().map(|e| {
                        let here = chosen.as_ref() == Some(&(e.kind, e.name.clone()));
                        let param = choice_param(e.kind, &e.name);
                        let choose = href(Page::Events.path(), &query.get_untracked(), "event", Some(&param));
                        view! {
                            <tr data-event=param aria-current=here.then_some("true")>
                                <td data-label="Event"><a href=choose>{e.name.clone()}</a></td>
                                <td data-label="Kind">{e.kind.label()}</td>
                                <td data-label="Times">{e.count}</td>
                                <td data-label="Visitors">{e.visitors}</td>
                                <td data-label="Value">{e.value.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into())}</td>
                                <td class="actions"><Uses event=e.clone() admin /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {hidden.map(|h| view! { <p class="muted" data-hidden-events="">{h}</p> })}
        </section>
    }
    .into_any()
}

/// Where an event can go next: a funnel step, or a goal (admins save
/// goals). Links and downloads are no step.
#[component]
fn Uses(
    /// The event.
    event: EventStat,
    /// Whether the reader may save goals.
    admin: bool,
) -> impl IntoView {
    if !event.kind.is_step() {
        return ().into_any();
    }
    let funnel = link_with(Page::Funnels.path(), "step", &event.name);
    let goal = link_with(Page::Conversions.path(), "new_goal", &event.name);
    view! {
        <a href=funnel data-use="funnel" aria-label=format!("Build a funnel with {}", event.name)>"Funnel"</a>
        {admin.then(|| view! {
            " · " <a href=goal data-use="goal" aria-label=format!("Make {} a goal", event.name)>"Goal"</a>
        })}
    }
    .into_any()
}

/// The chosen event: over time, and by property.
#[component]
fn Chosen(
    chosen: ChosenEvent,
    /// The bucket width of its series.
    granularity: Granularity,
) -> impl IntoView {
    let labels: Vec<String> = chosen
        .series
        .iter()
        .map(|p| charts::bucket_label(p.start, granularity))
        .collect();
    let lines: Vec<(&'static str, Vec<u64>)> = vec![
        ("Times", chosen.series.iter().map(|p| p.count).collect()),
        (
            "Visitors",
            chosen.series.iter().map(|p| p.visitors).collect(),
        ),
    ];
    let total: u64 = chosen.series.iter().map(|p| p.count).sum();
    let marks = ChartMarks::new(chosen.series.iter().map(|p| p.start).collect());
    let summary = format!("“{}” over time: {total} times in the range", chosen.name);
    let chart =
        move || match charts::lines_chart(&labels, &lines, "Times", &marks.get(), (760, 240)) {
            Ok(svg) => view! {
                <div role="img" aria-label=summary.clone() inner_html=svg></div>
                <MarkKey marks />
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        };
    let hidden = (chosen.hidden_properties > 0).then(|| {
        format!(
            "{} property values of too few visitors are counted, not listed.",
            chosen.hidden_properties
        )
    });
    let properties = if chosen.properties.is_empty() {
        view! { <p class="muted">"No property value of enough visitors to list."</p> }.into_any()
    } else {
        view! {
            <table class="breakdown" data-table="event-properties">
                <caption>"By property"</caption>
                <thead><tr>
                    <th scope="col">"Property"</th><th scope="col">"Value"</th>
                    <th scope="col">"Times"</th><th scope="col">"Visitors"</th>
                </tr></thead>
                <tbody>
                    {chosen.properties.iter().map(|p| view! {
                        <tr>
                            <td>{p.property.clone()}</td><td>{p.value.clone()}</td>
                            <td>{p.count}</td><td>{p.visitors}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="panel chosen-event" aria-label="The chosen event">
            <h3>{format!("“{}”, {}", chosen.name, chosen.kind.label().to_lowercase())}</h3>
            <figure class="chart" data-chart="event-over-time" data-total=total>
                <figcaption>"Times and visitors per bucket"</figcaption>
                {chart}
            </figure>
            {properties}
            {hidden.map(|h| view! { <p class="muted">{h}</p> })}
        </section>
    }
}
