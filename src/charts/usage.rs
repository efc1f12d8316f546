//! Usage over time: page views (area) and unique visitors (line).

use plotters::prelude::*;
use sonde_protocol::{Granularity, UsagePoint};

use super::frame::{self, column_zones, nice_ceiling};
use super::labels::point_label;
use super::marks::{self, Mark};
use super::{ChartError, PAGEVIEWS, VISITORS, chart_error};

/// Page views (area) and unique visitors (line) per bucket, with the
/// annotations' `marks`.
pub fn usage_chart(
    points: &[UsagePoint],
    granularity: Granularity,
    marks: &[Mark],
    size: (u32, u32),
) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let last = points.len().saturating_sub(1).max(1);
        let top = nice_ceiling(
            points
                .iter()
                .map(|p| p.pageviews.max(p.visitors))
                .max()
                .unwrap_or(0),
        );
        let mut chart = frame::plot(root, 44, 0..last, 0..top)?;
        let label = |i: &usize| {
            points
                .get(*i)
                .map(|p| point_label(p, granularity))
                .unwrap_or_default()
        };
        frame::mesh(&mut chart)
            .x_labels(7)
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|v: &u64| v.to_string())
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(
                AreaSeries::new(
                    points.iter().enumerate().map(|(i, p)| (i, p.pageviews)),
                    0,
                    PAGEVIEWS.mix(0.15),
                )
                .border_style(PAGEVIEWS.stroke_width(2)),
            )
            .map_err(chart_error)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, p)| (i, p.visitors)),
                VISITORS.stroke_width(2),
            ))
            .map_err(chart_error)?;
        let titles: Vec<String> = points
            .iter()
            .map(|p| {
                format!(
                    "{}: {} page views, {} unique visitors",
                    point_label(p, granularity),
                    p.pageviews,
                    p.visitors
                )
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

    const DAY: i64 = 86_400_000;
    /// 2025-11-24T00:00:00Z
    const NOV_24: i64 = 1_763_942_400_000;

    fn series(views: &[u64]) -> Vec<UsagePoint> {
        views
            .iter()
            .enumerate()
            .map(|(i, &v)| UsagePoint {
                start: NOV_24 + i as i64 * DAY,
                local: String::new(),
                pageviews: v,
                visitors: v.div_ceil(2),
            })
            .collect()
    }

    #[test]
    fn each_bucket_of_the_usage_chart_tells_its_figures_on_hover() {
        let points: Vec<UsagePoint> = (0..3)
            .map(|d| UsagePoint {
                start: d * 86_400_000,
                local: format!("1970-01-0{}", d + 1),
                pageviews: 10 * (d as u64 + 1),
                visitors: d as u64 + 1,
            })
            .collect();
        let svg = usage_chart(&points, Granularity::Day, &[], (600, 240)).unwrap();
        assert_eq!(svg.matches("class=\"hover\"").count(), 3);
        assert!(
            svg.contains("<title>Jan 2: 20 page views, 2 unique visitors</title>"),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn draws_an_svg_with_both_series_and_date_labels() {
        let svg = usage_chart(&series(&[3, 0, 7]), Granularity::Day, &[], (640, 240)).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Nov 24") && svg.contains("Nov 26"), "{svg}");
        assert!(
            svg.contains("#2563EB") || svg.contains("#2563eb"),
            "page views drawn"
        );
        assert!(
            svg.contains("#D97706") || svg.contains("#d97706"),
            "visitors drawn"
        );
        assert!(svg.contains("<polyline"), "{svg}");
    }

    #[test]
    fn the_y_axis_reaches_the_largest_count() {
        let svg = usage_chart(&series(&[1, 38]), Granularity::Day, &[], (640, 240)).unwrap();
        // plotters puts label text on a line of its own.
        assert!(svg.contains(">\n50\n</text>"), "{svg}");
    }

    #[test]
    fn an_annotation_is_drawn_numbered_where_it_falls_with_its_title() {
        let points = series(&[3, 5, 7, 4]);
        let marks = super::super::place_marks(
            &points.iter().map(|p| p.start).collect::<Vec<_>>(),
            &[(NOV_24 + DAY + DAY / 2, "Deploy <2.4.0>".to_owned())],
        );
        let svg = usage_chart(&points, Granularity::Day, &marks, (640, 240)).unwrap();
        assert_eq!(svg.matches("class=\"mark\"").count(), 1);
        assert!(
            svg.contains("<title>1. Deploy &lt;2.4.0&gt;</title>"),
            "{svg}"
        );
        // Halfway between the second and the third point.
        let x = |i: usize| {
            let plain = usage_chart(&points, Granularity::Day, &[], (640, 240)).unwrap();
            let zone = plain
                .match_indices("class=\"hover\" x=\"")
                .nth(i)
                .unwrap()
                .0;
            let rest = &plain[zone + "class=\"hover\" x=\"".len()..];
            rest[..rest.find('"').unwrap()].parse::<i32>().unwrap()
        };
        let half_bucket = (x(1) - x(0)) / 2;
        let (second, third) = (x(1) + half_bucket, x(2) + half_bucket);
        let line = &svg[svg.find("<line x1=\"").unwrap() + "<line x1=\"".len()..];
        let at: i32 = line[..line.find('"').unwrap()].parse().unwrap();
        assert!(
            (at - (second + third) / 2).abs() <= 1,
            "{at} {second} {third}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn an_empty_series_still_draws_axes() {
        let svg = usage_chart(&[], Granularity::Hour, &[], (320, 200)).unwrap();
        assert!(svg.contains("<svg"));
    }
}
