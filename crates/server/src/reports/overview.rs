//! The overview's arithmetic (see [`sonde_protocol::overview`] for the
//! definitions): key figures from a period's visit totals, and a
//! breakdown's listed and hidden groups.
//!
//! # What a store provides
//! For a period's visits (a session's page views on one day of the site's
//! calendar, of the sessions the filters select): the distinct visitors
//! (day and visitor id), the visits, their page views, the visits of one
//! page view, and their durations added up. For each breakdown, each
//! label's distinct visitors and count, in any order.

use sonde_protocol::overview::{Breakdown, BreakdownRow, KeyFigures};

/// Most rows a breakdown lists.
pub const BREAKDOWN_ROWS: usize = 10;

/// What a period's visits add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VisitTotals {
    pub visitors: u64,
    pub sessions: u64,
    pub pageviews: u64,
    pub bounces: u64,
    pub duration_ms: f64,
}

/// The key figures of a period from its visits' totals.
pub fn key_figures(t: VisitTotals) -> KeyFigures {
    let per_session = |x: f64| {
        if t.sessions > 0 {
            x / t.sessions as f64
        } else {
            0.0
        }
    };
    KeyFigures {
        visitors: t.visitors,
        sessions: t.sessions,
        pageviews: t.pageviews,
        views_per_session: per_session(t.pageviews as f64),
        bounce_rate: per_session(t.bounces as f64),
        avg_duration_ms: per_session(t.duration_ms),
        fewer_than_k: false,
    }
}

/// The largest groups of `rows` with at least `k` visitors (most
/// visitors first, then the largest count, then by label); the smaller
/// ones are only counted.
pub fn breakdown(mut rows: Vec<BreakdownRow>, k: u64) -> Breakdown {
    rows.sort_by(|a, b| {
        b.visitors
            .cmp(&a.visitors)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.label.cmp(&b.label))
    });
    let (listed, small): (Vec<BreakdownRow>, Vec<BreakdownRow>) =
        rows.into_iter().partition(|row| row.visitors >= k);
    Breakdown {
        rows: listed.into_iter().take(BREAKDOWN_ROWS).collect(),
        small_groups: small.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, visitors: u64, count: u64) -> BreakdownRow {
        BreakdownRow {
            label: label.into(),
            visitors,
            count,
        }
    }

    #[test]
    fn groups_are_ranked_by_visitors_then_count_then_label_and_small_ones_only_counted() {
        let b = breakdown(
            vec![
                row("b", 3, 4),
                row("a", 3, 4),
                row("c", 3, 9),
                row("d", 1, 1),
            ],
            2,
        );
        let labels: Vec<&str> = b.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["c", "a", "b"]);
        assert_eq!(b.small_groups, 1);
    }

    #[test]
    fn key_figures_of_no_visits_are_zero_not_nan() {
        let figures = key_figures(VisitTotals::default());
        assert_eq!(figures.bounce_rate, 0.0);
        assert_eq!(figures.avg_duration_ms, 0.0);
    }
}
