//! The events report ([`sonde_protocol::events_report`]): every
//! interaction of the scope tallied by event (its kind and name), and for
//! the chosen one its figures per bucket and by property.
//!
//! - An event's visitors are the distinct visitor numbers among its
//!   occurrences (a visitor number is a day's, so a visitor of two days
//!   counts twice, as in every report).
//! - Its value is the sum of its occurrences' values, and is none when no
//!   occurrence had one.
//! - Events and property values of fewer than k visitors are counted in
//!   `hidden_*`, not listed. Events are listed by count, then kind, then
//!   name; property values by property, then count, then value.
//!
//! # What a store provides
//!
//! [`InteractionRow`]s: every custom event, marked click, form sent,
//! outbound link and download of the scope (its period, of the sessions its
//! filters select), in any order; a row's name is the event's name, or the
//! link's address for outbound links and downloads.

use std::collections::{BTreeMap, HashSet};

use sonde_protocol::events_report::{
    ChosenEvent, EventPoint, EventStat, EventsReport, InteractionKind, PropertyStat,
};

use super::buckets::Bucket;

/// One interaction, as a store reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct InteractionRow {
    pub kind: InteractionKind,
    pub name: String,
    pub visitor: i64,
    pub ts: i64,
    pub value: Option<f64>,
    /// A custom event's properties, as text.
    pub props: Vec<(String, String)>,
}

#[derive(Default)]
struct Tally {
    count: u64,
    visitors: HashSet<i64>,
    value: Option<f64>,
}

impl Tally {
    fn add(&mut self, row: &InteractionRow) {
        self.count += 1;
        self.visitors.insert(row.visitor);
        if let Some(v) = row.value {
            *self.value.get_or_insert(0.0) += v;
        }
    }
}

/// The report of `rows`, the chosen event's series over `buckets`.
pub fn report(
    rows: &[InteractionRow],
    buckets: &[Bucket],
    chosen: Option<(InteractionKind, &str)>,
    k: u64,
) -> EventsReport {
    let mut tallies: BTreeMap<(InteractionKind, &str), Tally> = BTreeMap::new();
    for row in rows {
        tallies
            .entry((row.kind, row.name.as_str()))
            .or_default()
            .add(row);
    }
    let mut report = EventsReport {
        k,
        ..EventsReport::default()
    };
    for ((kind, name), tally) in &tallies {
        if (tally.visitors.len() as u64) < k {
            report.hidden_events += 1;
            report.hidden_count += tally.count;
            continue;
        }
        report.events.push(EventStat {
            kind: *kind,
            name: (*name).to_owned(),
            count: tally.count,
            visitors: tally.visitors.len() as u64,
            value: tally.value,
        });
    }
    // Stable: among equal counts, the map's kind-then-name order stays.
    report.events.sort_by_key(|e| std::cmp::Reverse(e.count));
    report.chosen = chosen.map(|(kind, name)| chosen_event(rows, buckets, kind, name, k));
    report
}

