//! The overview page: usage over time, key figures and breakdowns for one site.

mod breakdown;
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
    let navigate = use_navigate();
    let choose = Callback::new(move |r: Range| {
        // A share link's token stays in the URL, so the view stays shareable.
        let share = query
            .read_untracked()
            .get("share")
            .map(|t| format!("&share={}", js_sys::encode_uri_component(&t)))
            .unwrap_or_default();
        navigate(&format!("/?range={}{share}", r.param()), Default::default())
    });
    let report = LocalResource::new(move || {
        let range = range.get();
        async move { load(range).await }
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
                                <Overview report=overview />
                            }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Transition>
        </Page>
    }
}

async fn load(range: Range) -> Result<(String, UsageReport, OverviewReport), ClientError> {
    let site = api::current_site().await?;
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    let report = api::usage(&UsageQuery {
        site: site.clone(),
        from,
        to,
        granularity: range.granularity(),
    })
    .await?;
    let overview = api::overview(&site, from, to).await?;
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
                <Breakdown title="Pages" counted="Views" rows=report.pages k />
                <Breakdown title="Entry pages" counted="Visits" rows=report.entry_pages k />
                <Breakdown title="Exit pages" counted="Visits" rows=report.exit_pages k />
                <Breakdown title="Sources" counted="Visits" rows=report.sources k />
                <Breakdown title="Campaigns" counted="Visits" rows=report.campaigns k />
                <Breakdown title="Browsers" counted="Visits" rows=report.browsers k />
                <Breakdown title="Systems" counted="Visits" rows=report.os k />
                <Breakdown title="Devices" counted="Visits" rows=report.devices k />
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
