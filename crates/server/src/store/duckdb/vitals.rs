//! The web vitals the performance report reads: the rows, and what the
//! report counts of them, counted in SQL (see
//! [`crate::reports::performance`]).
//!
//! A month of a mid-sized shop measures millions of page loads, so each
//! day that is over keeps its samples counted per metric, page and bin
//! (`rollup_day_vitals`, written when the rollup job rolls the day up) and
//! the visits that measured each page (`rollup_day_vital_pages`). Bins add
//! up over days where percentiles do not: a report adds up the bins of
//! its rolled-up days to those it counts from the rest of its period, and
//! takes each group's 75th percentile from the sums. Like every rolled-up
//! figure, they are read only while the day is listed in `rollup_days`: a
//! late web vital takes its day out until the job counts it again.

use std::collections::HashSet;

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::Vital;
use sonde_protocol::funnel::Step;
use sonde_protocol::goal::Goal;

use super::buckets::BucketJoin;
use super::conversions::{LANDING_LCP, goal_key, rolled_goal_days};
use super::funnels::{step_needs_props, step_test};
use super::rollup::{GRANULE_MS, fill_day_granules, rolled_days, uncovered};
use super::schema::SESSION_NAME;
use super::scope::{scope_params, scoped};
use super::visits::quoted;
use crate::reports::Scope;
use crate::reports::buckets::Bucket;
use crate::reports::performance::{
    LandingTally, RATINGS, SMALLEST_SAMPLE, VitalGroup, VitalRow, VitalTallies, VitalTally,
    ZERO_BIN, bin_value, landing_tally, ln_bin_growth,
};
use crate::store::StoreError;

/// Web vitals in the scope, one row per page load and metric, oldest first,
/// with their day in `timezone`.
pub(super) fn vitals(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
) -> Result<Vec<VitalRow>, StoreError> {
    let events = scoped(conn, scope)?;
    fill_day_granules(conn, &[(scope.from, scope.to)], timezone)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT e.session, g.day_start, epoch_ms(e.ts), e.path, e.name, e.value
         FROM (SELECT {SESSION_NAME} AS session, ts, seq, path, name, value,
                      epoch_ms(ts) // {GRANULE_MS} AS granule
               FROM events
               WHERE {events} AND kind = 'vital' AND value IS NOT NULL) e
         JOIN day_granules g USING (granule)
         ORDER BY e.ts, e.seq"
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, f64>(5)?,
        ))
    })?;
    let mut vitals = Vec::new();
    for row in rows {
        let (session, day_start, ts, path, name, value) = row?;
        vitals.push(VitalRow {
            session,
            day_start,
            ts,
            path,
            metric: metric(&name)?,
            value,
        });
    }
    Ok(vitals)
}

fn metric(name: &str) -> Result<Vital, StoreError> {
    Vital::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("unknown vital {name:?}")))
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

/// The bin of the column `value`, as [`crate::reports::performance::bin`]
/// makes it: the numbers are written as the strings Rust prints for them,
/// which DuckDB reads back to the same doubles, so that both divide the
/// same logarithm by the same number.
fn bin_sql() -> String {
    format!(
        "CASE WHEN value < '{SMALLEST_SAMPLE:?}'::DOUBLE THEN {ZERO_BIN}
              ELSE ceil(ln(value) / '{:?}'::DOUBLE)::INTEGER END",
        ln_bin_growth()
    )
}

/// The web vitals of `pieces` of time among the events `condition`
/// selects (with the placeholders of [`scope_params`], once per piece),
/// with the columns the tallies read: `ts`, `seq`, `name`, `path_id`,
/// `value`, `session_key` and `bin`.
fn vitals_in(condition: &str, pieces: &[(i64, i64)]) -> String {
    let bin = bin_sql();
    let branches: Vec<String> = pieces
        .iter()
        .map(|(from, to)| {
            format!(
                "SELECT ts, seq, name, path_id, value, session_key, {bin} AS bin FROM events
                 WHERE {condition} AND kind = 'vital' AND value IS NOT NULL
                   AND ts >= epoch_ms({from}::BIGINT) AND ts < epoch_ms({to}::BIGINT)"
            )
        })
        .collect();
    if branches.is_empty() {
        format!(
            "SELECT ts, seq, name, path_id, value, session_key, {bin} AS bin FROM events WHERE FALSE"
        )
    } else {
        branches.join(" UNION ALL ")
    }
}

