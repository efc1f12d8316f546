//! The usage time series as an SVG chart.

use leptos::prelude::*;
use sonde_protocol::{Granularity, UsagePoint};

use crate::charts;
use crate::timeline::{ChartMarks, MarkKey};

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
    let marks = ChartMarks::new(series.iter().map(|p| p.start).collect());
    move || match charts::usage_chart(&series, granularity, &marks.get(), (760, 260)) {
        Ok(svg) => view! {
            <figure class="chart" data-chart="usage" data-pageviews=views>
                <div role="img" aria-label=summary.clone() inner_html=svg></div>
                <figcaption>
                    <span class="key pageviews">"Page views"</span>
                    <span class="key visitors">"Unique visitors"</span>
                </figcaption>
                <MarkKey marks />
            </figure>
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
