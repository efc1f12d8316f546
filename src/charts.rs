//! Charts, drawn by plotters to SVG strings: data in, markup out, no browser
//! needed, so every chart is unit-tested natively.
//!
//! `frame` holds what every chart shares (the canvas, the plot, the mesh's
//! style, the hover zones), `marks` the annotations on charts over time;
//! each kind of chart has a file of its own, and
//! `labels` names buckets, instants and shares for charts and tables alike.

mod estimate;
mod frame;
mod funnel;
mod labels;
mod lines;
mod marks;
mod rates;
mod usage;

use plotters::style::RGBColor;

pub use estimate::estimate_chart;
pub use funnel::funnel_chart;
pub use labels::{bucket_label, percent, point_label, utc_minute};
pub use lines::lines_chart;
pub use marks::{Mark, place as place_marks};
pub use rates::{rate_chart, rate_series_chart};
pub use usage::usage_chart;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn chart_error(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

const PAGEVIEWS: RGBColor = RGBColor(0x25, 0x63, 0xeb);
const VISITORS: RGBColor = RGBColor(0xd9, 0x77, 0x06);

/// Colours told apart with any colour vision (Okabe and Ito's palette).
pub const SERIES: [RGBColor; 4] = [
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xcc, 0x79, 0xa7),
];
