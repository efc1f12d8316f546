//! The conversions report of a goal, apart from any store ([`report`]):
//! rates over time and by source, medium, campaign, referrer and landing
//! page, top ten per breakdown, rows of fewer than `k` visitors only
//! counted. The definitions are in [`sonde_protocol::goal`].
//!
//! # What a store provides
//!
//! - Each visit (session) that began with a page view in the scope's
//!   period, once, as a [`VisitRow`] read from its first page view (in any
//!   order: the arithmetic sorts).
//! - The goal's hits in the period: one `(session, value)` per matching
//!   event, repeats included (a visit converts once, its values add up).

use foldhash::{HashMap, HashMapExt, HashSet};

use sonde_protocol::goal::{
    ConversionBreakdown, ConversionPoint, ConversionRow, ConversionsReport, Goal,
};

use super::buckets::Bucket;

/// A visit as the conversions report reads it: its first page view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VisitRow {
    pub session: String,
    pub visitor: i64,
    pub start: i64,
    pub landing: String,
    /// As a filter reads them (see [`sonde_protocol::filters`]): the
    /// referrer host or `direct`; the campaign's source, else the referrer.
    pub referrer: String,
    pub source: String,
    pub medium: Option<String>,
    pub campaign: Option<String>,
}

/// The label of visits without a campaign medium or name.
pub const NONE: &str = "(none)";

/// Most rows a conversions breakdown lists.
const ROWS: usize = 10;

fn rate(conversions: u64, visits: u64) -> f64 {
    if visits == 0 {
        0.0
    } else {
        conversions as f64 / visits as f64
    }
}

/// The report of `goal` over `visits`, given the goal's hits (a visit and
/// the matching event's value), bucketed by when each visit began.
pub fn report(
    goal: Goal,
    visits: &[VisitRow],
    hits: &[(String, Option<f64>)],
    buckets: &[Bucket],
    k: u64,
) -> ConversionsReport {
    // A converting visit's value: the goal's fixed value, or its events' sum.
    let mut value_of: HashMap<&str, f64> = HashMap::new();
    for (session, value) in hits {
        let v = value_of.entry(session.as_str()).or_insert(0.0);
        if goal.value.is_none() {
            *v += value.unwrap_or(0.0);
        }
    }
    if let Some(fixed) = goal.value {
        value_of.values_mut().for_each(|v| *v = fixed);
    }
    // Looked up once per visit: a report reads a million visits, and each
    // is counted in every breakdown.
    let values: Vec<Option<f64>> = visits
        .iter()
        .map(|v| value_of.get(v.session.as_str()).copied())
        .collect();

    let mut series: Vec<ConversionPoint> = buckets
        .iter()
        .map(|b| ConversionPoint {
            start: b.start,
            local: b.local.clone(),
            ..ConversionPoint::default()
        })
        .collect();
    let (mut total_visits, mut total_conversions, mut total_value) = (0, 0, 0.0);
    for (v, converted) in visits.iter().zip(&values) {
        total_visits += 1;
        let bucket = buckets.partition_point(|b| b.stop <= v.start);
        let point = series.get_mut(bucket);
        if let Some(point) = point {
            point.visits += 1;
        }
        if let Some(value) = *converted {
            total_conversions += 1;
            total_value += value;
            if let Some(point) = series.get_mut(bucket) {
                point.conversions += 1;
                point.value += value;
            }
        }
    }
    // Labels borrowed from the visits: a report reads a million visits.
    let breakdown = |label: &dyn Fn(&VisitRow) -> &str| {
        let mut groups: HashMap<&str, (HashSet<i64>, u64, u64, f64)> = HashMap::new();
        for (v, converted) in visits.iter().zip(&values) {
            let g = groups.entry(label(v)).or_default();
            g.0.insert(v.visitor);
            g.1 += 1;
            if let Some(value) = *converted {
                g.2 += 1;
                g.3 += value;
            }
        }
        let mut rows: Vec<ConversionRow> = Vec::new();
        let mut small_groups = 0;
        for (label, (visitors, visits, conversions, value)) in groups {
            if (visitors.len() as u64) < k {
                small_groups += 1;
                continue;
            }
            rows.push(ConversionRow {
                label: label.to_owned(),
                visitors: visitors.len() as u64,
                visits,
                conversions,
                rate: rate(conversions, visits),
                value,
            });
        }
        rows.sort_by(|a, b| {
            b.conversions
                .cmp(&a.conversions)
                .then_with(|| b.visits.cmp(&a.visits))
                .then_with(|| a.label.cmp(&b.label))
        });
        rows.truncate(ROWS);
        ConversionBreakdown { rows, small_groups }
    };

    ConversionsReport {
        visits: total_visits,
        conversions: total_conversions,
        rate: rate(total_conversions, total_visits),
        value: total_value,
        series,
        sources: breakdown(&|v| &v.source),
        mediums: breakdown(&|v| v.medium.as_deref().unwrap_or(NONE)),
        campaigns: breakdown(&|v| v.campaign.as_deref().unwrap_or(NONE)),
        referrers: breakdown(&|v| &v.referrer),
        landing_pages: breakdown(&|v| &v.landing),
        goal,
        k,
        previous: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_protocol::funnel::Step;

    fn visit(session: &str, visitor: i64, start: i64, campaign: Option<&str>) -> VisitRow {
        VisitRow {
            session: session.into(),
            visitor,
            start,
            landing: "/".into(),
            campaign: campaign.map(Into::into),
            ..VisitRow::default()
        }
    }

    fn purchase(value: Option<f64>) -> Goal {
        Goal {
            name: "Purchase".into(),
            target: Step::Event {
                name: "purchase".into(),
                property: None,
                value: None,
            },
            value,
        }
    }

    #[test]
    fn conversions_and_value_by_bucket_and_campaign_with_small_groups_hidden() {
        let buckets = vec![
            Bucket {
                start: 0,
                stop: 100,
                local: "day 1".into(),
            },
            Bucket {
                start: 100,
                stop: 200,
                local: "day 2".into(),
            },
        ];
        let visits = vec![
            visit("a", 1, 10, Some("sale")),
            visit("b", 2, 20, Some("sale")),
            visit("c", 3, 150, Some("sale")),
            visit("d", 4, 160, None),
            visit("e", 4, 170, None),
        ];
        // Visit a bought twice; c once; e once.
        let hits = vec![
            ("a".to_owned(), Some(49.0)),
            ("a".to_owned(), Some(10.0)),
            ("c".to_owned(), Some(49.0)),
            ("e".to_owned(), Some(5.0)),
        ];
        let r = report(purchase(None), &visits, &hits, &buckets, 2);
        assert_eq!((r.visits, r.conversions), (5, 3));
        assert!((r.rate - 0.6).abs() < 1e-9);
        assert_eq!(r.value, 113.0);
        let points: Vec<(u64, u64, f64)> = r
            .series
            .iter()
            .map(|p| (p.visits, p.conversions, p.value))
            .collect();
        assert_eq!(points, [(2, 1, 59.0), (3, 2, 54.0)]);
        let sale = &r.campaigns.rows[0];
        assert_eq!(
            (sale.label.as_str(), sale.visits, sale.conversions),
            ("sale", 3, 2)
        );
        assert_eq!(
            r.campaigns.small_groups, 1,
            "(none) has one visitor, under k = 2"
        );

        // A fixed value counts once per converting visit.
        let fixed = report(purchase(Some(30.0)), &visits, &hits, &buckets, 1);
        assert_eq!(fixed.value, 90.0);
    }
}
