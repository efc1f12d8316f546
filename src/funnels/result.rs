//! A funnel's figures: the chart and the table, with a CSV download.

use leptos::prelude::*;
use sonde_protocol::Versus;
use sonde_protocol::funnel::{FunnelReport, Step};

use crate::charts;
use crate::charts::percent;
use crate::csv::CsvTable;

fn label(step: &Step) -> String {
    match step {
        Step::Page { path } => format!("Page {path}"),
        Step::Event {
            name,
            property: Some(key),
            value: Some(value),
        } => format!("Event {name} ({key} = {value})"),
        Step::Event {
            name,
            property: Some(key),
            value: None,
        } => format!("Event {name} (with {key})"),
        Step::Event { name, .. } => format!("Event {name}"),
    }
}

/// "2 min 5 s", "40 s", "3 h 12 min".
fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "–".into();
    };
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[component]
pub fn FunnelResult(
    /// The funnel's steps, as run.
    steps: Vec<Step>,
    /// Its figures, with the compared period's when asked.
    report: FunnelReport,
    /// What `report.previous` covers.
    versus: Versus,
) -> impl IntoView {
    let labels: Vec<String> = steps.iter().map(label).collect();
    let bars: Vec<(String, u64)> = labels
        .iter()
        .cloned()
        .zip(report.steps.iter().map(|s| s.entrants))
        .collect();
    let entrants: Vec<String> = bars.iter().map(|b| b.1.to_string()).collect();
    let summary = format!(
        "Entrants per step: {}",
        bars.iter()
            .map(|(l, n)| format!("{l}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let previous = report.previous.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = labels
        .iter()
        .zip(&report.steps)
        .enumerate()
        .map(|(i, (label, s))| {
            let before = previous.get(i);
            vec![
                label.clone(),
                s.entrants.to_string(),
                percent(s.from_first),
                percent(s.from_previous),
                s.dropped.to_string(),
                duration(s.median_ms_from_previous),
                before.map_or("–".into(), |b| b.entrants.to_string()),
                before.map_or("–".into(), |b| percent(b.from_first)),
            ]
        })
        .collect();
    let header = [
        "Step",
        "Entrants",
        "From step 1",
        "From the step before",
        "Dropped",
        "Median time from the step before",
        match versus {
            Versus::Previous => "Entrants, period before",
            Versus::YearBefore => "Entrants, a year before",
        },
        match versus {
            Versus::Previous => "From step 1, period before",
            Versus::YearBefore => "From step 1, a year before",
        },
    ];
    let chart = if report.steps.first().is_none_or(|s| s.entrants == 0) {
        view! { <p class="empty">"No visit reached step 1 in this period, so there is nothing to chart."</p> }.into_any()
    } else {
        match charts::funnel_chart(&bars, (760, 280)) {
            Ok(svg) => {
                view! { <div role="img" aria-label=summary inner_html=svg></div> }.into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        }
    };
    view! {
        <section class="funnel-result" aria-label="Funnel result">
            <figure class="chart" data-chart="funnel" data-entrants=entrants.join(",")>
                <figcaption>"Entrants per step (share of step 1)"</figcaption>
                {chart}
            </figure>
            <Groups report=report.clone() />
            <CsvTable name="funnel" caption="Steps" file="funnel.csv" header=header.to_vec() rows=rows />
        </section>
    }
}

/// The funnel per value of the chosen dimension, when one was chosen.
#[component]
fn Groups(report: FunnelReport) -> impl IntoView {
    (!report.breakdown.is_empty()).then(|| {
        let header = ["Group", "Entered", "Completed", "Conversion"];
        let rows: Vec<Vec<String>> = report
            .breakdown
            .iter()
            .map(|g| {
                let (first, last) = (&g.steps[0], &g.steps[g.steps.len() - 1]);
                vec![
                    g.label.clone(),
                    first.entrants.to_string(),
                    last.entrants.to_string(),
                    percent(last.from_first),
                ]
            })
            .collect();
        let hidden = report.breakdown_hidden;
        view! {
            <CsvTable name="funnel-groups" caption="By group" file="funnel-groups.csv" header=header.to_vec() rows=rows footer=(hidden > 0).then(|| format!("{hidden} more groups, small or beyond the first ten, not shown")) />
        }
    })
}
