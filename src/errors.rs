//! The errors page: error groups of the last 30 days, the visits they
//! reached, and what they did to each saved funnel.

use leptos::prelude::*;
use sonde_protocol::Versus;
use sonde_protocol::errors::{ErrorGroup, ErrorsReport};

use crate::api::{self, ClientError};
use crate::charts::percent;
use crate::controls::{Range, period, use_view};
use crate::csv::CsvTable;
use crate::layout::{Nothing, ReportPage};
use crate::route::Page;

fn date(ms: i64) -> String {
    crate::charts::utc_minute(ms)
}

async fn load(
    site: String,
    range: Range,
    filters: sonde_protocol::Filters,
    versus: Versus,
) -> Result<ErrorsReport, ClientError> {
    api::errors(&period(&site, range, &filters, versus)).await
}

/// What the page says when the range holds no error.
const NO_ERRORS: Nothing<ErrorsReport> = Nothing {
    when: |report| report.groups.is_empty(),
    said: "No error was reported",
    source: "errors are collected from visitors who allow them",
};

#[component]
pub fn Errors() -> impl IntoView {
    let view = use_view();
    let load = move |site| {
        load(
            site,
            view.range.get(),
            view.filters.get(),
            view.versus.get(),
        )
    };
    view! {
        <ReportPage page=Page::Errors load failure="The errors could not load: " nothing=NO_ERRORS let:report>
            <ErrorTable report range=view.range.get_untracked() versus=view.versus.get_untracked() />
        </ReportPage>
    }
}

#[component]
fn ErrorTable(report: ErrorsReport, range: Range, versus: Versus) -> impl IntoView {
    let sessions = report.sessions;
    let errors_before = match versus {
        Versus::Previous => "Errors in the period before",
        Versus::YearBefore => "Errors a year before",
    };
    let header = [
        "Error",
        "Top frame",
        "Errors",
        errors_before,
        "Visits",
        "Share of visits",
        "First seen",
        "Last seen",
    ];
    let totals = report.totals;
    let before = report.previous.map(|p| {
        format!(
            " Errors: {}.",
            crate::change::against(
                totals.errors as f64,
                p.errors as f64,
                &p.errors.to_string(),
                versus
            ),
        )
    });
    let rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            vec![
                g.message.clone(),
                g.top_frame.clone().unwrap_or_default(),
                g.count.to_string(),
                match g.previous_count {
                    Some(0) => "none (new)".to_owned(),
                    Some(n) => n.to_string(),
                    None => "–".to_owned(),
                },
                g.sessions.to_string(),
                percent(g.session_share),
                date(g.first_seen),
                date(g.last_seen),
            ]
        })
        .collect();
    view! {
        <section class="panel" aria-label="Error groups">
            <p class="muted" data-summary="errors">
                {format!(
                    "In {}: {} errors in {} of {sessions} visits. Grouped by message (numbers and quoted text ignored) and top stack frame.",
                    range.phrase(),
                    totals.errors,
                    totals.sessions_affected,
                )}
                {before}
            </p>
            <CsvTable name="errors" caption="Error groups" file="errors.csv" header=header.to_vec() rows=rows />
            {report.groups.into_iter().map(|group| view! { <GroupDetails group k=report.k /> }).collect_view()}
        </section>
    }
}

/// One group's details: its effect on the saved funnels, where and in what
/// browsers it happens, its days, and an example stack.
#[component]
fn GroupDetails(
    group: ErrorGroup,
    /// Browsers and pages of fewer visitors than this are counted, not named.
    k: u64,
) -> impl IntoView {
    let hidden = move |errors: u64| {
        (errors > 0).then(|| format!("; and {errors} where fewer than {k} visitors had it"))
    };
    let list = |rows: &[sonde_protocol::errors::LabelCount]| {
        rows.iter()
            .map(|r| format!("{} ({})", r.label, r.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <details class="error-group" data-fingerprint=group.fingerprint.clone()>
            <summary>{group.message.clone()}</summary>
            <ul class="impact">
                {group.funnels.iter().map(|f| {
                    let worse = f.with_error.rate < f.without_error.rate;
                    view! {
                        <li data-funnel=f.funnel.clone() class:worse=worse>
                            <strong>{f.funnel.clone()}</strong>
                            {format!(
                                ": {} of {} visits with this error completed it, against {} of {} without.",
                                percent(f.with_error.rate), f.with_error.entered,
                                percent(f.without_error.rate), f.without_error.entered,
                            )}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p data-list="browsers"><strong>"Browsers: "</strong>{list(&group.browsers)}{hidden(group.browsers_hidden)}</p>
            <p data-list="pages"><strong>"Pages: "</strong>{list(&group.pages)}{hidden(group.pages_hidden)}</p>
            <p><strong>"Per day: "</strong>{list(&group.per_day)}</p>
            {group.example_stack.map(|s| view! { <pre class="stack">{s}</pre> })}
        </details>
    }
}