/// The samples of `rows` (with the columns of [`vitals_in`] and a
/// `bucket`) per bucket, metric, page and bin, and per bucket, metric and
/// bin over every page (`path_id` NULL), with how many rate good and poor.
fn binned(rows: &str) -> String {
    format!(
        "SELECT bucket, name AS metric, path_id, bin, count(*) AS samples,
                count(*) FILTER (WHERE value <= {good}) AS good,
                count(*) FILTER (WHERE value > {fair}) AS poor
         FROM ({rows})
         GROUP BY GROUPING SETS ((bucket, name, path_id, bin), (bucket, name, bin))",
        good = threshold(0),
        fair = threshold(1),
    )
}

/// A rolled-up day's span, and the bucket it lies in (`None` without
/// buckets).
type RolledDay = ((i64, i64), Option<usize>);

/// The days of the scope whose rolled-up vitals can stand for their
/// samples: without filters, each day within one of `buckets` (an hour's
/// buckets cut a day). Oldest first.
fn rolled_vital_days(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    buckets: &[Bucket],
) -> Result<Vec<RolledDay>, StoreError> {
    if !scope.filters.is_empty() || scope.with_errors {
        return Ok(Vec::new());
    }
    let days = rolled_days(conn, scope.site, timezone, scope.from, scope.to)?;
    Ok(days
        .into_iter()
        .filter_map(|(start, stop)| {
            if buckets.is_empty() {
                return Some(((start, stop), None));
            }
            let i = buckets.partition_point(|b| b.stop <= start);
            let bucket = buckets.get(i)?;
            (bucket.start <= start && stop <= bucket.stop).then_some(((start, stop), Some(i)))
        })
        .collect())
}