fn chosen_event(
    rows: &[InteractionRow],
    buckets: &[Bucket],
    kind: InteractionKind,
    name: &str,
    k: u64,
) -> ChosenEvent {
    let occurrences: Vec<&InteractionRow> = rows
        .iter()
        .filter(|r| r.kind == kind && r.name == name)
        .collect();
    let series = buckets
        .iter()
        .map(|bucket| {
            let mut tally = Tally::default();
            for row in occurrences
                .iter()
                .filter(|r| (bucket.start..bucket.stop).contains(&r.ts))
            {
                tally.add(row);
            }
            EventPoint {
                start: bucket.start,
                local: bucket.local.clone(),
                count: tally.count,
                visitors: tally.visitors.len() as u64,
                value: tally.value.unwrap_or(0.0),
            }
        })
        .collect();
    let mut by_value: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for row in &occurrences {
        for (property, value) in &row.props {
            by_value
                .entry((property.as_str(), value.as_str()))
                .or_default()
                .add(row);
        }
    }
    let mut properties = Vec::new();
    let mut hidden_properties = 0;
    for ((property, value), tally) in by_value {
        if (tally.visitors.len() as u64) < k {
            hidden_properties += 1;
            continue;
        }
        properties.push(PropertyStat {
            property: property.to_owned(),
            value: value.to_owned(),
            count: tally.count,
            visitors: tally.visitors.len() as u64,
        });
    }
    properties.sort_by(|a, b| {
        a.property
            .cmp(&b.property)
            .then(b.count.cmp(&a.count))
            .then(a.value.cmp(&b.value))
    });
    ChosenEvent {
        kind,
        name: name.to_owned(),
        series,
        properties,
        hidden_properties,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: InteractionKind, name: &str, visitor: i64, ts: i64) -> InteractionRow {
        InteractionRow {
            kind,
            name: name.into(),
            visitor,
            ts,
            value: None,
            props: Vec::new(),
        }
    }

    fn signup(visitor: i64, ts: i64, plan: &str, value: f64) -> InteractionRow {
        InteractionRow {
            value: Some(value),
            props: vec![("plan".into(), plan.into())],
            ..row(InteractionKind::Custom, "signup", visitor, ts)
        }
    }

    fn buckets() -> Vec<Bucket> {
        (0..3)
            .map(|d| Bucket {
                start: d * 100,
                stop: (d + 1) * 100,
                local: format!("day {d}"),
            })
            .collect()
    }

    #[test]
    fn events_are_tallied_by_kind_and_name_and_small_ones_only_counted() {
        let mut rows = vec![
            signup(1, 10, "pro", 9.0),
            signup(1, 20, "pro", 9.0),
            signup(2, 150, "free", 0.0),
            signup(3, 250, "pro", 9.0),
        ];
        rows.extend((1..=4).map(|v| row(InteractionKind::Click, "buy", v, 50)));
        rows.push(row(InteractionKind::Outbound, "docs.example/api", 9, 60));
        let report = report(&rows, &buckets(), None, 2);
        assert_eq!(
            report.events,
            vec![
                EventStat {
                    kind: InteractionKind::Custom,
                    name: "signup".into(),
                    count: 4,
                    visitors: 3,
                    value: Some(27.0),
                },
                EventStat {
                    kind: InteractionKind::Click,
                    name: "buy".into(),
                    count: 4,
                    visitors: 4,
                    value: None,
                },
            ],
            "by count; among equal counts custom events first"
        );
        assert_eq!((report.hidden_events, report.hidden_count), (1, 1));
        assert_eq!(report.chosen, None);
    }

    #[test]
    fn the_chosen_event_is_drawn_per_bucket_and_broken_down_by_property() {
        let rows = vec![
            signup(1, 10, "pro", 9.0),
            signup(1, 20, "pro", 9.0),
            signup(2, 30, "pro", 9.0),
            signup(3, 250, "free", 0.0),
            row(InteractionKind::Click, "signup", 4, 40),
        ];
        let report = report(
            &rows,
            &buckets(),
            Some((InteractionKind::Custom, "signup")),
            2,
        );
        let chosen = report.chosen.unwrap();
        let figures: Vec<(u64, u64, f64)> = chosen
            .series
            .iter()
            .map(|p| (p.count, p.visitors, p.value))
            .collect();
        assert_eq!(
            figures,
            [(3, 2, 27.0), (0, 0, 0.0), (1, 1, 0.0)],
            "a click of the same name is another event"
        );
        assert_eq!(chosen.series[1].local, "day 1");
        assert_eq!(
            chosen.properties,
            vec![PropertyStat {
                property: "plan".into(),
                value: "pro".into(),
                count: 3,
                visitors: 2,
            }]
        );
        assert_eq!(chosen.hidden_properties, 1, "one visitor chose free");
    }
}
