//! The conversions report's tallies, counted in SQL (see
//! [`crate::reports::conversions`]).
//!
//! A month of a mid-sized shop has a million visits, so the visits of a
//! day that is over are tallied once per saved goal, when the rollup job
//! rolls the day up (`rollup_day_goals`: the day's totals and each label
//! of each breakdown, which add up over days since visitors are counted
//! per day, and the performance report's visits by their first LCP). A
//! report adds up those days and tallies the rest of its
//! period from the visits (see [`super::visits`]). A late page view takes
//! its day out of the rollup, and a late custom event takes its day out of
//! the goals' tallies, until the job counts them again.

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::SiteSettings;
use sonde_protocol::goal::Goal;

use super::DuckDbStore;
use super::buckets::BucketJoin;
use super::funnels::{step_needs_props, step_test};
use super::rollup::{GRANULE_MS, rolled_days, uncovered};
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

/// The rollup's rows of a day's totals, in its `breakdown` column.
const TOTAL: &str = "total";

/// The rollup's rows of the day's visits by the rating of their first LCP
/// (the performance report's, see [`super::vitals`]), in its `breakdown`
/// column: `visits` and `conversions` only, labelled by the rating.
pub(super) const LANDING_LCP: &str = "landing_lcp";

/// What a goal's rolled-up conversions are kept under: what it reaches and
/// its fixed value, not its name (a renamed goal counts the same).
pub(super) fn goal_key(goal: &Goal) -> String {
    serde_json::to_string(&(&goal.target, goal.value)).unwrap_or_default()
}

/// Whether a goal's conversions are rolled up: SQL alone tells its events
/// (a page, or an event by its name alone).
fn rolls_up(goal: &Goal) -> bool {
    !step_needs_props(&goal.target)
}

/// The scope's visits tallied against `goal` as [`tally`] defines it: in
/// SQL when SQL can match the goal's events, else from the rows. Without
/// filters, the days whose tallies are rolled up for the goal are added
/// up; only figures leave DuckDB, not a row per visit.
pub(super) fn conversion_tallies(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    goal: &Goal,
    buckets: &[Bucket],
) -> Result<ConversionTallies, StoreError> {
    if !rolls_up(goal) {
        let hits = goal_hits(conn, scope, timezone, &goal.target)?;
        return Ok(tally(goal, &visits(conn, scope, timezone)?, &hits, buckets));
    }
    let rolled = if scope.filters.is_empty() && !scope.with_errors {
        rolled_goal_days(conn, scope, timezone, goal, buckets)?
    } else {
        Vec::new()
    };
    fill_conversion_visits(conn, scope, timezone, goal, &rolled)?;
    let mut tallies = tally_conversion_visits(conn, scope, buckets)?;
    if !rolled.is_empty() {
        tallies.merge(rolled_tallies(conn, scope, goal, buckets, &rolled)?);
    }
    Ok(tallies)
}

/// The days of the scope rolled up for `goal` whose tallies can stand for
/// their visits: each within one of `buckets` (an hour's buckets cut a
/// day). Their spans, oldest first.
pub(super) fn rolled_goal_days(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    goal: &Goal,
    buckets: &[Bucket],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let days = rolled_days(conn, scope.site, timezone, scope.from, scope.to)?;
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT day_start FROM rollup_day_goals
         WHERE site = ? AND goal = ? AND breakdown = ? AND day_start >= ? AND day_start < ?",
    )?;
    let with_goal: std::collections::HashSet<i64> = stmt
        .query_map(
            params![scope.site, goal_key(goal), TOTAL, scope.from, scope.to],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let within_a_bucket = |(start, stop): (i64, i64)| {
        buckets.is_empty() || {
            let i = buckets.partition_point(|b| b.stop <= start);
            buckets
                .get(i)
                .is_some_and(|b| b.start <= start && stop <= b.stop)
        }
    };
    Ok(days
        .into_iter()
        .filter(|&(start, stop)| with_goal.contains(&start) && within_a_bucket((start, stop)))
        .collect())
}

