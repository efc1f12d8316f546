//! Annotations on a chart over time: each placed where its instant falls
//! among the chart's buckets, drawn as a numbered dashed line whose number
//! the key under the chart repeats.

use plotters::coord::types::RangedCoordusize;
use plotters::prelude::*;

use super::frame::escape;

/// The marks' colour, apart from every series colour.
const MARK: &str = "#6d28d9";

/// An annotation placed on a chart over buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Where on the x axis, in buckets: 2.5 is halfway through the third.
    pub position: f64,
    /// Its number on the chart and in the key, from 1.
    pub number: usize,
    /// Shown on hover after its number, and in the key: when and what.
    pub title: String,
}

/// Places `annotations` (instant, title; in time order) on a chart whose
/// buckets start at `starts` (ascending; the last as long as the one
/// before it). Those outside the buckets are left out; the others are
/// numbered from 1.
pub fn place(starts: &[i64], annotations: &[(i64, String)]) -> Vec<Mark> {
    let Some(&last) = starts.last() else {
        return Vec::new();
    };
    let width = match starts {
        [.., before, last] => last - before,
        _ => 0,
    };
    let end = last + width.max(1);
    annotations
        .iter()
        .filter(|(at, _)| (starts[0]..end).contains(at))
        .enumerate()
        .map(|(n, (at, title))| {
            let i = starts.partition_point(|s| s <= at) - 1;
            let next = starts.get(i + 1).copied().unwrap_or(end);
            let within = (at - starts[i]) as f64 / (next - starts[i]).max(1) as f64;
            Mark {
                position: i as f64 + within,
                number: n + 1,
                title: title.clone(),
            }
        })
        .collect()
}

/// The marks as SVG, over the plot of a chart over buckets `0..`, from
/// `bottom` to `top`: drawn last, on top of the series.
pub fn draw<Y>(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordusize, Y>>,
    (bottom, top): (Y::ValueType, Y::ValueType),
    marks: &[Mark],
) -> Vec<String>
where
    Y: Ranged,
    Y::ValueType: Clone,
{
    let (_, top_y) = chart.backend_coord(&(0, top));
    let (_, bottom_y) = chart.backend_coord(&(0, bottom.clone()));
    let last = chart.x_range().end;
    marks
        .iter()
        .map(|mark| {
            let i = (mark.position.floor() as usize).min(last);
            let (x0, _) = chart.backend_coord(&(i, bottom.clone()));
            let (x1, _) = chart.backend_coord(&((i + 1).min(last), bottom.clone()));
            let x = x0 + ((x1 - x0) as f64 * mark.position.fract()).round() as i32;
            let flag = top_y + 9;
            format!(
                "<g class=\"mark\" data-mark=\"{n}\"><title>{title}</title>\
                 <rect x=\"{hx}\" y=\"{top_y}\" width=\"12\" height=\"{h}\" fill=\"transparent\"/>\
                 <line x1=\"{x}\" y1=\"{flag}\" x2=\"{x}\" y2=\"{bottom_y}\" stroke=\"{MARK}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\
                 <circle cx=\"{x}\" cy=\"{flag}\" r=\"9\" fill=\"{MARK}\"/>\
                 <text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"12\" font-weight=\"bold\" fill=\"#ffffff\">{n}</text></g>",
                n = mark.number,
                title = escape(&format!("{}. {}", mark.number, mark.title)),
                hx = x - 6,
                h = bottom_y - top_y,
                ty = flag + 4,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn an_annotation_is_placed_where_its_instant_falls_among_the_buckets() {
        let starts: Vec<i64> = (0..7).map(|d| d * DAY).collect();
        let annotations = vec![
            (-1, "before the range".to_owned()),
            (DAY + DAY / 2, "Deploy 2.4.0".to_owned()),
            (6 * DAY + DAY / 4, "Spring campaign".to_owned()),
            (7 * DAY, "after the range".to_owned()),
        ];
        assert_eq!(
            place(&starts, &annotations),
            vec![
                Mark {
                    position: 1.5,
                    number: 1,
                    title: "Deploy 2.4.0".into()
                },
                Mark {
                    position: 6.25,
                    number: 2,
                    title: "Spring campaign".into()
                },
            ]
        );
        assert!(place(&[], &annotations).is_empty());
    }
}
