//! The performance page: web vitals of the chosen range at p75 with the
//! share of good, needs-improvement and poor loads, per page, and the
//! conversion of the site's first goal by the landing page's LCP.

use leptos::prelude::*;
use sonde_protocol::performance::{PerformanceReport, Rating, VitalSummary};
use sonde_protocol::{Versus, Vital};

use crate::api::{self, ClientError};
use crate::charts;
use crate::controls::{Range, period, use_view};
use crate::csv::CsvTable;
use crate::layout::{Nothing, ReportPage};
use crate::route::Page;
use crate::timeline::{ChartMarks, MarkKey};

async fn load(
    site: String,
    range: Range,
    filters: sonde_protocol::Filters,
    versus: Versus,
) -> Result<PerformanceReport, ClientError> {
    let goal = api::goals(&site).await?.into_iter().next().map(|g| g.id);
    let period = period(&site, range, &filters, versus);
    api::performance(&period, goal.as_deref()).await
}

fn value(metric: Vital, v: f64) -> String {
    match metric {
        Vital::Cls => format!("{v:.2}"),
        _ => format!("{v:.0} {}", metric.unit()),
    }
}

fn name(metric: Vital) -> &'static str {
    match metric {
        Vital::Lcp => "Largest contentful paint (LCP)",
        Vital::Inp => "Interaction to next paint (INP)",
        Vital::Cls => "Cumulative layout shift (CLS)",
        Vital::Fcp => "First contentful paint (FCP)",
        Vital::Ttfb => "Time to first byte (TTFB)",
    }
}

fn rating_class(r: Rating) -> &'static str {
    match r {
        Rating::Good => "good",
        Rating::NeedsImprovement => "fair",
        Rating::Poor => "poor",
    }
}

/// What the page says when the range holds no web vitals.
const NO_VITALS: Nothing<PerformanceReport> = Nothing {
    when: |report| report.site.is_empty(),
    said: "No web vitals were reported",
    source: "they come from visitors who allow performance measurement",
};

#[component]
pub fn Performance() -> impl IntoView {
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
        <ReportPage page=Page::Performance load failure="The performance report could not load: " nothing=NO_VITALS let:report>
            <Report report range=view.range.get_untracked() versus=view.versus.get_untracked() />
        </ReportPage>
    }
}

#[component]
fn Report(report: PerformanceReport, range: Range, versus: Versus) -> impl IntoView {
    let k = report.k;
    let before = |metric: Vital| {
        report
            .previous
            .as_ref()
            .and_then(|p| p.iter().find(|v| v.metric == metric).cloned())
    };
    view! {
        <section class="panel" aria-label="Site vitals">
            <p class="muted">{format!(
                "{}, 75th percentile of page loads (to within 1 %); ratings and thresholds from web.dev.",
                range.label(),
            )}</p>
            <dl class="vitals">
                {report.site.iter().map(|v| view! { <VitalCard summary=v.clone() before=before(v.metric) versus /> }).collect_view()}
            </dl>
        </section>
        <OverTime report=report.clone() range />
        <LcpConversion report=report.clone() />
        <section class="panel" aria-label="Pages">
            <PagesTable report k />
        </section>
    }
}

/// The p75 of each vital per bucket of the range: the timed vitals drawn as
/// lines, every vital in a table.
#[component]
fn OverTime(report: PerformanceReport, range: Range) -> impl IntoView {
    let granularity = range.granularity();
    let labels: Vec<String> = report
        .series
        .iter()
        .map(|p| charts::bucket_label(p.start, granularity))
        .collect();
    let p75 = |point: &sonde_protocol::performance::PerformancePoint, m: Vital| {
        point.vitals.iter().find(|v| v.metric == m).map(|v| v.p75)
    };
    let timed = [Vital::Lcp, Vital::Fcp, Vital::Ttfb, Vital::Inp];
    let lines: Vec<(String, Vec<u64>)> = timed
        .iter()
        .map(|m| {
            (
                m.as_str().to_uppercase(),
                report
                    .series
                    .iter()
                    .map(|p| p75(p, *m).unwrap_or(0.0).round() as u64)
                    .collect(),
            )
        })
        .collect();
    let chart = if report.series.len() < 2 {
        view! { <p class="empty">"Vitals were measured in fewer than two buckets of this range: nothing to draw over time."</p> }.into_any()
    } else {
        let marks = ChartMarks::new(report.series.iter().map(|p| p.start).collect());
        let labels = labels.clone();
        (move || {
            let lines: Vec<(&str, Vec<u64>)> =
                lines.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
            match charts::lines_chart(&labels, &lines, "p75 (ms)", &marks.get(), (760, 260)) {
                Ok(svg) => view! {
                    <div role="img" aria-label="p75 of LCP, FCP, TTFB and INP over time" inner_html=svg></div>
                    <MarkKey marks />
                }
                .into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            }
        })
        .into_any()
    };
    let header = [
        "From", "LCP p75", "INP p75", "CLS p75", "FCP p75", "TTFB p75", "Loads",
    ];
    let rows: Vec<Vec<String>> = report
        .series
        .iter()
        .zip(&labels)
        .map(|(point, label)| {
            let mut row = vec![label.clone()];
            row.extend(
                [Vital::Lcp, Vital::Inp, Vital::Cls, Vital::Fcp, Vital::Ttfb]
                    .iter()
                    .map(|m| p75(point, *m).map_or("–".into(), |v| value(*m, v))),
            );
            row.push(
                point
                    .vitals
                    .iter()
                    .find(|v| v.metric == Vital::Lcp)
                    .map_or(0, |v| v.samples)
                    .to_string(),
            );
            row
        })
        .collect();
    let lcp: Vec<String> = report
        .series
        .iter()
        .map(|p| p75(p, Vital::Lcp).map_or("–".into(), |v| format!("{v:.0}")))
        .collect();
    view! {
        <section class="panel" aria-label="Vitals over time">
            <figure class="chart" data-chart="vitals-over-time" data-lcp=lcp.join(",")>
                <figcaption>{format!("p75 per {} (site's calendar)", match granularity {
                    sonde_protocol::Granularity::Hour => "hour",
                    _ => "day",
                })}</figcaption>
                {chart}
            </figure>
            <CsvTable name="vitals-over-time" caption="Over time" file="vitals-over-time.csv" header=header.to_vec() rows=rows />
        </section>
    }
}

