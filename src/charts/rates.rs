//! Rates (0 to 1) on a percentage axis: by group as bars, over time as a
//! line.

use plotters::prelude::*;

use super::frame::{self, bar, bar_label, column_zones, percent_ceiling};
use super::marks::{self, Mark};
use super::{ChartError, VISITORS, chart_error};

/// One labelled bar per group, for rates (0 to 1), each bar labelled with
/// its percentage and the size of its group.
pub fn rate_chart(
    bars: &[(String, f64, u64)],
    y_desc: &str,
    size: (u32, u32),
) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let top = percent_ceiling(bars.iter().map(|b| b.1));
        let mut chart = frame::plot(
            root,
            52,
            (0..bars.len().saturating_sub(1)).into_segmented(),
            0.0..top,
        )?;
        frame::mesh(&mut chart)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_desc)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0} %"))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, rate, _))| {
                bar(i, (0.0, rate * 100.0), VISITORS.mix(0.85).filled(), 12)
            }))
            .map_err(chart_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, rate, n))| {
                bar_label(i, rate * 100.0, format!("{:.1} % of {n}", rate * 100.0))
            }))
            .map_err(chart_error)?;
        Ok(Vec::new())
    })
}

/// A rate over time (0 to 1 per bucket), as a line with a point per
/// bucket; `labels` name the buckets (seven are shown on the axis).
pub fn rate_series_chart(
    points: &[(String, f64)],
    y_desc: &str,
    marks: &[Mark],
    size: (u32, u32),
) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let top = percent_ceiling(points.iter().map(|p| p.1));
        let last = points.len().saturating_sub(1).max(1);
        let mut chart = frame::plot(root, 52, 0..last, 0.0..top)?;
        frame::mesh(&mut chart)
            .x_labels(7)
            .x_label_formatter(&|i| points.get(*i).map(|p| p.0.clone()).unwrap_or_default())
            .y_desc(y_desc)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0} %"))
            .draw()
            .map_err(chart_error)?;
        let series = points.iter().enumerate().map(|(i, p)| (i, p.1 * 100.0));
        chart
            .draw_series(LineSeries::new(series.clone(), VISITORS.stroke_width(2)))
            .map_err(chart_error)?;
        chart
            .draw_series(series.map(|(i, v)| Circle::new((i, v), 3, VISITORS.filled())))
            .map_err(chart_error)?;
        let titles: Vec<String> = points
            .iter()
            .map(|(label, rate)| format!("{label}: {:.1} %", rate * 100.0))
            .collect();
        let mut zones = column_zones(&chart, (0.0, top), &titles);
        zones.extend(marks::draw(&chart, (0.0, top), marks));
        Ok(zones)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_chart_labels_each_bar_with_its_rate_and_group_size() {
        let bars = vec![
            ("Good".to_owned(), 0.137, 1571),
            ("Poor".into(), 0.036, 275),
        ];
        let svg = rate_chart(&bars, "Conversion", (600, 240)).unwrap();
        for label in [
            "13.7 % of 1571",
            "3.6 % of 275",
            "Good",
            "Poor",
            "Conversion",
            "15 %",
        ] {
            assert!(svg.contains(label), "no {label} in {svg}");
        }
    }

    #[test]
    fn a_rate_series_draws_a_point_per_bucket_and_labels_the_axis() {
        let points: Vec<(String, f64)> = (1..=10)
            .map(|d| (format!("Nov {d}"), d as f64 / 100.0))
            .collect();
        let svg = rate_series_chart(&points, "Visits converting (%)", &[], (600, 240)).unwrap();
        assert_eq!(svg.matches("<circle").count(), 10);
        assert!(svg.contains("<title>Nov 3: 3.0 %</title>"), "{svg}");
        for label in ["Nov 1", "Visits converting (%)", "10 %"] {
            assert!(svg.contains(label), "no {label} in {svg}");
        }
    }
}
