//! The conversions report's tallies, counted in SQL (see
//! [`crate::reports::conversions`]).

use chrono_tz::Tz;
use duckdb::Connection;
use sonde_protocol::goal::Goal;

use super::buckets::BucketJoin;
use super::funnels::{step_needs_props, step_test};
use super::rollup::GRANULE_MS;
use super::rows::{goal_hits, visits};
use super::visits::scope_visits;
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
/// name alone), else from the rows. The visits of rolled-up days are read
/// from the rollup, and only the figures leave DuckDB, not a row per
/// visit: a month of a mid-sized shop has a million visits.
pub(super) fn conversion_tallies(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    goal: &Goal,
    buckets: &[Bucket],
) -> Result<ConversionTallies, StoreError> {
    if step_needs_props(&goal.target) {
        let hits = goal_hits(conn, scope, timezone, &goal.target)?;
        return Ok(tally(goal, &visits(conn, scope, timezone)?, &hits, buckets));
    }
    let visits = scope_visits(conn, scope, timezone, true)?;
    let (reached, wanted) = step_test(&goal.target);
    // Each visit once, with the value it converted with (NULL: it did
    // not); a hit converts its session's visit of the hit's day.
    let mut params: Vec<&dyn duckdb::ToSql> = vec![&goal.value];
    params.extend(visits.params());
    params.extend::<[&dyn duckdb::ToSql; 4]>([&scope.site, &scope.from, &scope.to, &wanted]);
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE conversion_visits AS
             SELECT v.day_start, v.visitor, epoch_ms(v.start_ms) AS ts, v.entry AS landing, v.referrer,
                    v.source, coalesce(v.medium, '{NONE}') AS medium,
                    coalesce(v.campaign, '{NONE}') AS campaign,
                    CASE WHEN hit.session IS NOT NULL THEN coalesce(?::DOUBLE, hit.value) END
                        AS value
             FROM ({visits}) v
             LEFT JOIN (
                 SELECT e.session_key AS session, g.day_start, sum(coalesce(e.value, 0)) AS value
                 FROM (SELECT session_key, value, epoch_ms(ts) // {GRANULE_MS} AS granule
                       FROM events
                       WHERE site = ? AND ts >= epoch_ms(?::BIGINT) AND ts < epoch_ms(?::BIGINT)
                         AND {reached}) e
                 JOIN day_granules g USING (granule)
                 GROUP BY ALL
             ) hit ON hit.session = v.session AND hit.day_start = v.day_start",
            visits = visits.sql,
        ),
        params.as_slice(),
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
            "SELECT {column}, count(DISTINCT (day_start, visitor)), {figures}
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

    /// Random visits from campaigns and referrers, sessions that go on
    /// over midnight, goals reached once, twice or not, with values and
    /// without: the store's tallies, read from the rolled-up days' visits,
    /// are the definition's over the visits counted from the events, for
    /// each kind of goal, with a fixed value and without, in two timezones,
    /// under a filter, and after late page views and late purchases on
    /// rolled-up days.
    #[test]
    fn visits_are_tallied_as_the_rows_define() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        let paths = ["/", "/pricing", "/checkout", "/thanks"];
        let mut event = |i: usize| {
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
            e
        };
        let events: Vec<StoredEvent> = (0..3_000).map(&mut event).collect();
        // Arriving after their days were rolled up: page views take a day
        // out of the rollup, purchases alone do not.
        let late: Vec<StoredEvent> = (3_000..3_300).map(&mut event).collect();
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
            let store = DuckDbStore::in_memory().unwrap();
            for chunk in events.chunks(250) {
                store.write(chunk).unwrap();
            }
            let mut site = sonde_protocol::SiteSettings::new("shop", vec![]);
            site.timezone = timezone.name().into();
            let rolled = store.roll_up(&site, MIDNIGHT + 11 * DAY, 100).unwrap();
            assert!(rolled.rolled >= 10, "{rolled:?}");
            for (round, written) in [&[][..], &late[..]].into_iter().enumerate() {
                store.write(written).unwrap();
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
                    let visits = store.visits(&scope, timezone).unwrap();
                    for goal in &goals {
                        let hits = store.goal_hits(&scope, timezone, &goal.target).unwrap();
                        let why = format!(
                            "round {round} {timezone} {from}..{to} {granularity:?} {filters:?} {goal:?}"
                        );
                        let tallies = store
                            .conversion_tallies(&scope, timezone, goal, &buckets)
                            .unwrap();
                        assert_eq!(tallies, tally(goal, &visits, &hits, &buckets), "{why}");
                        assert!(
                            tallies.totals.conversions > 0
                                && tallies.labels.len() >= Breakdown::ALL.len(),
                            "{why}"
                        );
                        let unbucketed = store
                            .conversion_tallies(&scope, timezone, goal, &[])
                            .unwrap();
                        assert_eq!(unbucketed, tally(goal, &visits, &hits, &[]), "{why}");
                    }
                }
            }
        }
    }
}