#[component]
fn VitalCard(
    summary: VitalSummary,
    /// The same vital in the compared period, if it was measured then.
    before: Option<VitalSummary>,
    /// What `before` covers.
    versus: Versus,
) -> impl IntoView {
    let m = summary.metric;
    let before = before.map(|b| {
        format!(
            "p75 {}",
            crate::change::against(summary.p75, b.p75, &value(m, b.p75), versus)
        )
    });
    let shares = format!(
        "{:.0} % good, {:.0} % need improvement, {:.0} % poor of {} loads",
        summary.good * 100.0,
        summary.needs_improvement * 100.0,
        summary.poor * 100.0,
        summary.samples
    );
    view! {
        <div class=format!("vital {}", rating_class(summary.rating)) data-vital=m.as_str()>
            <dt>{name(m)}</dt>
            <dd class="p75">{value(m, summary.p75)}</dd>
            <dd class="rating">{summary.rating.label()}</dd>
            <dd class="shares" role="img" aria-label=shares.clone() title=shares.clone()>
                <span class="good" style=format!("width: {:.1}%", summary.good * 100.0)></span>
                <span class="fair" style=format!("width: {:.1}%", summary.needs_improvement * 100.0)></span>
                <span class="poor" style=format!("width: {:.1}%", summary.poor * 100.0)></span>
            </dd>
            <dd class="muted">{shares}</dd>
            {before.map(|b| view! { <dd class="change" data-before=m.as_str()>{b}</dd> })}
        </div>
    }
}

#[component]
fn LcpConversion(report: PerformanceReport) -> impl IntoView {
    let Some(goal) = report.goal else {
        return view! { <p class="muted">"Save a goal to see its conversion by page speed."</p> }
            .into_any();
    };
    let bars: Vec<(String, f64, u64)> = report
        .lcp_conversion
        .iter()
        .map(|b| {
            (
                b.rating.label().to_owned(),
                b.conversion.rate,
                b.conversion.entered,
            )
        })
        .collect();
    let rates = bars
        .iter()
        .map(|b| format!("{:.3}", b.1))
        .collect::<Vec<_>>()
        .join(",");
    let summary = bars
        .iter()
        .map(|(l, r, n)| format!("{l}: {:.1} % of {n} visits", r * 100.0))
        .collect::<Vec<_>>()
        .join("; ");
    let chart = match charts::rate_chart(&bars, "Visits converting (%)", (760, 260)) {
        Ok(svg) => view! { <div role="img" aria-label=summary inner_html=svg></div> }.into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    };
    view! {
        <section class="panel" aria-label="Conversion by page speed">
            <figure class="chart" data-chart="lcp-conversion" data-rates=rates>
                <figcaption>{format!("“{goal}” conversion by the landing page's LCP rating")}</figcaption>
                {chart}
            </figure>
        </section>
    }
    .into_any()
}

#[component]
fn PagesTable(report: PerformanceReport, k: u64) -> impl IntoView {
    let shown = [Vital::Lcp, Vital::Inp, Vital::Cls];
    let header = ["Page", "LCP p75", "INP p75", "CLS p75", "LCP good"];
    let rows: Vec<Vec<String>> = report
        .pages
        .iter()
        .map(|p| {
            let of = |m: Vital| p.vitals.iter().find(|v| v.metric == m);
            let mut row = vec![p.path.clone()];
            row.extend(
                shown
                    .iter()
                    .map(|m| of(*m).map_or("–".into(), |v| value(*m, v.p75))),
            );
            row.push(of(Vital::Lcp).map_or("–".into(), |v| format!("{:.0} %", v.good * 100.0)));
            row
        })
        .collect();
    view! {
        <CsvTable name="pages-performance" caption="Pages" file="performance.csv" header=header.to_vec() rows=rows />
        <p class="muted">{format!("Pages measured in fewer than {k} visits are not listed.")}</p>
    }
}
