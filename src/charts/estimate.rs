//! The estimate of all visits beside the visits counted.

use plotters::prelude::*;

use super::frame::{self, bar, bar_label, nice_ceiling};
use super::{ChartError, SERIES, chart_error};

/// Counted visits beside the estimate of all visits, its 95 % interval
/// drawn as an error bar, each bar labelled with its value.
pub fn estimate_chart(
    counted: u64,
    (estimate, low, high): (f64, f64, f64),
    size: (u32, u32),
) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let top = nice_ceiling(high.max(counted as f64).ceil() as u64) as f64;
        let names = ["Counted visits", "Estimated visits (all)"];
        let mut chart = frame::plot(root, 60, (0..1usize).into_segmented(), 0.0..top)?;
        frame::mesh(&mut chart)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    names.get(*i).map(|n| n.to_string()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_desc("Visits")
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(chart_error)?;
        let bars = [(0, counted as f64, SERIES[2]), (1, estimate, SERIES[0])];
        chart
            .draw_series(
                bars.iter()
                    .map(|(i, v, colour)| bar(*i, (0.0, *v), colour.mix(0.8).filled(), 30)),
            )
            .map_err(chart_error)?;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                SegmentValue::CenterOf(1),
                low,
                estimate,
                high,
                BLACK.stroke_width(2),
                16,
            )))
            .map_err(chart_error)?;
        chart
            .draw_series([
                bar_label(0, counted as f64, format!("{counted}")),
                bar_label(1, high, format!("≈ {estimate:.0} ({low:.0} to {high:.0})")),
            ])
            .map_err(chart_error)?;
        Ok(Vec::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_shows_its_interval() {
        let svg = estimate_chart(300, (800.0, 650.0, 990.0), (600, 240)).unwrap();
        for text in [
            "Counted visits",
            "Estimated visits (all)",
            "≈ 800 (650 to 990)",
            "300",
        ] {
            assert!(svg.contains(text), "no {text} in {svg}");
        }
    }
}
