//! The overview page: usage over time, key figures and breakdowns for one site.

mod breakdown;
pub(crate) mod filters;
mod key_figures;
pub(crate) mod range;
mod realtime;
mod usage_chart;

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use sonde_protocol::{UsageQuery, UsageReport};

use crate::api::{self, ClientError};
use crate::layout::Page;
use breakdown::Breakdown;
use filters::FilterChips;
use key_figures::KeyFigures;
use range::{Range, RangePicker};
use realtime::Realtime;
use sonde_protocol::overview::OverviewReport;
use usage_chart::UsageChart;

#[component]
pub fn Dashboard() -> impl IntoView {
    // The URL holds the range, so a view can be bookmarked and shared.
    let query = use_query_map();
    let range = Signal::derive(move || {
        query
            .read()
            .get("range")
            .and_then(|r| Range::from_param(&r))
            .unwrap_or(Range::Last30Days)
    });
    let filters = Memo::new(move |_| filters::from_query(&query.read()));
    let navigate = use_navigate();
    let choose = Callback::new(move |r: Range| {
        // Everything else in the URL (filters, a share link's token) stays,
        // so the view stays shareable.
        navigate(
            &filters::href(&query.read_untracked(), "range", Some(r.param())),
            Default::default(),
        )
    });
    let report = LocalResource::new(move || {
        let (range, filters) = (range.get(), filters.get());
        async move { load(range, filters).await }
    });

    view! {
        <Page title="Overview" controls=Box::new(move || view! { <RangePicker range on_choose=choose /> }.into_any())>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    report
                        .get()
                        .map(|result| match result {
                            Ok((site, report, overview)) => view! {
                                <Usage site report granularity=range.get_untracked().granularity() />
                                <FilterChips />
                                <Overview report=overview />
                            }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Transition>
        </Page>
    }
}

async fn load(
    range: Range,
    filters: sonde_protocol::overview::Filters,
) -> Result<(String, UsageReport, OverviewReport), ClientError> {
    let site = api::current_site().await?;
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    let report = api::usage(&UsageQuery {
        site: site.clone(),
        from,
        to,
        granularity: range.granularity(),
    })
    .await?;
    let overview = api::overview(&site, from, to, &filters).await?;
    Ok((site, report, overview))
}

#[component]
fn Overview(
    /// The period's key figures and breakdowns.
    report: OverviewReport,
) -> impl IntoView {
    let k = report.k;
    view! {
        <section class="overview" aria-label="Overview">
            <h2>"Overview"</h2>
            <KeyFigures current=report.current previous=report.previous />
            <div class="breakdowns">
                <Breakdown title="Pages" counted="Views" rows=report.pages k filter="page" />
                <Breakdown title="Entry pages" counted="Visits" rows=report.entry_pages k filter="entry_page" />
                <Breakdown title="Exit pages" counted="Visits" rows=report.exit_pages k />
                <Breakdown title="Sources" counted="Visits" rows=report.sources k filter="source" />
                <Breakdown title="Campaigns" counted="Visits" rows=report.campaigns k filter="campaign" />
                <Breakdown title="Browsers" counted="Visits" rows=report.browsers k filter="browser" />
                <Breakdown title="Systems" counted="Visits" rows=report.os k filter="os" />
                <Breakdown title="Devices" counted="Visits" rows=report.devices k filter="device" />
            </div>
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
) -> impl IntoView {
    view! {
        <section class="usage" aria-label="Usage">
            <p class="site">"Site: " <code>{site.clone()}</code></p>
            <Realtime site />
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
            <UsageChart series=report.series granularity />
        </section>
    }
}
