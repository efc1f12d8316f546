//! The consent page, for the privacy owner: how visitors decided over the
//! chosen range, what they granted by device and by where they decided, how
//! much of the traffic Sonde sees, an estimate of all of it, and the
//! consent log to download.

use leptos::prelude::*;
use sonde_protocol::Versus;
use sonde_protocol::consent_report::{ConsentReport, GrantsBy};

use crate::api::{self, ClientError};
use crate::charts;
use crate::charts::percent;
use crate::controls::{Range, use_view};
use crate::layout::ReportPage;
use crate::route::Page;
use crate::timeline::{ChartMarks, MarkKey};

async fn load(
    site: String,
    range: Range,
    versus: Versus,
) -> Result<(String, (i64, i64), ConsentReport), ClientError> {
    let period = range.bounds(js_sys::Date::now() as i64);
    let report = api::consent_report(&site, period.0, period.1, versus).await?;
    Ok((site, period, report))
}

#[component]
pub fn Consent() -> impl IntoView {
    let view = use_view();
    view! {
        <ReportPage page=Page::Consent load=move |site| load(site, view.range.get(), view.versus.get())
            failure="The consent report could not load: "
            ignores_filters="The filters do not apply to this page: a consent decision is deliberately not linked to the visits it allowed."
            let((site, (from, to), report))>
            <Report site from to report range=view.range.get_untracked() versus=view.versus.get_untracked() />
        </ReportPage>
    }
}

