//! Figures under a filter that fewer than k visitors stand behind are not
//! shown, only said to be that: a filter narrowed to a source, a browser
//! and a page could otherwise show what one person did. Breakdown rows have
//! their own rule (listed from k visitors, the rest counted); this is the
//! rule for the key figures and totals of a filtered view. An unfiltered
//! view is the whole site, which narrows to no one.
//!
//! # What a store provides
//!
//! Nothing of its own: the figures as computed, which this rewrites.

use sonde_protocol::UsageReport;
use sonde_protocol::overview::{KeyFigures, OverviewReport};

/// Blanks `figures` when they count fewer than `k` visitors (but some).
fn suppress(figures: &mut KeyFigures, k: u64) {
    if figures.visitors > 0 && figures.visitors < k {
        *figures = KeyFigures {
            fewer_than_k: true,
            ..KeyFigures::default()
        };
    }
}

/// The overview's key figures, of both periods, under a filter.
pub fn overview(report: &mut OverviewReport, filtered: bool) {
    if filtered {
        suppress(&mut report.current, report.k);
        suppress(&mut report.previous, report.k);
    }
}

/// The usage report's totals and series under a filter.
pub fn usage(report: &mut UsageReport, filtered: bool, k: u64) {
    if filtered && report.total_visitors > 0 && report.total_visitors < k {
        report.fewer_than_k = true;
        report.total_visitors = 0;
        report.total_pageviews = 0;
        for point in &mut report.series {
            point.pageviews = 0;
            point.visitors = 0;
        }
        report.top_pages.clear();
        report.top_pages_hidden = 0;
    }
    if let Some(previous) = report.previous.as_mut()
        && filtered
        && previous.visitors > 0
        && previous.visitors < k
    {
        previous.visitors = 0;
        previous.pageviews = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(visitors: u64) -> KeyFigures {
        KeyFigures {
            visitors,
            sessions: visitors,
            pageviews: 3 * visitors,
            views_per_session: 3.0,
            bounce_rate: 0.5,
            avg_duration_ms: 1_000.0,
            fewer_than_k: false,
        }
    }

    #[test]
    fn filtered_figures_of_fewer_than_k_visitors_say_only_that() {
        let mut report = OverviewReport {
            current: figures(2),
            previous: figures(7),
            k: 5,
            ..OverviewReport::default()
        };
        overview(&mut report, true);
        assert!(report.current.fewer_than_k);
        assert_eq!(report.current.pageviews, 0);
        assert_eq!(report.previous, figures(7), "k visitors or more stay");

        let mut whole_site = OverviewReport {
            current: figures(2),
            k: 5,
            ..OverviewReport::default()
        };
        overview(&mut whole_site, false);
        assert_eq!(whole_site.current, figures(2), "no filter, no narrowing");

        let mut none = OverviewReport {
            k: 5,
            ..OverviewReport::default()
        };
        overview(&mut none, true);
        assert!(!none.current.fewer_than_k, "nobody is no one to point at");
    }
}
