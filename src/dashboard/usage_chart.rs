//! The usage time series as an SVG chart.

use leptos::prelude::*;
use sonde_protocol::{Granularity, UsagePoint};

use crate::charts;

#[component]
pub fn UsageChart(
    /// One point per bucket, oldest first.
    series: Vec<UsagePoint>,
    /// The bucket width, for the axis labels.
    granularity: Granularity,
) -> impl IntoView {
    let views: u64 = series.iter().map(|p| p.pageviews).sum();
    let summary =
        format!("Page views and unique visitors over time: {views} page views in the range.");
    match charts::usage_chart(&series, granularity, (760, 260)) {
        Ok(svg) => view! {
            <figure class="chart" data-chart="usage" data-pageviews=views>
                <div role="img" aria-label=summary inner_html=svg></div>
                <figcaption>
                    <span class="key pageviews">"Page views"</span>
                    <span class="key visitors">"Unique visitors"</span>
                </figcaption>
            </figure>
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