/// The scope's web vitals tallied as [`crate::reports::performance::tally`]
/// defines it: the samples of its rolled-up days added up from their bins,
/// the rest binned from the events, and every group's percentile taken
/// from the sums in SQL. A store test holds every figure to the definition.
pub(super) fn vital_tallies(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    buckets: &[Bucket],
) -> Result<VitalTallies, StoreError> {
    let rolled = rolled_vital_days(conn, scope, timezone, buckets)?;
    let spans: Vec<(i64, i64)> = rolled.iter().map(|(span, _)| *span).collect();
    let pieces = uncovered(scope.from, scope.to, &spans);
    let events = scoped(conn, scope)?;
    fill_day_granules(conn, &pieces, timezone)?;
    let rows = format!(
        "SELECT v.* EXCLUDE (granule), g.day_start
         FROM (SELECT *, epoch_ms(ts) // {GRANULE_MS} AS granule FROM ({vitals})) v
         JOIN day_granules g USING (granule)",
        vitals = vitals_in(&events, &pieces),
    );
    let with_buckets = if buckets.is_empty() {
        format!("SELECT *, NULL::INTEGER AS bucket FROM ({rows})")
    } else {
        BucketJoin::fill(conn, buckets, scope.from, scope.to)?.join(&rows)
    };
    let params: Vec<&dyn duckdb::ToSql> = pieces.iter().flat_map(|_| scope_params(scope)).collect();
    // The samples counted here are read twice: for their bins and for the
    // visits of each page.
    conn.execute(
        &format!("CREATE OR REPLACE TEMP TABLE counted_vitals AS {with_buckets}"),
        params.as_slice(),
    )?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE vital_bins AS {binned};
         CREATE OR REPLACE TEMP TABLE rolled_vital_days (day_start BIGINT, bucket INTEGER);",
        binned = binned("SELECT * FROM counted_vitals"),
    ))?;
    {
        let mut appender = conn.appender("rolled_vital_days")?;
        for ((start, _), bucket) in &rolled {
            appender.append_row(params![start, bucket.map(|b| b as i32)])?;
        }
    }
    let site = quoted(scope.site);
    conn.execute_batch(&format!(
        "INSERT INTO vital_bins
         SELECT d.bucket, r.metric, r.path_id, r.bin, r.samples, r.good, r.poor
         FROM rollup_day_vitals r JOIN rolled_vital_days d USING (day_start)
         WHERE r.site = '{site}'"
    ))?;
    // Per group, the bins in order with the samples up to each: the
    // percentile's bin is the first whose count reaches its rank (the
    // smallest count of at least three quarters of the group's samples).
    let mut stmt = conn.prepare(&format!(
        "WITH grouped AS (
             SELECT 0 AS kind, NULL::INTEGER AS path_id, NULL::INTEGER AS bucket, metric, bin,
                    sum(samples) AS n, sum(good) AS n_good, sum(poor) AS n_poor
             FROM vital_bins WHERE path_id IS NULL GROUP BY metric, bin
             UNION ALL
             SELECT 1, path_id, NULL, metric, bin, sum(samples), sum(good), sum(poor)
             FROM vital_bins WHERE path_id IS NOT NULL GROUP BY path_id, metric, bin
             UNION ALL
             SELECT 2, NULL, bucket, metric, bin, sum(samples), sum(good), sum(poor)
             FROM vital_bins WHERE path_id IS NULL AND bucket IS NOT NULL
             GROUP BY bucket, metric, bin
         ),
         ranked AS (
             SELECT *,
                    sum(n) OVER (PARTITION BY kind, path_id, bucket, metric ORDER BY bin) AS up_to,
                    sum(n) OVER (PARTITION BY kind, path_id, bucket, metric) AS total
             FROM grouped
         )
         SELECT r.kind, p.path, r.bucket, r.metric, sum(r.n)::BIGINT, sum(r.n_good)::BIGINT,
                sum(r.n_poor)::BIGINT, min(r.bin) FILTER (WHERE r.up_to * 4 >= r.total * 3)
         FROM ranked r LEFT JOIN paths p ON p.site = '{site}' AND p.path_id = r.path_id
         GROUP BY r.kind, r.path_id, p.path, r.bucket, r.metric"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i32>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<i32>>(2)?,
            r.get::<_, String>(3)?,
            [
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ],
            r.get::<_, i32>(7)?,
        ))
    })?;
    let mut tallies = VitalTallies::default();
    for row in rows {
        let (kind, path, bucket, name, [samples, good, poor], bin) = row?;
        let group = match (kind, path, bucket) {
            (0, _, _) => VitalGroup::Scope,
            (1, Some(path), _) => VitalGroup::Page(path),
            (2, _, Some(bucket)) => VitalGroup::Bucket(bucket as usize),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "a vital of kind {kind} without its group"
                )));
            }
        };
        tallies.tallies.push(VitalTally {
            group,
            metric: metric(&name)?,
            samples: samples as u64,
            p75: bin_value(bin),
            good: good as u64,
            poor: poor as u64,
        });
    }
    tallies.sort();
    let mut stmt = conn.prepare(&format!(
        "SELECT p.path, sum(v.visits)::BIGINT FROM (
             SELECT path_id, count(DISTINCT (session_key, day_start)) AS visits
             FROM counted_vitals GROUP BY path_id
             UNION ALL
             SELECT r.path_id, r.visits
             FROM rollup_day_vital_pages r JOIN rolled_vital_days d USING (day_start)
             WHERE r.site = '{site}'
         ) v JOIN paths p ON p.site = '{site}' AND p.path_id = v.path_id
         GROUP BY p.path"
    ))?;
    tallies.page_visits = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    conn.execute_batch("DROP TABLE counted_vitals; DROP TABLE vital_bins;")?;
    Ok(tallies)
}