/// Fills the temporary table `conversion_visits`: each visit of the scope
/// but those of the days `left_out` (sorted spans of rolled-up days) once,
/// with the value it converted with (NULL: it did not); a hit converts its
/// session's visit of the hit's day.
fn fill_conversion_visits(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    goal: &Goal,
    left_out: &[(i64, i64)],
) -> Result<(), StoreError> {
    let starts: Vec<i64> = left_out.iter().map(|(start, _)| *start).collect();
    let visits = scope_visits(conn, scope, timezone, true, &starts)?;
    let (reached, wanted) = step_test(&goal.target);
    // Only the hits of the days counted here are read.
    let counted: Vec<String> = uncovered(scope.from, scope.to, left_out)
        .iter()
        .map(|(from, to)| {
            format!("(ts >= epoch_ms({from}::BIGINT) AND ts < epoch_ms({to}::BIGINT))")
        })
        .collect();
    let counted = if counted.is_empty() {
        "FALSE".to_owned()
    } else {
        counted.join(" OR ")
    };
    let mut params: Vec<&dyn duckdb::ToSql> = vec![&goal.value];
    params.extend(visits.params());
    params.extend::<[&dyn duckdb::ToSql; 2]>([&scope.site, &wanted]);
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
                       WHERE site = ? AND ({counted}) AND {reached}) e
                 JOIN day_granules g USING (granule)
                 GROUP BY ALL
             ) hit ON hit.session = v.session AND hit.day_start = v.day_start",
            visits = visits.sql,
        ),
        params.as_slice(),
    )?;
    Ok(())
}

/// The figures of a tally in SQL: visits, conversions, value.
const FIGURES: &str = "count(*), count(value), coalesce(sum(value), 0)::DOUBLE";

fn counts(r: &duckdb::Row, at: usize) -> duckdb::Result<Counts> {
    Ok(Counts {
        visits: r.get::<_, i64>(at)? as u64,
        conversions: r.get::<_, i64>(at + 1)? as u64,
        value: r.get(at + 2)?,
    })
}

