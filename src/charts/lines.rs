//! Counts over time, one marked line per series, with a legend.

use plotters::prelude::*;

use super::frame::{self, column_zones, nice_ceiling};
use super::marks::{self, Mark};
use super::{ChartError, SERIES, chart_error};

/// Counts per bucket, one line per series (each in a [`SERIES`] colour and
/// with its own point marker), seven bucket labels on the axis, and the
/// annotations' `marks`.
pub fn lines_chart(
    labels: &[String],
    series: &[(&str, Vec<u64>)],
    y_desc: &str,
    marks: &[Mark],
    size: (u32, u32),
) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let top = nice_ceiling(
            series
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .max()
                .unwrap_or(0),
        );
        let last = labels.len().saturating_sub(1).max(1);
        let mut chart = frame::plot(root, 52, 0..last, 0..top)?;
        frame::mesh(&mut chart)
            .x_labels(7)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc(y_desc)
            .y_labels(6)
            .draw()
            .map_err(chart_error)?;
        for (n, (name, values)) in series.iter().enumerate() {
            let colour = SERIES[n % SERIES.len()];
            let points = values.iter().enumerate().map(|(i, v)| (i, *v));
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(chart_error)?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            match n {
                0 => chart.draw_series(points.map(|p| Circle::new(p, 3, colour.filled()))),
                1 => chart.draw_series(points.map(|p| TriangleMarker::new(p, 4, colour.filled()))),
                2 => chart.draw_series(points.map(|p| Cross::new(p, 3, colour.stroke_width(2)))),
                _ => chart.draw_series(points.map(|p| Circle::new(p, 3, colour.stroke_width(2)))),
            }
            .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(chart_error)?;
        let titles: Vec<String> = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let figures: Vec<String> = series
                    .iter()
                    .map(|(name, values)| format!("{name} {}", values.get(i).copied().unwrap_or(0)))
                    .collect();
                format!("{label}: {}", figures.join(", "))
            })
            .collect();
        let mut zones = column_zones(&chart, (0, top), &titles);
        zones.extend(marks::draw(&chart, (0, top), marks));
        Ok(zones)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_per_day_draw_one_marked_line_per_series_with_a_legend() {
        let labels: Vec<String> = (1..=5).map(|d| format!("Nov {d}")).collect();
        let series = [
            ("Accept all", vec![5, 6, 7, 8, 9]),
            ("Reject all", vec![1, 2, 1, 2, 1]),
            ("Custom", vec![0, 1, 0, 1, 0]),
        ];
        let svg = lines_chart(&labels, &series, "Decisions", &[], (600, 240)).unwrap();
        for text in ["Accept all", "Reject all", "Custom", "Decisions", "Nov 1"] {
            assert!(svg.contains(text), "no {text}");
        }
        assert_eq!(
            svg.matches("<circle").count(),
            5,
            "one marker per point of the first"
        );
    }
}