/// Counts one day's web vitals of `site` into the rollup (inside the
/// rollup job's transaction for the day).
pub(super) fn roll_day(
    conn: &Connection,
    site: &str,
    (start, stop): (i64, i64),
) -> Result<(), StoreError> {
    let day = Scope::unfiltered(site, start, stop);
    let events = scoped(conn, &day)?;
    let vitals = vitals_in(&events, &[(start, stop)]);
    conn.execute(
        &format!(
            "INSERT INTO rollup_day_vitals
             SELECT ?, ?, metric, path_id, bin, samples, good, poor
             FROM ({binned})",
            binned = binned(&format!(
                "SELECT *, NULL::INTEGER AS bucket FROM ({vitals})"
            )),
        ),
        params![site, start, day.site, day.from, day.to],
    )?;
    // Every sample of the day is of one visit of its session.
    conn.execute(
        &format!(
            "INSERT INTO rollup_day_vital_pages
             SELECT ?, ?, path_id, count(DISTINCT session_key) FROM ({vitals})
             WHERE path_id IS NOT NULL GROUP BY path_id"
        ),
        params![site, start, day.site, day.from, day.to],
    )?;
    Ok(())
}

/// The rollup's label of each rating, in the order of [`RATINGS`].
const RATING_LABELS: [&str; 3] = ["good", "needs_improvement", "poor"];