#[component]
fn Report(
    site: String,
    from: i64,
    to: i64,
    report: ConsentReport,
    range: Range,
    versus: Versus,
) -> impl IntoView {
    let before = report.previous;
    let delta = move |now: u64, before: Option<u64>| {
        before.map(|b| {
            view! {
                <dd class="change" title=crate::change::compared(versus)>
                    {crate::change::describe(crate::change::relative(now as f64, b as f64))}
                </dd>
            }
        })
    };
    let answer = report.answer_rate.map_or("–".into(), percent);
    let labels: Vec<String> = report
        .per_day
        .iter()
        .map(|d| d.day[5..].replace('-', "/"))
        .collect();
    let series = [
        (
            "Accept all",
            report
                .per_day
                .iter()
                .map(|d| d.accept_all)
                .collect::<Vec<_>>(),
        ),
        (
            "Reject all",
            report.per_day.iter().map(|d| d.reject_all).collect(),
        ),
        ("Custom", report.per_day.iter().map(|d| d.custom).collect()),
    ];
    let trend = if report.per_day.is_empty() {
        view! { <p class="empty">{format!("No banner decision in {}.", range.phrase())}</p> }
            .into_any()
    } else {
        // The days are the site's; placed by the reader's midnights, a
        // mark may sit a few hours off, never a day.
        let marks = ChartMarks::new(
            report
                .per_day
                .iter()
                .map(|d| local_midnight(&d.day))
                .collect(),
        );
        let summary = format!(
            "Banner decisions per day: {} accept all, {} reject all, {} custom in total",
            report.accept_all, report.reject_all, report.custom
        );
        let (labels, series) = (labels.clone(), series.clone());
        (move || match charts::lines_chart(
            &labels,
            &series,
            "Banner decisions",
            &marks.get(),
            (760, 260),
        ) {
            Ok(svg) => view! {
                <div role="img" aria-label=summary.clone() inner_html=svg></div>
                <MarkKey marks />
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
        .into_any()
    };
    view! {
        <section class="panel" aria-label="Decisions">
            <dl class="key-figures">
                <div><dt>"Banners shown"</dt><dd data-figure="banners">{report.banners_shown}</dd>{delta(report.banners_shown, before.map(|b| b.banners_shown))}</div>
                <div><dt>"Decisions"</dt><dd data-figure="decisions">{report.decisions}</dd>{delta(report.decisions, before.map(|b| b.decisions))}</div>
                <div><dt>"Accept all"</dt><dd data-figure="accept_all">{report.accept_all}</dd>{delta(report.accept_all, before.map(|b| b.accept_all))}</div>
                <div><dt>"Reject all"</dt><dd data-figure="reject_all">{report.reject_all}</dd>{delta(report.reject_all, before.map(|b| b.reject_all))}</div>
                <div><dt>"Custom"</dt><dd data-figure="custom">{report.custom}</dd>{delta(report.custom, before.map(|b| b.custom))}</div>
                <div><dt>"Answer rate"</dt><dd data-figure="answer_rate">{answer}</dd></div>
                <div><dt>"With GPC"</dt><dd data-figure="gpc">{percent(report.gpc_share)}</dd></div>
                <div><dt>"Changed later in settings"</dt><dd data-figure="settings">{report.settings_changes}</dd></div>
            </dl>
            <figure class="chart" data-chart="decisions">
                <figcaption>"Banner decisions per day (site's calendar)"</figcaption>
                {trend}
            </figure>
        </section>
        <Coverage report=report.clone() />
        <section class="panel breakdowns" aria-label="Grant rates">
            <GrantTable title="All banner decisions" rows=vec![GrantsBy { label: "All".into(), decisions: report.decisions, grant_rates: report.grant_rates }] />
            <GrantTable title="By device" rows=report.by_device.clone() />
            <GrantTable title="By where the decision was made" rows=report.by_decision_source.clone() />
        </section>
        <section class="panel" aria-label="Consent log">
            <h3>"Consent log"</h3>
            <p>"Every decision of " {range.phrase()} ", anonymous (a random id per browser), each record chained to the one before by a BLAKE3 hash: a changed, removed or inserted record breaks the chain. Check a file with " <code>"sonde verify-consent-log FILE"</code> "."</p>
            <p class="downloads">
                <a href=api::consent_log_url(&site, from, to, "csv") download data-export="csv">"Download CSV"</a>
                <a href=api::consent_log_url(&site, from, to, "jsonl") download data-export="jsonl">"Download JSON lines"</a>
            </p>
        </section>
    }
}

/// Coverage and the corrected estimate, with the method beside them.
#[component]
fn Coverage(report: ConsentReport) -> impl IntoView {
    let (Some(coverage), Some(estimate)) = (report.coverage, report.estimated_visits) else {
        return view! {
            <section class="panel" aria-label="Coverage">
                <p class="empty">"Not enough banner decisions granting usage to estimate coverage."</p>
            </section>
        }
        .into_any();
    };
    let chart = match charts::estimate_chart(
        report.counted_visits,
        (estimate.value, estimate.low, estimate.high),
        (760, 260),
    ) {
        Ok(svg) => view! {
            <div role="img" aria-label=format!("{} visits counted; about {:.0} in all, between {:.0} and {:.0}", report.counted_visits, estimate.value, estimate.low, estimate.high) inner_html=svg></div>
        }.into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    };
    view! {
        <section class="panel coverage" aria-label="Coverage">
            <p>
                <strong>"Coverage: " <span data-figure="coverage">{percent(coverage.value)}</span></strong>
                {format!(" of visits granted usage (95 % interval {} to {}).", percent(coverage.low), percent(coverage.high))}
            </p>
            <figure class="chart" data-chart="estimate" data-estimate=format!("{:.0}", estimate.value)>
                <figcaption>"Visits counted, and an estimate of all visits (an estimate, not a count)"</figcaption>
                {chart}
            </figure>
            <p class="method">
                <strong>"Method. "</strong>
                "Coverage is the share of banners shown that ended with usage granted (a banner not answered grants nothing), with a 95 % Wilson interval. "
                "The estimate divides the visits Sonde counted by the coverage, and its interval by the interval's ends. "
                "It assumes that visitors who declined visit like those who accepted, and that each banner shown opened one visit; "
                "returning visitors who decided before see no banner, so on a site with many of them the estimate runs high."
            </p>
        </section>
    }
    .into_any()
}

#[component]
fn GrantTable(title: &'static str, rows: Vec<GrantsBy>) -> impl IntoView {
    let header = [
        title,
        "Decisions",
        "Usage",
        "Errors",
        "Performance",
        "Marketing",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let g = r.grant_rates;
            vec![
                r.label.clone(),
                r.decisions.to_string(),
                percent(g.usage),
                percent(g.errors),
                percent(g.performance),
                percent(g.marketing),
            ]
        })
        .collect();
    let csv = crate::csv::to_csv(&header, &cells);
    let file = format!("grants-{}.csv", title.to_lowercase().replace(' ', "-"));
    view! {
        <table class="breakdown" data-breakdown=title>
            <caption>{title} " " <a class="csv" href=crate::csv::data_url(&csv) download=file>"CSV"</a></caption>
            <thead><tr>{header.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {cells.into_iter().map(|row| view! {
                    <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `YYYY-MM-DD`'s midnight in the reader's time, in ms.
fn local_midnight(day: &str) -> i64 {
    let part = |range: std::ops::Range<usize>| day.get(range).and_then(|p| p.parse::<i32>().ok());
    match (part(0..4), part(5..7), part(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            js_sys::Date::new_with_year_month_day(y as u32, m - 1, d).get_time() as i64
        }
        _ => 0,
    }
}
