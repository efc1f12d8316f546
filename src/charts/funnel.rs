//! A funnel: one bar per step.

use plotters::prelude::*;

use super::frame::{self, bar, bar_label, nice_ceiling};
use super::{ChartError, PAGEVIEWS, chart_error};

/// One bar per funnel step (its entrants), labelled with the count and the
/// conversion from the first step, so the values read without hovering.
pub fn funnel_chart(steps: &[(String, u64)], size: (u32, u32)) -> Result<String, ChartError> {
    frame::svg(size, |root| {
        let first = steps.first().map_or(0, |s| s.1);
        let top = nice_ceiling(first.max(1));
        let mut chart = frame::plot(
            root,
            44,
            (0..steps.len().saturating_sub(1)).into_segmented(),
            0..top,
        )?;
        frame::mesh(&mut chart)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => format!("Step {}", i + 1),
                _ => String::new(),
            })
            .y_desc("Entrants")
            .y_labels(6)
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(
                steps
                    .iter()
                    .enumerate()
                    .map(|(i, (_, n))| bar(i, (0, *n), PAGEVIEWS.mix(0.8).filled(), 8)),
            )
            .map_err(chart_error)?;
        chart
            .draw_series(steps.iter().enumerate().map(|(i, (_, n))| {
                let share = if first == 0 {
                    0.0
                } else {
                    *n as f64 * 100.0 / first as f64
                };
                bar_label(i, *n, format!("{n} ({share:.0} %)"))
            }))
            .map_err(chart_error)?;
        Ok(Vec::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
