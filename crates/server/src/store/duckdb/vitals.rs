//! The web vitals the performance report reads: the rows, and what the
//! report counts of them, counted in SQL (see
//! [`crate::reports::performance`]).

use std::collections::HashSet;

use duckdb::{Connection, params};
use sonde_protocol::Vital;
use sonde_protocol::funnel::Step;

use super::buckets::BucketJoin;
use super::funnels::{step_needs_props, step_test};
use super::scope::{scope_params, scoped};
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::performance::{
    LandingTally, RATINGS, VitalGroup, VitalRow, VitalTallies, VitalTally, landing_tally,
};
use crate::store::StoreError;

/// Web vitals in the scope, one row per page load and metric, oldest first.
pub(super) fn vitals(conn: &Connection, scope: &Scope) -> Result<Vec<VitalRow>, StoreError> {
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(session_id, id), epoch_ms(ts), path, name, value
         FROM events
         WHERE {events} AND kind = 'vital' AND value IS NOT NULL
         ORDER BY ts, seq"
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, f64>(4)?,
        ))
    })?;
    let mut vitals = Vec::new();
    for row in rows {
        let (session, ts, path, name, value) = row?;
        vitals.push(VitalRow {
            session,
            ts,
            path,
            metric: metric(&name)?,
            value,
        });
    }
    Ok(vitals)
}

fn metric(name: &str) -> Result<Vital, StoreError> {
    Vital::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown vital {name:?}")))
}

/// A metric's threshold of good (`0`) or of needs improvement (`1`), by
/// the row's `name`.
fn threshold(which: usize) -> String {
    let cases: String = Vital::ALL
        .iter()
        .map(|m| {
            let (good, fair) = m.thresholds();
            format!(" WHEN '{}' THEN {:?}", m.as_str(), [good, fair][which])
        })
        .collect();
    format!("(CASE name{cases} END)")
}

/// The scope's web vitals tallied as [`crate::reports::performance::tally`]
/// defines it. DuckDB's `quantile_disc` is the nearest rank; a store test
/// holds every figure to the definition.
pub(super) fn vital_tallies(
    conn: &Connection,
    scope: &Scope,
    buckets: &[Bucket],
) -> Result<VitalTallies, StoreError> {
    let events = scoped(conn, scope)?;
    let vitals = format!(
        "SELECT ts, name, path, value, session_key FROM events
         WHERE {events} AND kind = 'vital' AND value IS NOT NULL"
    );
    let with_buckets = if buckets.is_empty() {
        format!("SELECT *, NULL::INTEGER AS bucket FROM ({vitals})")
    } else {
        BucketJoin::fill(conn, buckets, scope.from, scope.to)?.join(&vitals)
    };
    // One pass for the three groupings; the bucket is NULL only in the
    // groups that do not read it.
    let mut stmt = conn.prepare(&format!(
        "SELECT GROUPING(path), GROUPING(bucket), path, bucket, name, count(*),
                quantile_disc(value, 0.75),
                count(*) FILTER (WHERE value <= {good}),
                count(*) FILTER (WHERE value > {fair})
         FROM ({with_buckets})
         GROUP BY GROUPING SETS ((name), (name, path), (name, bucket))",
        good = threshold(0),
        fair = threshold(1),
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<i32>>(3)?,
            r.get::<_, String>(4)?,
            [
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
            ],
            r.get::<_, f64>(6)?,
        ))
    })?;
    let mut tallies = VitalTallies::default();
    for row in rows {
        let (no_path, no_bucket, path, bucket, name, [samples, good, poor], p75) = row?;
        let group = match (no_path, no_bucket, path, bucket) {
            (1, 1, _, _) => VitalGroup::Scope,
            (0, _, Some(path), _) => VitalGroup::Page(path),
            (_, 0, _, Some(bucket)) => VitalGroup::Bucket(bucket as usize),
            // Only without buckets: no bucket's group.
            _ => continue,
        };
        tallies.tallies.push(VitalTally {
            group,
            metric: metric(&name)?,
            samples: samples as u64,
            p75,
            good: good as u64,
            poor: poor as u64,
        });
    }
    tallies.sort();
    let mut stmt = conn.prepare(&format!(
        "SELECT path, count(DISTINCT session_key) FROM ({vitals}) GROUP BY path"
    ))?;
    tallies.page_visits = stmt
        .query_map(scope_params(scope), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok(tallies)
}