/// The visits of `pieces` of time among the events `condition` selects
/// (with the placeholders of [`scope_params`], twice, then the value
/// `target` wants), rated by their first LCP (`rating`: the index in
/// [`RATINGS`]) with `converted` when the visit reached `target`, counted
/// per rating. `day_granules` must hold the pieces' slices.
fn landing_counts(condition: &str, pieces: &[(i64, i64)], target: &Step) -> (String, String) {
    let (reached, wanted) = step_test(target);
    let (good, fair) = Vital::Lcp.thresholds();
    let in_pieces = if pieces.is_empty() {
        "FALSE".to_owned()
    } else {
        pieces
            .iter()
            .map(|(from, to)| {
                format!("(ts >= epoch_ms({from}::BIGINT) AND ts < epoch_ms({to}::BIGINT))")
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let sql = format!(
        "SELECT CASE WHEN lcp <= {good:?} THEN 0 WHEN lcp <= {fair:?} THEN 1 ELSE 2 END AS rating,
                count(*) AS visits, count(hit.session_key) AS converted
         FROM (SELECT e.session_key, g.day_start,
                      arg_min(e.value, (epoch_ms(e.ts)::HUGEINT << 64) + e.seq) AS lcp
               FROM (SELECT session_key, ts, seq, value, epoch_ms(ts) // {GRANULE_MS} AS granule
                     FROM events
                     WHERE {condition} AND ({in_pieces})
                       AND kind = 'vital' AND name = 'lcp' AND value IS NOT NULL) e
               JOIN day_granules g USING (granule)
               GROUP BY ALL) landing
         LEFT JOIN (SELECT DISTINCT e.session_key, g.day_start
                    FROM (SELECT session_key, epoch_ms(ts) // {GRANULE_MS} AS granule
                          FROM events WHERE {condition} AND ({in_pieces}) AND {reached}) e
                    JOIN day_granules g USING (granule)) hit
           USING (session_key, day_start)
         GROUP BY ALL"
    );
    (sql, wanted)
}

/// The scope's visits rated by their first LCP against `goal`'s target,
/// as [`landing_tally`] defines it: counted in SQL when SQL can match the
/// goal's events (a page, or an event by its name alone), else from the
/// rows. A visit is a session's day in `timezone`. Without filters, the
/// days the rollup tallied for the goal are added up (see
/// [`super::conversions`]).
pub(super) fn landing_tallies(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    goal: &Goal,
) -> Result<[LandingTally; 3], StoreError> {
    if step_needs_props(&goal.target) {
        let converted: HashSet<(String, i64)> =
            super::rows::goal_hits(conn, scope, timezone, &goal.target)?
                .into_iter()
                .map(|hit| (hit.session, hit.day_start))
                .collect();
        return Ok(landing_tally(&vitals(conn, scope, timezone)?, &converted));
    }
    let rolled = if scope.filters.is_empty() && !scope.with_errors {
        rolled_goal_days(conn, scope, timezone, goal, &[])?
    } else {
        Vec::new()
    };
    let pieces = uncovered(scope.from, scope.to, &rolled);
    let events = scoped(conn, scope)?;
    fill_day_granules(conn, &pieces, timezone)?;
    let (counted, wanted) = landing_counts(&events, &pieces, &goal.target);
    let starts: Vec<String> = rolled.iter().map(|(start, _)| start.to_string()).collect();
    let labels: Vec<String> = RATING_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| format!(" WHEN '{label}' THEN {i}"))
        .collect();
    let rolled_counts = if starts.is_empty() {
        "SELECT 0, 0, 0 WHERE FALSE".to_owned()
    } else {
        format!(
            "SELECT CASE label{labels} END, visits, conversions FROM rollup_day_goals
             WHERE site = '{site}' AND goal = '{goal}' AND breakdown = '{LANDING_LCP}'
               AND day_start IN ({starts})",
            labels = labels.concat(),
            site = quoted(scope.site),
            goal = quoted(&goal_key(goal)),
            starts = starts.join(", "),
        )
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT rating, sum(visits)::BIGINT, sum(converted)::BIGINT
         FROM ({counted} UNION ALL {rolled_counts}) GROUP BY rating"
    ))?;
    let rows = stmt.query_map(
        params![
            scope.site, scope.from, scope.to, scope.site, scope.from, scope.to, wanted
        ],
        |r| {
            Ok((
                r.get::<_, i32>(0)? as usize,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )?;
    let mut counts = [(0, 0); 3];
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

/// Tallies one day's visits by their first LCP against `goal` into the
/// rollup's rows of the goal `key` (inside the transaction that tallies
/// the day's conversions).
pub(super) fn roll_landing_day(
    conn: &Connection,
    day: &Scope,
    timezone: Tz,
    goal: &Goal,
    key: &str,
) -> Result<(), StoreError> {
    let pieces = [(day.from, day.to)];
    fill_day_granules(conn, &pieces, timezone)?;
    let events = scoped(conn, day)?;
    let (counted, wanted) = landing_counts(&events, &pieces, &goal.target);
    let labels: Vec<String> = RATING_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| format!(" WHEN {i} THEN '{label}'"))
        .collect();
    conn.execute(
        &format!(
            "INSERT INTO rollup_day_goals
             SELECT ?, ?, ?, ?, CASE rating{labels} END, 0, visits, converted, 0
             FROM ({counted})",
            labels = labels.concat(),
        ),
        params![
            day.site,
            day.from,
            key,
            LANDING_LCP,
            day.site,
            day.from,
            day.to,
            day.site,
            day.from,
            day.to,
            wanted
        ],
    )?;
    Ok(())
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
    /// session, sessions that go on over midnight, a goal reached in some
    /// visits: the store's tallies are the definition's, for every
    /// grouping, in two timezones and under a filter, with goals SQL
    /// matches and one it does not; before the days are rolled up, after,
    /// and after late vitals took days out again.
    #[test]
    fn vitals_are_tallied_as_the_rows_define() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        let paths = ["/", "/cart", "/checkout", "/blog/a"];
        let mut event = |i: usize| {
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
                    // Few distinct values: ties at the percentile's rank,
                    // and some below the smallest bin.
                    value: f64::from(rng.random_range(0..40)) * metric.thresholds().1 / 20.0,
                },
            };
            e
        };
        let events: Vec<StoredEvent> = (0..2_500).map(&mut event).collect();
        let late: Vec<StoredEvent> = (2_500..2_700)
            .map(&mut event)
            .filter(|e| matches!(e.data, EventData::Vital { .. }))
            .collect();
        let goal = |name: &str, target| Goal {
            name: name.into(),
            target,
            value: None,
        };
        let goals = [
            goal(
                "Checkout",
                Step::Page {
                    path: "/checkout".into(),
                },
            ),
            goal(
                "Purchase",
                Step::Event {
                    name: "purchase".into(),
                    property: None,
                    value: None,
                },
            ),
            // Not rolled up: SQL does not read properties.
            goal(
                "Pro purchase",
                Step::Event {
                    name: "purchase".into(),
                    property: Some("plan".into()),
                    value: Some("pro".into()),
                },
            ),
        ];
        let mut filters = sonde_protocol::Filters::default();
        filters.set("page", Some("/cart".into()));
        for timezone in [chrono_tz::Europe::Berlin, chrono_tz::Asia::Kathmandu] {
            let store = DuckDbStore::in_memory().unwrap();
            for chunk in events.chunks(300) {
                store.write(chunk).unwrap();
            }
            let mut site = sonde_protocol::SiteSettings::new("shop", vec![]);
            site.timezone = timezone.name().into();
            // Counted from the events; every day rolled up; late vitals
            // on rolled-up days; those days rolled up again.
            let rounds = [
                (false, &[][..]),
                (true, &[][..]),
                (false, &late[..]),
                (true, &[][..]),
            ];
            for (round, (roll_up, written)) in rounds.into_iter().enumerate() {
                if roll_up {
                    let rolled = store
                        .roll_up(&site, &goals, MIDNIGHT + 11 * DAY, 100)
                        .unwrap();
                    assert!(rolled.rolled > 0 && rolled.pending == 0, "{rolled:?}");
                }
                store.write(written).unwrap();
                for (from, to, granularity, filters) in tally_periods(&filters) {
                    let scope = Scope::new("shop", from, to, &filters);
                    let buckets = buckets(from, to, granularity, timezone);
                    let rows = store.vitals(&scope, timezone).unwrap();
                    let tallies = store.vital_tallies(&scope, timezone, &buckets).unwrap();
                    let why = format!(
                        "round {round} {timezone} {from}..{to} {granularity:?} {filters:?}"
                    );
                    assert_eq!(tallies, tally(&rows, &buckets), "{why}");
                    assert!(rows.len() > 100 && tallies.tallies.len() > 20, "{why}");
                    let unbucketed = store.vital_tallies(&scope, timezone, &[]).unwrap();
                    assert_eq!(unbucketed, tally(&rows, &[]), "{why}");
                    for goal in &goals {
                        let converted: HashSet<(String, i64)> = store
                            .goal_hits(&scope, timezone, &goal.target)
                            .unwrap()
                            .into_iter()
                            .map(|hit| (hit.session, hit.day_start))
                            .collect();
                        let landing = store.landing_tallies(&scope, timezone, goal).unwrap();
                        assert_eq!(landing, landing_tally(&rows, &converted), "{why} {goal:?}");
                        assert!(landing.iter().any(|t| t.converted > 0), "{why} {goal:?}");
                    }
                }
            }
        }
    }

    /// A rolled-up day's vitals are read from the rollup: samples deleted
    /// behind the store's back (no store does that) still count, until a
    /// late vital takes the day out.
    #[test]
    fn rolled_up_days_are_read_from_their_bins() {
        let store = DuckDbStore::in_memory().unwrap();
        let lcp = |id: &str, ts: i64, value: f64| {
            let mut e = visit(id, ts, 1, id, "/", None);
            e.data = EventData::Vital {
                metric: Vital::Lcp,
                value,
            };
            e
        };
        store
            .write(&[
                lcp("a", MIDNIGHT + 1_000, 1_000.0),
                lcp("b", MIDNIGHT + 2_000, 3_000.0),
                lcp("c", MIDNIGHT + DAY + 1_000, 5_000.0),
            ])
            .unwrap();
        let site = sonde_protocol::SiteSettings::new("shop", vec![]);
        store.roll_up(&site, &[], MIDNIGHT + 2 * DAY, 10).unwrap();
        let scope = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + 2 * DAY);
        let samples = |store: &DuckDbStore| {
            let tallies = store.vital_tallies(&scope, chrono_tz::UTC, &[]).unwrap();
            tallies.tallies[0].samples
        };
        assert_eq!(samples(&store), 3);
        store
            .conn()
            .execute_batch("DELETE FROM events WHERE id IN ('a', 'b')")
            .unwrap();
        assert_eq!(samples(&store), 3, "the first day's bins");
        store
            .write(&[lcp("late", MIDNIGHT + 3_000, 900.0)])
            .unwrap();
        assert_eq!(
            samples(&store),
            2,
            "the first day counted again, where only the late sample is left; the second rolled up"
        );
    }
}
