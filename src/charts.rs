//! Charts, drawn by plotters to SVG strings: data in, markup out, no browser
//! needed, so every chart is unit-tested natively.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sonde_protocol::{Granularity, UsagePoint};

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn chart_error(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

const PAGEVIEWS: RGBColor = RGBColor(0x25, 0x63, 0xeb);
const VISITORS: RGBColor = RGBColor(0xd9, 0x77, 0x06);

/// Page views (area) and unique visitors (line) per bucket.
pub fn usage_chart(
    points: &[UsagePoint],
    granularity: Granularity,
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let mut zones = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let last = points.len().saturating_sub(1).max(1);
        let top = points
            .iter()
            .map(|p| p.pageviews.max(p.visitors))
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(0..last, 0..nice_ceiling(top))
            .map_err(chart_error)?;
        let label = |i: &usize| {
            points
                .get(*i)
                .map(|p| point_label(p, granularity))
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_labels(7)
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|v: &u64| v.to_string())
            .label_style(("sans-serif", 15))
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
        // One hover zone per bucket: its column of the plot, titled with
        // its figures (browsers show a title on hover).
        let half = if points.len() > 1 {
            (chart.backend_coord(&(1, 0)).0 - chart.backend_coord(&(0, 0)).0) / 2
        } else {
            20
        };
        let (_, top_y) = chart.backend_coord(&(0, nice_ceiling(top)));
        let (_, bottom_y) = chart.backend_coord(&(0, 0));
        for (i, p) in points.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(i, 0));
            zones.push(hover_zone(
                x - half,
                top_y,
                2 * half,
                bottom_y - top_y,
                &format!(
                    "{}: {} page views, {} unique visitors",
                    point_label(p, granularity),
                    p.pageviews,
                    p.visitors
                ),
            ));
        }
        root.present().map_err(chart_error)?;
    }
    Ok(with_hover_zones(svg, &zones))
}

/// One bar per funnel step (its entrants), labelled with the count and the
/// conversion from the first step, so the values read without hovering.
pub fn funnel_chart(
    steps: &[(String, u64)],
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let first = steps.first().map_or(0, |s| s.1);
        let top = nice_ceiling(first.max(1));
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d((0..steps.len().saturating_sub(1)).into_segmented(), 0..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => format!("Step {}", i + 1),
                _ => String::new(),
            })
            .y_desc("Entrants")
            .y_labels(6)
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(steps.iter().enumerate().map(|(i, (_, n))| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0),
                        (SegmentValue::Exact(i + 1), *n),
                    ],
                    PAGEVIEWS.mix(0.8).filled(),
                );
                bar.set_margin(0, 0, 8, 8);
                bar
            }))
            .map_err(chart_error)?;
        chart
            .draw_series(steps.iter().enumerate().map(|(i, (_, n))| {
                let share = if first == 0 {
                    0.0
                } else {
                    *n as f64 * 100.0 / first as f64
                };
                Text::new(
                    format!("{n} ({share:.0} %)"),
                    (SegmentValue::CenterOf(i), *n),
                    label_style(),
                )
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// One labelled bar per group, for rates (0 to 1), each bar labelled with
/// its percentage and the size of its group.
pub fn rate_chart(
    bars: &[(String, f64, u64)],
    y_desc: &str,
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let top = bars.iter().map(|b| b.1).fold(0.0, f64::max);
        let top = ((top * 100.0 / 5.0).ceil() * 5.0).max(5.0);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d((0..bars.len().saturating_sub(1)).into_segmented(), 0.0..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_desc)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0} %"))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, rate, _))| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), rate * 100.0),
                    ],
                    VISITORS.mix(0.85).filled(),
                );
                bar.set_margin(0, 0, 12, 12);
                bar
            }))
            .map_err(chart_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, rate, n))| {
                Text::new(
                    format!("{:.1} % of {n}", rate * 100.0),
                    (SegmentValue::CenterOf(i), rate * 100.0),
                    label_style(),
                )
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A rate over time (0 to 1 per bucket), as a line with a point per
/// bucket; `labels` name the buckets (seven are shown on the axis).
pub fn rate_series_chart(
    points: &[(String, f64)],
    y_desc: &str,
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let mut zones = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let top = points.iter().map(|p| p.1).fold(0.0, f64::max);
        let top = ((top * 100.0 / 5.0).ceil() * 5.0).max(5.0);
        let last = points.len().saturating_sub(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d(0..last, 0.0..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_labels(7)
            .x_label_formatter(&|i| points.get(*i).map(|p| p.0.clone()).unwrap_or_default())
            .y_desc(y_desc)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0} %"))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;
        let series = points.iter().enumerate().map(|(i, p)| (i, p.1 * 100.0));
        chart
            .draw_series(LineSeries::new(series.clone(), VISITORS.stroke_width(2)))
            .map_err(chart_error)?;
        chart
            .draw_series(series.map(|(i, v)| Circle::new((i, v), 3, VISITORS.filled())))
            .map_err(chart_error)?;
        let half = if points.len() > 1 {
            (chart.backend_coord(&(1, 0.0)).0 - chart.backend_coord(&(0, 0.0)).0) / 2
        } else {
            20
        };
        let (_, top_y) = chart.backend_coord(&(0, top));
        let (_, bottom_y) = chart.backend_coord(&(0, 0.0));
        for (i, (label, rate)) in points.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(i, 0.0));
            zones.push(hover_zone(
                x - half,
                top_y,
                2 * half,
                bottom_y - top_y,
                &format!("{label}: {:.1} %", rate * 100.0),
            ));
        }
        root.present().map_err(chart_error)?;
    }
    Ok(with_hover_zones(svg, &zones))
}

