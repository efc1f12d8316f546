//! The conversions report of a goal, apart from any store ([`report`]):
//! rates over time and by source, medium, campaign, referrer and landing
//! page, top ten per breakdown, rows of fewer than `k` visitors only
//! counted. The definitions are in [`sonde_protocol::goal`].
//!
//! # What a store provides
//!
//! The report is built from [`ConversionTallies`]: the visits, conversions
//! and value of every visit of the scope, of the visits begun in each
//! bucket, and of each label of each breakdown with its visitors.
//! [`tally`] defines them from
//!
//! - each visit of the scope, once, as a [`VisitRow`] read from its first
//!   page view: a visit is a session's page views on one day of the site's
//!   calendar (its visitor id changes at midnight), as the overview counts
//!   visits, so that both reports give the same number;
//! - the goal's hits in the period, as [`GoalHit`]s: one per matching
//!   event, repeats included (a visit converts once, its values add up),
//!   each belonging to its session's visit of the hit's day.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet};

use sonde_protocol::goal::{
    ConversionBreakdown, ConversionPoint, ConversionRow, ConversionsReport, Goal,
};

use super::buckets::Bucket;

/// A visit as the conversions report reads it: its first page view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VisitRow {
    pub session: String,
    /// The start of the visit's day on the site's calendar, ms.
    pub day_start: i64,
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

/// An event that reached a goal: whose visit it counts for, and its value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GoalHit {
    pub session: String,
    /// The start of the hit's day on the site's calendar, ms: the day of
    /// its session's visit.
    pub day_start: i64,
    pub value: Option<f64>,
}

/// The label of visits without a campaign medium or name.
pub const NONE: &str = "(none)";

/// Most rows a conversions breakdown lists.
const ROWS: usize = 10;

/// What the report breaks visits down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Breakdown {
    Source,
    Medium,
    Campaign,
    Referrer,
    Landing,
}

impl Breakdown {
    pub const ALL: [Breakdown; 5] = [
        Breakdown::Source,
        Breakdown::Medium,
        Breakdown::Campaign,
        Breakdown::Referrer,
        Breakdown::Landing,
    ];

    /// A visit's label in this breakdown.
    pub fn label(self, v: &VisitRow) -> &str {
        match self {
            Breakdown::Source => &v.source,
            Breakdown::Medium => v.medium.as_deref().unwrap_or(NONE),
            Breakdown::Campaign => v.campaign.as_deref().unwrap_or(NONE),
            Breakdown::Referrer => &v.referrer,
            Breakdown::Landing => &v.landing,
        }
    }
}

/// Visits, those that converted, and the converting visits' value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub visits: u64,
    pub conversions: u64,
    pub value: f64,
}

impl Counts {
    fn add(&mut self, value: Option<f64>) {
        self.visits += 1;
        if let Some(value) = value {
            self.conversions += 1;
            self.value += value;
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.visits += other.visits;
        self.conversions += other.conversions;
        self.value += other.value;
    }
}

/// What the report reads of a scope's visits and a goal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversionTallies {
    /// Every visit of the scope.
    pub totals: Counts,
    /// The visits begun in each bucket that has any, by its index.
    pub series: BTreeMap<usize, Counts>,
    /// Each breakdown's labels: their distinct visitors and counts.
    pub labels: BTreeMap<(Breakdown, String), (u64, Counts)>,
}

impl ConversionTallies {
    /// Adds the tallies of other visits, of other days: every figure adds
    /// up, visitors too, as they are counted per day.
    pub fn merge(&mut self, other: ConversionTallies) {
        self.totals += other.totals;
        for (bucket, counts) in other.series {
            *self.series.entry(bucket).or_default() += counts;
        }
        for (label, (visitors, counts)) in other.labels {
            let (v, c) = self.labels.entry(label).or_default();
            *v += visitors;
            *c += counts;
        }
    }
}

/// The tallies of `visits` against the goal's `hits`, with buckets by
/// `buckets`. A converting visit's value is the goal's fixed value, else
/// the sum of its hits' values.
pub fn tally(
    goal: &Goal,
    visits: &[VisitRow],
    hits: &[GoalHit],
    buckets: &[Bucket],
) -> ConversionTallies {
    let mut value_of: HashMap<(&str, i64), f64> = HashMap::new();
    for hit in hits {
        let v = value_of
            .entry((hit.session.as_str(), hit.day_start))
            .or_insert(0.0);
        if goal.value.is_none() {
            *v += hit.value.unwrap_or(0.0);
        }
    }
    if let Some(fixed) = goal.value {
        value_of.values_mut().for_each(|v| *v = fixed);
    }
    let mut tallies = ConversionTallies::default();
    // Labels borrowed from the visits: a report may read a million.
    // Visitors by their day: an id stands for one visitor on one day.
    type DayVisitors = HashSet<(i64, i64)>;
    let mut labels: HashMap<(Breakdown, &str), (DayVisitors, Counts)> = HashMap::new();
    for v in visits {
        let value = value_of.get(&(v.session.as_str(), v.day_start)).copied();
        tallies.totals.add(value);
        let bucket = buckets.partition_point(|b| b.stop <= v.start);
        if bucket < buckets.len() {
            tallies.series.entry(bucket).or_default().add(value);
        }
        for breakdown in Breakdown::ALL {
            let (visitors, counts) = labels.entry((breakdown, breakdown.label(v))).or_default();
            visitors.insert((v.day_start, v.visitor));
            counts.add(value);
        }
    }
    tallies.labels = labels
        .into_iter()
        .map(|((breakdown, label), (visitors, counts))| {
            (
                (breakdown, label.to_owned()),
                (visitors.len() as u64, counts),
            )
        })
        .collect();
    tallies
}

