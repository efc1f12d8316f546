//! The conversions report's tallies, counted in SQL (see
//! [`crate::reports::conversions`]).

use duckdb::{Connection, params};
use sonde_protocol::goal::Goal;

use super::buckets::BucketJoin;
use super::funnels::{step_needs_props, step_test};
use super::rows::{VisitColumns, goal_hits, visits, visits_sql};
use super::scope::scoped;
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::conversions::{Breakdown, ConversionTallies, Counts, NONE, tally};
use crate::store::StoreError;

fn column(breakdown: Breakdown) -> &'static str {
    match breakdown {
        Breakdown::Source => "source",
        Breakdown::Medium => "medium",
        Breakdown::Campaign => "campaign",
        Breakdown::Referrer => "referrer",
        Breakdown::Landing => "landing",
    }
}

/// The scope's visits tallied against `goal` as [`tally`] defines it: in
/// SQL when SQL can match the goal's events (a page, or an event by its
/// name alone), else from the rows. Only the figures leave DuckDB, not a
/// row per visit: a month of a mid-sized shop has a million visits.
pub(super) fn conversion_tallies(
    conn: &Connection,
    scope: &Scope,
    goal: &Goal,
    buckets: &[Bucket],
) -> Result<ConversionTallies, StoreError> {
    if step_needs_props(&goal.target) {
        let hits = goal_hits(conn, scope, &goal.target)?;
        return Ok(tally(goal, &visits(conn, scope)?, &hits, buckets));
    }
    let events = scoped(conn, scope)?;
    let (reached, wanted) = step_test(&goal.target);
    // Each visit once, with the value it converted with (NULL: it did not).
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE conversion_visits AS
             SELECT v.* EXCLUDE (medium, campaign),
                    coalesce(v.medium, '{NONE}') AS medium,
                    coalesce(v.campaign, '{NONE}') AS campaign,
                    CASE WHEN hit.session_key IS NOT NULL THEN coalesce(?::DOUBLE, hit.value) END
                        AS value
             FROM ({visits}) v
             LEFT JOIN (SELECT session_key, sum(coalesce(value, 0)) AS value FROM events
                        WHERE {events} AND {reached} GROUP BY session_key) hit
               USING (session_key)",
            visits = visits_sql(&events, VisitColumns::FiguresOnly),
        ),
        params![
            goal.value, scope.site, scope.from, scope.to, scope.site, scope.from, scope.to, wanted
        ],
    )?;
    let with_buckets = if buckets.is_empty() {
        "SELECT *, NULL::INTEGER AS bucket FROM conversion_visits".to_owned()
    } else {
        BucketJoin::fill(conn, buckets, scope.from, scope.to)?
            .join("SELECT * FROM conversion_visits")
    };
    let counts = |r: &duckdb::Row, at: usize| -> duckdb::Result<Counts> {
        Ok(Counts {
            visits: r.get::<_, i64>(at)? as u64,
            conversions: r.get::<_, i64>(at + 1)? as u64,
            value: r.get(at + 2)?,
        })
    };
    let figures = "count(*), count(value), coalesce(sum(value), 0)::DOUBLE";
    let mut tallies = ConversionTallies::default();
    let mut stmt = conn.prepare(&format!(
        "SELECT GROUPING(bucket), bucket, {figures} FROM ({with_buckets}) GROUP BY ROLLUP (bucket)"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let counts = counts(r, 2)?;
        match (r.get::<_, i64>(0)?, r.get::<_, Option<i32>>(1)?) {
            (1, _) => tallies.totals = counts,
            (_, Some(bucket)) => {
                tallies.series.insert(bucket as usize, counts);
            }
            // Without buckets, every visit's.
            _ => {}
        }
    }
    // One breakdown at a time: DuckDB keeps the distinct visitors of
    // every group of a query at once, and grouping sets of all five ran
    // out of its memory at 10 million events.
    for breakdown in Breakdown::ALL {
        let column = column(breakdown);
        let mut stmt = conn.prepare(&format!(
            "SELECT {column}, count(DISTINCT visitor), {figures}
             FROM conversion_visits GROUP BY {column}"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let label: String = r.get(0)?;
            let visitors = r.get::<_, i64>(1)? as u64;
            tallies
                .labels
                .insert((breakdown, label), (visitors, counts(r, 2)?));
        }
    }
    conn.execute_batch("DROP TABLE conversion_visits")?;
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use sonde_protocol::funnel::Step;
    use sonde_protocol::{EventData, Granularity, PropValue};

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, HOUR, MIDNIGHT, visit};
    use super::*;
    use crate::reports::buckets::buckets;
    use crate::store::StoredEvent;
    use crate::store::data_roles::*;

    /// Random visits from campaigns and referrers, goals reached once,
    /// twice or not, with values and without: the store's tallies are the
    /// definition's, for each kind of goal, with a fixed value and without,
    /// in two timezones and under a filter.
    #[test]
    fn visits_are_tallied_as_the_rows_define() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        let paths = ["/", "/pricing", "/checkout", "/thanks"];
        let mut events: Vec<StoredEvent> = Vec::new();
        for i in 0..3_000 {
            let session = format!("s{}", rng.random_range(0..500));
            let visitor = rng.random_range(0..200);
            // Whole seconds: ties between a visit's first views.
            let ts = MIDNIGHT + rng.random_range(0..10 * DAY / 1_000) * 1_000;
            let path = paths[rng.random_range(0..paths.len())];
            let from = match rng.random_range(0..4) {
                0 => Some(("news.example", Some("spring"))),
                1 => Some(("mail.example", None)),
                _ => None,
            };
            let mut e = visit(&format!("e{i}"), ts, visitor, &session, path, from);
            if let EventData::PageView { campaign, .. } = &mut e.data
                && rng.random_bool(0.2)
            {
                campaign.source = Some("newsletter".into());
                campaign.medium = Some("email".into());
            }
            if rng.random_bool(0.15) {
                let plan = ["pro", "free"][rng.random_range(0..2)];
                e.data = EventData::Custom {
                    name: "purchase".into(),
                    props: [("plan".to_owned(), PropValue::Text(plan.into()))].into(),
                    // Whole numbers: sums come out the same in any order.
                    value: rng
                        .random_bool(0.8)
                        .then(|| f64::from(rng.random_range(1..100))),
                };
            }
            events.push(e);
        }
        for chunk in events.chunks(250) {
            store.write(chunk).unwrap();
        }
        let purchase = |property: Option<&str>, value| Goal {
            name: "Purchase".into(),
            target: Step::Event {
                name: "purchase".into(),
                property: property.map(|_| "plan".into()),
                value: property.map(Into::into),
            },
            value,
        };
        let goals = [
            Goal {
                name: "Thanks".into(),
                target: Step::Page {
                    path: "/thanks".into(),
                },
                value: None,
            },
            purchase(None, None),
            purchase(None, Some(30.0)),
            purchase(Some("pro"), None),
        ];
        let mut filters = sonde_protocol::Filters::default();
        filters.set("source", Some("news.example".into()));
        for timezone in [chrono_tz::Europe::Berlin, chrono_tz::Asia::Kathmandu] {
            for (from, to, granularity, filters) in [
                (
                    MIDNIGHT,
                    MIDNIGHT + 10 * DAY,
                    Granularity::Day,
                    Default::default(),
                ),
                (
                    MIDNIGHT + 2 * DAY + 5 * HOUR,
                    MIDNIGHT + 4 * DAY,
                    Granularity::Hour,
                    Default::default(),
                ),
                (
                    MIDNIGHT,
                    MIDNIGHT + 10 * DAY,
                    Granularity::Week,
                    filters.clone(),
                ),
            ] {
                let scope = Scope::new("shop", from, to, &filters);
                let buckets = buckets(from, to, granularity, timezone);
                let visits = store.visits(&scope).unwrap();
                for goal in &goals {
                    let hits = store.goal_hits(&scope, &goal.target).unwrap();
                    let why =
                        format!("{timezone} {from}..{to} {granularity:?} {filters:?} {goal:?}");
                    let tallies = store.conversion_tallies(&scope, goal, &buckets).unwrap();
                    assert_eq!(tallies, tally(goal, &visits, &hits, &buckets), "{why}");
                    assert!(
                        tallies.totals.conversions > 0
                            && tallies.labels.len() >= Breakdown::ALL.len(),
                        "{why}"
                    );
                    let unbucketed = store.conversion_tallies(&scope, goal, &[]).unwrap();
                    assert_eq!(unbucketed, tally(goal, &visits, &hits, &[]), "{why}");
                }
            }
        }
    }
}
