//! What every chart shares: the SVG canvas, the plot with its label areas,
//! the mesh's style, the hover zones drawn on top, and round axis maxima.

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordusize;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartError, chart_error};

/// The mesh's light lines.
const GRID: RGBColor = RGBColor(0xee, 0xee, 0xee);

/// Draws a chart of `size` on a white SVG canvas: `draw` plots on it and
/// returns the chart's hover zones ([`column_zones`]), which go on top of
/// everything.
pub fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<Vec<String>, ChartError>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let zones = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let zones = draw(&root)?;
        root.present().map_err(chart_error)?;
        zones
    };
    Ok(with_hover_zones(svg, &zones))
}

/// A plot on an SVG canvas, over the ranges of `X` and `Y`.
pub type Plot<'a, 'b, X, Y> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// The plot on `root`: its margin, the x axis' label area, and a y axis'
/// label area `y_labels` wide, over the ranges `x` and `y`.
pub fn plot<'a, 'b, X: AsRangedCoord, Y: AsRangedCoord>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    y_labels: u32,
    x: X,
    y: Y,
) -> Result<Plot<'a, 'b, X, Y>, ChartError> {
    ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x, y)
        .map_err(chart_error)
}

/// The mesh in the charts' style (horizontal lines only, light, labels in
/// a 15 px sans-serif); the chart sets its labels and draws it.
pub fn mesh<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .light_line_style(GRID)
        .label_style(("sans-serif", 15));
    mesh
}

/// One hover zone per bucket of a chart over buckets `0..n`: the bucket's
/// column of the plot, from `bottom` to `top`, titled with `titles[i]`
/// (browsers show a title on hover).
pub fn column_zones<Y>(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordusize, Y>>,
    (bottom, top): (Y::ValueType, Y::ValueType),
    titles: &[String],
) -> Vec<String>
where
    Y: Ranged,
    Y::ValueType: Clone,
{
    let at = |i: usize, y: &Y::ValueType| chart.backend_coord(&(i, y.clone()));
    let half = if titles.len() > 1 {
        (at(1, &bottom).0 - at(0, &bottom).0) / 2
    } else {
        20
    };
    let (_, top_y) = at(0, &top);
    let (_, bottom_y) = at(0, &bottom);
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let (x, _) = at(i, &bottom);
            hover_zone(x - half, top_y, 2 * half, bottom_y - top_y, title)
        })
        .collect()
}

/// Bar `i` of a segmented x axis, from `zero` up to `value`, `inset`
/// pixels in from each side of its segment.
pub fn bar<Y>(
    i: usize,
    (zero, value): (Y, Y),
    style: ShapeStyle,
    inset: u32,
) -> Rectangle<(SegmentValue<usize>, Y)> {
    let mut bar = Rectangle::new(
        [
            (SegmentValue::Exact(i), zero),
            (SegmentValue::Exact(i + 1), value),
        ],
        style,
    );
    bar.set_margin(0, 0, inset, inset);
    bar
}

/// `text` centred above `value` in segment `i`: a bar's value label.
pub fn bar_label<Y>(
    i: usize,
    value: Y,
    text: String,
) -> Text<'static, (SegmentValue<usize>, Y), String> {
    Text::new(text, (SegmentValue::CenterOf(i), value), label_style())
}

/// A bar's value label: centred above the bar.
fn label_style() -> TextStyle<'static> {
    ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom))
}

/// `text` as SVG text content.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A transparent rectangle that shows `title` on hover.
fn hover_zone(x: i32, y: i32, width: i32, height: i32, title: &str) -> String {
    let title = escape(title);
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
pub fn nice_ceiling(value: u64) -> u64 {
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

/// A round percentage axis maximum (5 % steps) at or above the largest of
/// `rates` (0 to 1), in per cent.
pub fn percent_ceiling(rates: impl Iterator<Item = f64>) -> f64 {
    let top = rates.fold(0.0, f64::max);
    ((top * 100.0 / 5.0).ceil() * 5.0).max(5.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(0), 5);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(38), 50);
        assert_eq!(nice_ceiling(101), 200);
        assert_eq!(nice_ceiling(1000), 1000);
        assert_eq!(percent_ceiling([0.137, 0.036].into_iter()), 15.0);
        assert_eq!(percent_ceiling(std::iter::empty()), 5.0);
    }

    #[test]
    fn hover_titles_are_escaped_and_drawn_on_top() {
        let svg = with_hover_zones(
            "<svg><rect/></svg>".into(),
            &[hover_zone(1, 2, 3, 4, "<a> & b")],
        );
        assert_eq!(
            svg,
            "<svg><rect/><rect class=\"hover\" x=\"1\" y=\"2\" width=\"3\" height=\"4\" fill=\"transparent\"><title>&lt;a&gt; &amp; b</title></rect></svg>"
        );
    }
}
