//! The overview page: usage over time, key figures and breakdowns for one site.

mod bots;
mod breakdown;
mod imported;
mod key_figures;
mod realtime;
mod usage_chart;

use leptos::prelude::*;
use sonde_protocol::{Filters, UsageReport, Versus};

use crate::api::{self, ClientError};
use crate::controls::{Range, period, use_view};
use crate::layout::ReportPage;
use crate::route::Page;
use crate::session::Session;
use bots::BotsTurnedAway;
use breakdown::Breakdown;
use imported::{ImportedNotice, ImportedRows};
use key_figures::KeyFigures;
use realtime::Realtime;
use sonde_protocol::overview::OverviewReport;
use usage_chart::UsageChart;

#[component]
pub fn Dashboard() -> impl IntoView {
    let view = use_view();
    view! {
        <ReportPage page=Page::Overview load=move |site| load(site, view.range.get(), view.filters.get(), view.versus.get())
            let((site, report, overview))>
            <Usage site=site.clone() report granularity=view.range.get_untracked().granularity() k=overview.k />
            <Overview report=overview versus=view.versus.get_untracked() />
            <RawEvents site range=view.range.get_untracked() />
        </ReportPage>
    }
}

async fn load(
    site: String,
    range: Range,
    filters: Filters,
    versus: Versus,
) -> Result<(String, UsageReport, OverviewReport), ClientError> {
    let period = period(&site, range, &filters, versus);
    let report = api::usage(&period).await?;
    let overview = api::overview(&period).await?;
    Ok((site, report, overview))
}

#[component]
fn Overview(
    /// The period's key figures and breakdowns.
    report: OverviewReport,
    /// What `report.previous` covers.
    versus: Versus,
) -> impl IntoView {
    let k = report.k;
    view! {
        <section class="overview" aria-label="Overview">
            <h2>"Overview"</h2>
            {report.imported.clone().map(|imported| view! { <ImportedNotice imported /> })}
            <KeyFigures current=report.current previous=report.previous versus k />
            <div class="breakdowns">
                <Breakdown title="Pages" counted="Views" rows=report.pages k filter="page" />
                <Breakdown title="Entry pages" counted="Visits" rows=report.entry_pages k filter="entry_page" />
                <Breakdown title="Exit pages" counted="Visits" rows=report.exit_pages k />
                <Breakdown title="Sources" counted="Visits" rows=report.sources k filter="source" />
                <Breakdown title="Referrers" counted="Visits" rows=report.referrers k filter="referrer" />
                <Breakdown title="Campaigns" counted="Visits" rows=report.campaigns k filter="campaign" />
                <Breakdown title="Browsers" counted="Visits" rows=report.browsers k filter="browser" />
                <Breakdown title="Systems" counted="Visits" rows=report.os k filter="os" />
                <Breakdown title="Devices" counted="Visits" rows=report.devices k filter="device" />
                <div class="bots">
                    <BotsTurnedAway days=report.bots />
                </div>
            </div>
            {report.imported.map(|imported| view! { <ImportedRows imported k /> })}
        </section>
    }
}

#[component]
fn Usage(
    /// The site the report is about.
    site: String,
    report: UsageReport,
    /// The bucket width of the report's series.
    granularity: sonde_protocol::Granularity,
    /// The smallest group shown, in visitors.
    k: u64,
) -> impl IntoView {
    let fewer_than_k = report.fewer_than_k;
    view! {
        <section class="usage" aria-label="Usage">
            <p class="site">"Site: " <code>{site.clone()}</code></p>
            <Realtime site />
            <Show when=move || fewer_than_k>
                <p class="fewer-than-k" data-fewer-than-k="usage">
                    {format!("Fewer than {k} visitors match this filter: their figures are not shown, as a group this small could point at a person.")}
                </p>
            </Show>
            <dl class="totals">
                <div>
                    <dt>"Page views"</dt>
                    <dd data-total="pageviews">{report.total_pageviews}</dd>
                </div>
                <div>
                    <dt>"Unique visitors"</dt>
                    <dd data-total="visitors">{report.total_visitors}</dd>
                </div>
            </dl>
            {report.imported.map(|imported| view! { <ImportedNotice imported /> })}
            <UsageChart series=report.series granularity />
        </section>
    }
}

/// The range's events as stored, one row each, for a spreadsheet or a BI
/// tool; not offered to a share link, which the server refuses them.
#[component]
fn RawEvents(
    /// The site the events are of.
    site: String,
    /// The range shown.
    range: Range,
) -> impl IntoView {
    let session = expect_context::<Session>();
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    session.is_user().then(|| {
        view! {
            <section class="panel raw-events" aria-label="Raw events">
                <h3>"Raw events"</h3>
                <p>"Every event of " {range.phrase()} " as stored, one row each (the filters do not apply): "
                    <a href=api::raw_events_url(&site, from, to, "csv") download data-export="raw-csv">"CSV"</a>
                    " · "
                    <a href=api::raw_events_url(&site, from, to, "parquet") download data-export="raw-parquet">"Parquet"</a>
                    ". A script reads the same with an API key that may read the stats."</p>
            </section>
        }
    })
}