fn rate(conversions: u64, visits: u64) -> f64 {
    if visits == 0 {
        0.0
    } else {
        conversions as f64 / visits as f64
    }
}

/// The report of `goal` from its tallies, bucketed by when each visit
/// began.
pub fn report(
    goal: Goal,
    tallies: &ConversionTallies,
    buckets: &[Bucket],
    k: u64,
) -> ConversionsReport {
    let series = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let counts = tallies.series.get(&i).copied().unwrap_or_default();
            ConversionPoint {
                start: b.start,
                local: b.local.clone(),
                visits: counts.visits,
                conversions: counts.conversions,
                value: counts.value,
            }
        })
        .collect();
    let breakdown = |wanted: Breakdown| {
        let mut rows: Vec<ConversionRow> = Vec::new();
        let mut small_groups = 0;
        for ((_, label), (visitors, c)) in tallies.labels.iter().filter(|((b, _), _)| *b == wanted)
        {
            if *visitors < k {
                small_groups += 1;
                continue;
            }
            rows.push(ConversionRow {
                label: label.clone(),
                visitors: *visitors,
                visits: c.visits,
                conversions: c.conversions,
                rate: rate(c.conversions, c.visits),
                value: c.value,
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
    let totals = tallies.totals;
    ConversionsReport {
        visits: totals.visits,
        conversions: totals.conversions,
        rate: rate(totals.conversions, totals.visits),
        value: totals.value,
        series,
        sources: breakdown(Breakdown::Source),
        mediums: breakdown(Breakdown::Medium),
        campaigns: breakdown(Breakdown::Campaign),
        referrers: breakdown(Breakdown::Referrer),
        landing_pages: breakdown(Breakdown::Landing),
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
        let hit = |session: &str, value| GoalHit {
            session: session.into(),
            day_start: 0,
            value: Some(value),
        };
        let hits = vec![
            hit("a", 49.0),
            hit("a", 10.0),
            hit("c", 49.0),
            hit("e", 5.0),
        ];
        let counted = |goal: Goal, k| {
            let tallies = tally(&goal, &visits, &hits, &buckets);
            report(goal, &tallies, &buckets, k)
        };
        let r = counted(purchase(None), 2);
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
        let fixed = counted(purchase(Some(30.0)), 1);
        assert_eq!(fixed.value, 90.0);
    }

    /// Tallies of visits of different days merge into the tallies of all
    /// of them.
    #[test]
    fn tallies_of_different_days_add_up() {
        let day = 100;
        let buckets = vec![
            Bucket {
                start: 0,
                stop: day,
                local: "day 1".into(),
            },
            Bucket {
                start: day,
                stop: 2 * day,
                local: "day 2".into(),
            },
        ];
        let first = vec![visit("a", 1, 10, Some("sale")), visit("b", 2, 20, None)];
        let second: Vec<VisitRow> = [visit("a", 1, 110, Some("sale")), visit("c", 1, 150, None)]
            .into_iter()
            .map(|v| VisitRow {
                day_start: day,
                ..v
            })
            .collect();
        let hits = vec![
            GoalHit {
                session: "a".into(),
                day_start: day,
                value: Some(3.0),
            },
            GoalHit {
                session: "b".into(),
                day_start: 0,
                value: Some(4.0),
            },
        ];
        let goal = purchase(None);
        let mut merged = tally(&goal, &first, &hits, &buckets);
        merged.merge(tally(&goal, &second, &hits, &buckets));
        let all: Vec<VisitRow> = first.into_iter().chain(second).collect();
        assert_eq!(merged, tally(&goal, &all, &hits, &buckets));
        assert_eq!(merged.totals.conversions, 2);
    }

    /// A session that goes on past the site's midnight is a visit on each
    /// day, as the overview counts it; a purchase after midnight converts
    /// the second day's visit, not the first.
    #[test]
    fn a_hit_converts_the_visit_of_its_day() {
        let buckets = vec![];
        let day = 86_400_000;
        let visits = vec![
            visit("a", 1, 10, None),
            VisitRow {
                day_start: day,
                ..visit("a", 7, day + 10, None)
            },
        ];
        let hits = vec![GoalHit {
            session: "a".into(),
            day_start: day,
            value: Some(20.0),
        }];
        let tallies = tally(&purchase(None), &visits, &hits, &buckets);
        assert_eq!((tallies.totals.visits, tallies.totals.conversions), (2, 1));
        let r = report(purchase(None), &tallies, &buckets, 1);
        assert_eq!(r.value, 20.0);
        assert_eq!(r.campaigns.rows[0].visits, 2);
    }
}
