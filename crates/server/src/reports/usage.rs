//! The usage report: page views and visitors per bucket of the site's
//! calendar, and the top pages.
//!
//! A visitor id stands for one visitor on one day (its salt changes at the
//! site's midnight), so visitors are counted per day and added up: a
//! week's visitors are the sum of its days', a page's the sum over the
//! days it was seen.
//!
//! # What a store provides
//! [`DayFigures`]: per day of the site's calendar (keyed by the day's
//! start), the page views and distinct visitors; per path, the page views
//! and the distinct visitors of each day added up. For hourly series, the
//! page views and distinct visitors of each bucket.

use std::collections::{BTreeMap, HashMap};

use sonde_protocol::usage::{PageStat, UsagePoint, UsageReport, UsageTotals};

use super::buckets::Bucket;

/// Most top pages a usage report lists.
pub const TOP_PAGES: usize = 10;

/// Page views and visitors of a scope, per day of the site's calendar and
/// per page (a page's visitors added up over its days).
#[derive(Debug, Default, PartialEq)]
pub struct DayFigures {
    /// Keyed by the day's start, ms since the epoch.
    pub days: BTreeMap<i64, Counts>,
    pub pages: HashMap<String, Counts>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub views: u64,
    pub visitors: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.views += other.views;
        self.visitors += other.visitors;
    }
}

impl DayFigures {
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.days.values() {
            total += *counts;
        }
        total
    }

    /// The figures of each bucket of days (days, weeks or months).
    pub fn per_bucket(&self, buckets: &[Bucket]) -> Vec<Counts> {
        let mut out = vec![Counts::default(); buckets.len()];
        for (start, counts) in &self.days {
            let i = buckets.partition_point(|b| b.stop <= *start);
            if let Some(slot) = out.get_mut(i) {
                *slot += *counts;
            }
        }
        out
    }
}

/// The series of `buckets` from each bucket's counts (by its start; a
/// bucket without any counts as zero).
pub fn series(buckets: &[Bucket], counted: &HashMap<i64, Counts>) -> Vec<UsagePoint> {
    buckets
        .iter()
        .map(|b| {
            let counts = counted.get(&b.start).copied().unwrap_or_default();
            UsagePoint {
                start: b.start,
                local: b.local.clone(),
                pageviews: counts.views,
                visitors: counts.visitors,
            }
        })
        .collect()
}

/// The series of day-long or longer `buckets`, from the days' figures.
pub fn daily_series(buckets: &[Bucket], figures: &DayFigures) -> Vec<UsagePoint> {
    let counted = buckets
        .iter()
        .zip(figures.per_bucket(buckets))
        .map(|(b, counts)| (b.start, counts))
        .collect();
    series(buckets, &counted)
}

/// The report of a period from its series, its figures, and the totals
/// of the period before when compared: pages seen by fewer than `k`
/// visitors are counted, not listed.
pub fn report(
    series: Vec<UsagePoint>,
    figures: &DayFigures,
    previous: Option<Counts>,
    k: u64,
) -> UsageReport {
    let mut pages: Vec<PageStat> = figures
        .pages
        .iter()
        .map(|(path, counts)| PageStat {
            path: path.clone(),
            pageviews: counts.views,
            visitors: counts.visitors,
        })
        .collect();
    pages.sort_by(|a, b| {
        b.pageviews
            .cmp(&a.pageviews)
            .then_with(|| a.path.cmp(&b.path))
    });
    let (top_pages, small): (Vec<PageStat>, Vec<PageStat>) =
        pages.into_iter().partition(|p| p.visitors >= k);
    let total = figures.total();
    UsageReport {
        series,
        top_pages: top_pages.into_iter().take(TOP_PAGES).collect(),
        top_pages_hidden: small.len() as u64,
        total_pageviews: total.views,
        total_visitors: total.visitors,
        fewer_than_k: false,
        previous: previous.map(|total| UsageTotals {
            pageviews: total.views,
            visitors: total.visitors,
        }),
        imported: None,
    }
}
