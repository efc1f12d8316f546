//! The dashboard: usage over time and top pages for one site.

mod range;
mod top_pages;
mod usage_chart;

use leptos::prelude::*;
use sonde_protocol::{UsageQuery, UsageReport};

use crate::api::{self, ClientError};
use range::{Range, RangePicker};
use top_pages::TopPages;
use usage_chart::UsageChart;

/// The site shown when the server has it (the demo), else the first one.
const PREFERRED_SITE: &str = "demo";

#[component]
pub fn Dashboard() -> impl IntoView {
    let range = RwSignal::new(Range::Last30Days);
    let report = LocalResource::new(move || {
        let range = range.get();
        async move { load(range).await }
    });

    view! {
        <div class="dashboard">
            <header class="dashboard-header">
                <h1>"Sonde"</h1>
                <RangePicker range />
                <a href="/demo/" rel="external">"Open the demo shop"</a>
            </header>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    report
                        .get()
                        .map(|result| match result {
                            Ok((site, report)) => view! { <Usage site report granularity=range.get_untracked().granularity() /> }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Transition>
        </div>
    }
}

async fn load(range: Range) -> Result<(String, UsageReport), ClientError> {
    let sites = api::sites().await?;
    let site = sites
        .iter()
        .find(|s| s.key == PREFERRED_SITE)
        .or(sites.first())
        .map(|s| s.key.clone())
        .ok_or_else(|| ClientError::Decode("the server has no site configured".into()))?;
    let (from, to) = range.bounds(js_sys::Date::now() as i64);
    let report = api::usage(&UsageQuery {
        site: site.clone(),
        from,
        to,
        granularity: range.granularity(),
    })
    .await?;
    Ok((site, report))
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
            <p class="site">"Site: " <code>{site}</code></p>
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
            <TopPages pages=report.top_pages />
        </section>
    }
}