/// Colours told apart with any colour vision (Okabe and Ito's palette).
pub const SERIES: [RGBColor; 4] = [
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xcc, 0x79, 0xa7),
];

/// Counts per bucket, one line per series (each in a [`SERIES`] colour and
/// with its own point marker), seven bucket labels on the axis.
pub fn lines_chart(
    labels: &[String],
    series: &[(&str, Vec<u64>)],
    y_desc: &str,
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let mut zones = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let top = series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0);
        let last = labels.len().saturating_sub(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d(0..last, 0..nice_ceiling(top))
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_labels(7)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc(y_desc)
            .y_labels(6)
            .label_style(("sans-serif", 15))
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
        let half = if labels.len() > 1 {
            (chart.backend_coord(&(1, 0)).0 - chart.backend_coord(&(0, 0)).0) / 2
        } else {
            20
        };
        let (_, top_y) = chart.backend_coord(&(0, nice_ceiling(top)));
        let (_, bottom_y) = chart.backend_coord(&(0, 0));
        for (i, label) in labels.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(i, 0));
            let figures: Vec<String> = series
                .iter()
                .map(|(name, values)| format!("{name} {}", values.get(i).copied().unwrap_or(0)))
                .collect();
            zones.push(hover_zone(
                x - half,
                top_y,
                2 * half,
                bottom_y - top_y,
                &format!("{label}: {}", figures.join(", ")),
            ));
        }
        root.present().map_err(chart_error)?;
    }
    Ok(with_hover_zones(svg, &zones))
}

/// Counted visits beside the estimate of all visits, its 95 % interval
/// drawn as an error bar, each bar labelled with its value.
pub fn estimate_chart(
    counted: u64,
    (estimate, low, high): (f64, f64, f64),
    (width, height): (u32, u32),
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let top = nice_ceiling(high.max(counted as f64).ceil() as u64) as f64;
        let names = ["Counted visits", "Estimated visits (all)"];
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d((0..1usize).into_segmented(), 0.0..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    names.get(*i).map(|n| n.to_string()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_desc("Visits")
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(chart_error)?;
        let bars = [(0, counted as f64, SERIES[2]), (1, estimate, SERIES[0])];
        chart
            .draw_series(bars.iter().map(|(i, v, colour)| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(*i), 0.0),
                        (SegmentValue::Exact(i + 1), *v),
                    ],
                    colour.mix(0.8).filled(),
                );
                bar.set_margin(0, 0, 30, 30);
                bar
            }))
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
                Text::new(
                    format!("{counted}"),
                    (SegmentValue::CenterOf(0), counted as f64),
                    label_style(),
                ),
                Text::new(
                    format!("≈ {estimate:.0} ({low:.0} to {high:.0})"),
                    (SegmentValue::CenterOf(1), high),
                    label_style(),
                ),
            ])
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A bar's value label: centred above the bar.
fn label_style() -> TextStyle<'static> {
    ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom))
}

/// A transparent rectangle that shows `title` on hover.
fn hover_zone(x: i32, y: i32, width: i32, height: i32, title: &str) -> String {
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<rect class=\"hover\" x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" fill=\"transparent\"><title>{title}</title></rect>"
    )
}

/// The SVG with the hover zones drawn last, on top of everything.
fn with_hover_zones(svg: String, zones: &[String]) -> String {
    match svg.rfind("</svg>") {
        Some(end) => format!("{}{}{}", &svg[..end], zones.concat(), &svg[end..]),
        None => svg,
    }
}