/// The scope's visits rated by their first LCP against `goal`, as
/// [`landing_tally`] defines it: counted in SQL when SQL can match the
/// goal's events (a page, or an event by its name alone), else from the
/// rows.
pub(super) fn landing_tallies(
    conn: &Connection,
    scope: &Scope,
    goal: &Step,
) -> Result<[LandingTally; 3], StoreError> {
    if step_needs_props(goal) {
        // A visit's LCP is matched to the goal by its session: the days
        // the hits fall on do not matter here.
        let converted: HashSet<String> = super::rows::goal_hits(conn, scope, chrono_tz::UTC, goal)?
            .into_iter()
            .map(|hit| hit.session)
            .collect();
        return Ok(landing_tally(&vitals(conn, scope)?, &converted));
    }
    let events = scoped(conn, scope)?;
    let (reached, wanted) = step_test(goal);
    let (good, fair) = Vital::Lcp.thresholds();
    let mut counts = [(0, 0); 3];
    let mut stmt = conn.prepare(&format!(
        "SELECT CASE WHEN lcp <= {good:?} THEN 0 WHEN lcp <= {fair:?} THEN 1 ELSE 2 END,
                count(*), count(hit.session_key)
         FROM (SELECT session_key, arg_min(value, (epoch_ms(ts)::HUGEINT << 64) + seq) AS lcp
               FROM events
               WHERE {events} AND kind = 'vital' AND name = 'lcp' AND value IS NOT NULL
               GROUP BY session_key) landing
         LEFT JOIN (SELECT DISTINCT session_key FROM events WHERE {events} AND {reached}) hit
           USING (session_key)
         GROUP BY ALL"
    ))?;
    let rows = stmt.query_map(
        params![
            scope.site, scope.from, scope.to, scope.site, scope.from, scope.to, wanted
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as usize,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )?;
    for row in rows {
        let (rating, visits, converted) = row?;
        counts[rating] = (visits, converted);
    }
    Ok(RATINGS.map(|rating| {
        let i = RATINGS.iter().position(|r| *r == rating).unwrap_or(0);
        LandingTally {
            rating,
            visits: counts[i].0,
            converted: counts[i].1,
        }
    }))
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use sonde_protocol::EventData;

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, MIDNIGHT, tally_periods, visit};
    use super::*;
    use crate::reports::buckets::buckets;
    use crate::reports::performance::tally;
    use crate::store::StoredEvent;
    use crate::store::data_roles::*;

    /// Random vitals, with ties of value and of time, some without a
    /// session, a goal reached in some visits: the store's tallies are the
    /// definition's, for every grouping, in two timezones and under a
    /// filter, with goals SQL matches and one it does not.
    #[test]
    fn vitals_are_tallied_as_the_rows_define() {
        let store = DuckDbStore::in_memory().unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        let paths = ["/", "/cart", "/checkout", "/blog/a"];
        let mut events: Vec<StoredEvent> = Vec::new();
        for i in 0..2_500 {
            let session = format!("s{}", rng.random_range(0..400));
            // Whole seconds: many events share a millisecond.
            let ts = MIDNIGHT + rng.random_range(0..10 * DAY / 1_000) * 1_000;
            let path = paths[rng.random_range(0..paths.len())];
            let mut e = visit(&format!("e{i}"), ts, 1, &session, path, None);
            if rng.random_bool(0.05) {
                e.session_id = None;
            }
            let metric = Vital::ALL[rng.random_range(0..Vital::ALL.len())];
            e.data = match rng.random_range(0..10) {
                0 => EventData::Custom {
                    name: "purchase".into(),
                    props: [(
                        "plan".to_owned(),
                        sonde_protocol::PropValue::Text("pro".into()),
                    )]
                    .into(),
                    value: None,
                },
                1..=3 => e.data,
                _ => EventData::Vital {
                    metric,
                    // Few distinct values: ties at the percentile's rank.
                    value: f64::from(rng.random_range(0..40)) * metric.thresholds().1 / 20.0,
                },
            };
            events.push(e);
        }
        for chunk in events.chunks(300) {
            store.write(chunk).unwrap();
        }
        let page_goal = Step::Page {
            path: "/checkout".into(),
        };
        let event_goal = Step::Event {
            name: "purchase".into(),
            property: None,
            value: None,
        };
        let property_goal = Step::Event {
            name: "purchase".into(),
            property: Some("plan".into()),
            value: Some("pro".into()),
        };
        let mut filters = sonde_protocol::Filters::default();
        filters.set("page", Some("/cart".into()));
        for timezone in [chrono_tz::Europe::Berlin, chrono_tz::Asia::Kathmandu] {
            for (from, to, granularity, filters) in tally_periods(&filters) {
                let scope = Scope::new("shop", from, to, &filters);
                let buckets = buckets(from, to, granularity, timezone);
                let rows = store.vitals(&scope).unwrap();
                let tallies = store.vital_tallies(&scope, &buckets).unwrap();
                let why = format!("{timezone} {from}..{to} {granularity:?} {filters:?}");
                assert_eq!(tallies, tally(&rows, &buckets), "{why}");
                assert!(rows.len() > 100 && tallies.tallies.len() > 20, "{why}");
                let unbucketed = store.vital_tallies(&scope, &[]).unwrap();
                assert_eq!(unbucketed, tally(&rows, &[]), "{why}");
                for goal in [&page_goal, &event_goal, &property_goal] {
                    let converted: HashSet<String> = store
                        .goal_hits(&scope, timezone, goal)
                        .unwrap()
                        .into_iter()
                        .map(|hit| hit.session)
                        .collect();
                    let landing = store.landing_tallies(&scope, goal).unwrap();
                    assert_eq!(landing, landing_tally(&rows, &converted), "{why} {goal:?}");
                    assert!(landing.iter().any(|t| t.converted > 0), "{why} {goal:?}");
                }
            }
        }
    }
}