/// The tallies of `conversion_visits`, which it drops.
fn tally_conversion_visits(
    conn: &Connection,
    scope: &Scope,
    buckets: &[Bucket],
) -> Result<ConversionTallies, StoreError> {
    let with_buckets = if buckets.is_empty() {
        "SELECT *, NULL::INTEGER AS bucket FROM conversion_visits".to_owned()
    } else {
        BucketJoin::fill(conn, buckets, scope.from, scope.to)?
            .join("SELECT * FROM conversion_visits")
    };
    let mut tallies = ConversionTallies::default();
    let mut stmt = conn.prepare(&format!(
        "SELECT GROUPING(bucket), bucket, {FIGURES} FROM ({with_buckets}) GROUP BY ROLLUP (bucket)"
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
            "SELECT {column}, count(DISTINCT (day_start, visitor)), {FIGURES}
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

/// The rolled-up tallies of `goal` on `days`.
fn rolled_tallies(
    conn: &Connection,
    scope: &Scope,
    goal: &Goal,
    buckets: &[Bucket],
    days: &[(i64, i64)],
) -> Result<ConversionTallies, StoreError> {
    let starts: Vec<String> = days.iter().map(|(start, _)| start.to_string()).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT day_start, breakdown, label, visitors, visits, conversions, value
         FROM rollup_day_goals
         WHERE site = ? AND goal = ? AND day_start IN ({})",
        starts.join(", ")
    ))?;
    let mut tallies = ConversionTallies::default();
    let mut rows = stmt.query(params![scope.site, goal_key(goal)])?;
    while let Some(r) = rows.next()? {
        let day_start: i64 = r.get(0)?;
        let breakdown: String = r.get(1)?;
        let label: String = r.get(2)?;
        let visitors = r.get::<_, i64>(3)? as u64;
        let counts = counts(r, 4)?;
        if breakdown == TOTAL {
            tallies.totals += counts;
            let bucket = buckets.partition_point(|b| b.stop <= day_start);
            if bucket < buckets.len() {
                *tallies.series.entry(bucket).or_default() += counts;
            }
        } else if let Some(breakdown) = Breakdown::ALL.into_iter().find(|b| column(*b) == breakdown)
        {
            let (v, c) = tallies.labels.entry((breakdown, label)).or_default();
            *v += visitors;
            *c += counts;
        }
    }
    Ok(tallies)
}

/// Tallies `site`'s rolled-up days against each of `goals` that has no
/// tallies for them yet, up to `max_days` days of a goal, a day per hold
/// of the store; forgets the tallies of goals no longer among `goals`.
/// Says how many it tallied and how many are left.
pub(super) fn roll_up_goals(
    store: &DuckDbStore,
    site: &SiteSettings,
    timezone: Tz,
    goals: &[Goal],
    max_days: usize,
) -> Result<(usize, usize), StoreError> {
    let mut keys: Vec<(String, &Goal)> = goals
        .iter()
        .filter(|g| rolls_up(g))
        .map(|g| (goal_key(g), g))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys.dedup_by(|a, b| a.0 == b.0);
    let mut pending = Vec::new();
    {
        let conn = store.conn();
        let kept: Vec<String> = conn
            .prepare("SELECT DISTINCT goal FROM rollup_day_goals WHERE site = ?")?
            .query_map([&site.key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for gone in kept
            .iter()
            .filter(|k| !keys.iter().any(|(key, _)| key == *k))
        {
            conn.execute(
                "DELETE FROM rollup_day_goals WHERE site = ? AND goal = ?",
                params![site.key, gone],
            )?;
        }
        let mut stmt = conn.prepare(
            "SELECT d.day_start, d.day_stop FROM rollup_days d
             WHERE d.site = ? AND d.timezone = ? AND NOT EXISTS (
                 SELECT 1 FROM rollup_day_goals g
                 WHERE g.site = d.site AND g.day_start = d.day_start AND g.goal = ?
                   AND g.breakdown = ?)
             ORDER BY d.day_start",
        )?;
        for (key, goal) in &keys {
            let days = stmt.query_map(params![site.key, timezone.name(), key, TOTAL], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
            for day in days {
                pending.push((*goal, key.as_str(), day?));
            }
        }
    }
    let mut rolled = 0;
    for &(goal, key, (start, stop)) in pending.iter().take(max_days) {
        roll_goal_day(
            &mut store.conn(),
            &site.key,
            timezone,
            goal,
            key,
            (start, stop),
        )?;
        rolled += 1;
    }
    Ok((rolled, pending.len() - rolled))
}

/// Tallies one rolled-up day's visits against `goal`, in one transaction.
fn roll_goal_day(
    conn: &mut Connection,
    site: &str,
    timezone: Tz,
    goal: &Goal,
    key: &str,
    (start, stop): (i64, i64),
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM rollup_day_goals WHERE site = ? AND day_start = ? AND goal = ?",
        params![site, start, key],
    )?;
    let day = Scope::unfiltered(site, start, stop);
    fill_conversion_visits(&tx, &day, timezone, goal, &[])?;
    // A row even for a day without visits: it says the day is tallied.
    tx.execute(
        &format!(
            "INSERT INTO rollup_day_goals
             SELECT ?, ?, ?, ?, '', count(DISTINCT (day_start, visitor)), {FIGURES}
             FROM conversion_visits"
        ),
        params![site, start, key, TOTAL],
    )?;
    for breakdown in Breakdown::ALL {
        let column = column(breakdown);
        tx.execute(
            &format!(
                "INSERT INTO rollup_day_goals
                 SELECT ?, ?, ?, ?, {column}, count(DISTINCT (day_start, visitor)), {FIGURES}
                 FROM conversion_visits GROUP BY {column}"
            ),
            params![site, start, key, column],
        )?;
    }
    tx.execute_batch("DROP TABLE conversion_visits")?;
    super::vitals::roll_landing_day(&tx, &day, timezone, goal, key)?;
    tx.commit()?;
    Ok(())
}

/// Takes `site`'s days that hold any instant of `[from, to]` out of the
/// goals' tallies: a late custom event may convert one of their visits.
pub(super) fn unroll_goals(
    conn: &Connection,
    site: &str,
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM rollup_day_goals WHERE site = ? AND day_start IN (
             SELECT day_start FROM rollup_days WHERE site = ? AND day_stop > ? AND day_start <= ?)",
        params![site, site, from, to],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use sonde_protocol::funnel::Step;
    use sonde_protocol::{EventData, PropValue};

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, MIDNIGHT, tally_periods, visit};
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
        let late_purchases: Vec<StoredEvent> = (3_300..4_000)
            .map(&mut event)
            .filter(|e| matches!(e.data, EventData::Custom { .. }))
            .collect();
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
            let rounds = [
                // Every day rolled up, for each goal.
                (true, &[][..]),
                // Late page views: their days are counted from the events.
                (false, &late[..]),
                // Rolled up again, then late purchases alone.
                (true, &late_purchases[..]),
            ];
            for (round, (roll_up, written)) in rounds.into_iter().enumerate() {
                if roll_up {
                    let rolled = store
                        .roll_up(&site, &goals, MIDNIGHT + 11 * DAY, 100)
                        .unwrap();
                    assert!(rolled.rolled >= 10 && rolled.pending == 0, "{rolled:?}");
                }
                store.write(written).unwrap();
                for (from, to, granularity, filters) in tally_periods(&filters) {
                    let scope = Scope::new("shop", from, to, &filters);
                    let buckets = buckets(from, to, granularity, timezone);
                    let visits = store.visits(&scope, timezone).unwrap();
                    assert_eq!(
                        store.visit_count(&scope, timezone).unwrap(),
                        visits.len() as u64,
                        "round {round} {timezone} {from}..{to} {filters:?}"
                    );
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