/// A round axis maximum at or above `value`, so the top label is readable.
fn nice_ceiling(value: u64) -> u64 {
    if value < 5 {
        return 5;
    }
    let magnitude = 10u64.pow(value.ilog10());
    [1, 2, 5, 10]
        .iter()
        .map(|m| m * magnitude)
        .find(|&c| c >= value)
        .unwrap_or(10 * magnitude)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A point's label on the site's calendar (its `local` start), or in UTC
/// when the server did not say.
pub fn point_label(point: &UsagePoint, granularity: Granularity) -> String {
    let local = &point.local;
    let field =
        |range: std::ops::Range<usize>| local.get(range).and_then(|s| s.parse::<u32>().ok());
    match (field(0..4), field(5..7), field(8..10)) {
        (Some(year), Some(month @ 1..=12), Some(day)) => {
            let hour = field(11..13).unwrap_or(0);
            label(year.into(), month, day, hour, granularity)
        }
        _ => bucket_label(point.start, granularity),
    }
}

/// "Nov 24" for a day or the week starting then, "14:00" for an hour,
/// "Nov 2026" for a month; from a UTC instant.
pub fn bucket_label(start_ms: i64, granularity: Granularity) -> String {
    let (year, month, day) = civil_from_days(start_ms.div_euclid(86_400_000));
    let hour = (start_ms.rem_euclid(86_400_000) / 3_600_000) as u32;
    label(year, month, day, hour, granularity)
}

fn label(year: i64, month: u32, day: u32, hour: u32, granularity: Granularity) -> String {
    let month_name = MONTHS[(month.clamp(1, 12) - 1) as usize];
    match granularity {
        Granularity::Day | Granularity::Week => format!("{month_name} {day}"),
        Granularity::Hour => format!("{hour:02}:00"),
        Granularity::Month => format!("{month_name} {year}"),
    }
}

/// A share (0 to 1) as the dashboard writes it: "66.7 %".
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// "2026-11-25 14:03 UTC".
pub fn utc_minute(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01, after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
        let svg = rate_series_chart(&points, "Visits converting (%)", (600, 240)).unwrap();
        assert_eq!(svg.matches("<circle").count(), 10);
        assert!(svg.contains("<title>Nov 3: 3.0 %</title>"), "{svg}");
        for label in ["Nov 1", "Visits converting (%)", "10 %"] {
            assert!(svg.contains(label), "no {label} in {svg}");
        }
    }

    #[test]
    fn decisions_per_day_draw_one_marked_line_per_series_with_a_legend() {
        let labels: Vec<String> = (1..=5).map(|d| format!("Nov {d}")).collect();
        let series = [
            ("Accept all", vec![5, 6, 7, 8, 9]),
            ("Reject all", vec![1, 2, 1, 2, 1]),
            ("Custom", vec![0, 1, 0, 1, 0]),
        ];
        let svg = lines_chart(&labels, &series, "Decisions", (600, 240)).unwrap();
        for text in ["Accept all", "Reject all", "Custom", "Decisions", "Nov 1"] {
            assert!(svg.contains(text), "no {text}");
        }
        assert_eq!(
            svg.matches("<circle").count(),
            5,
            "one marker per point of the first"
        );
    }

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
        let svg = usage_chart(&points, Granularity::Day, (600, 240)).unwrap();
        assert_eq!(svg.matches("class=\"hover\"").count(), 3);
        assert!(
            svg.contains("<title>Jan 2: 20 page views, 2 unique visitors</title>"),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_funnel_chart_labels_each_step_with_its_entrants_and_share() {
        let steps = vec![
            ("Home".to_owned(), 200),
            ("Cart".into(), 50),
            ("Paid".into(), 10),
        ];
        let svg = funnel_chart(&steps, (600, 240)).unwrap();
        for label in ["200 (100 %)", "50 (25 %)", "10 (5 %)", "Step 3", "Entrants"] {
            assert!(svg.contains(label), "no {label} in {svg}");
        }
        assert!(svg.matches("<rect").count() >= 3);
    }

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
    fn draws_an_svg_with_both_series_and_date_labels() {
        let svg = usage_chart(&series(&[3, 0, 7]), Granularity::Day, (640, 240)).unwrap();
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
        let svg = usage_chart(&series(&[1, 38]), Granularity::Day, (640, 240)).unwrap();
        // plotters puts label text on a line of its own.
        assert!(svg.contains(">\n50\n</text>"), "{svg}");
    }

    #[test]
    fn an_empty_series_still_draws_axes() {
        let svg = usage_chart(&[], Granularity::Hour, (320, 200)).unwrap();
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn labels_days_and_hours_in_utc() {
        assert_eq!(bucket_label(NOV_24, Granularity::Day), "Nov 24");
        assert_eq!(bucket_label(NOV_24 + 37 * DAY, Granularity::Day), "Dec 31");
        assert_eq!(bucket_label(NOV_24 + 38 * DAY, Granularity::Day), "Jan 1");
        assert_eq!(
            bucket_label(NOV_24 + 14 * 3_600_000, Granularity::Hour),
            "14:00"
        );
        assert_eq!(bucket_label(NOV_24, Granularity::Month), "Nov 2025");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(0), 5);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(38), 50);
        assert_eq!(nice_ceiling(101), 200);
        assert_eq!(nice_ceiling(1000), 1000);
    }

    #[test]
    fn labels_follow_the_sites_calendar_when_the_server_gives_it() {
        // Midnight in Berlin is 23:00 UTC the day before.
        let point = UsagePoint {
            start: NOV_24 - 3_600_000,
            local: "2025-11-24".into(),
            pageviews: 1,
            visitors: 1,
        };
        assert_eq!(point_label(&point, Granularity::Day), "Nov 24");
        let hour = UsagePoint {
            local: "2025-11-24T05:00".into(),
            ..point.clone()
        };
        assert_eq!(point_label(&hour, Granularity::Hour), "05:00");
        let unknown = UsagePoint {
            local: String::new(),
            ..point
        };
        assert_eq!(point_label(&unknown, Granularity::Day), "Nov 23");
    }
}
