//! Funnels: a funnel's figures, computed in SQL and Rust where every step
//! can be matched in SQL, else by the reference arithmetic
//! ([`crate::reports::funnel`]) over the occurrences; and each unit's value of a
//! breakdown.

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Connection, params};
use foldhash::HashMap;
use sonde_protocol::funnel::{FunnelDefinition, FunnelDimension, FunnelUnit, Step, StepResult};

use super::paths;
use super::schema::SESSION_NAME;
use super::scope::{scope_params, scoped};
use crate::reports::Scope;
use crate::reports::errors::FunnelVisits;
use crate::reports::funnel::{Happened, NO_VALUE, Occurrence};
use crate::store::FunnelBreakdown;
use crate::store::StoreError;
use crate::store::event_row::props_as_text;

/// Each unit's (session's or visitor's) key and the events some step of
/// `funnel` may match, in the order they were stored.
pub(super) fn occurrences(
    conn: &Connection,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    let unit = unit_key(funnel.unit);
    if !needs_props(funnel) {
        return funnel_steps_in_sql(conn, scope, unit, &funnel.steps);
    }
    funnel_matched_in_rust(conn, scope, unit, funnel)
}

/// The name of a unit, in SQL.
fn unit_key(unit: FunnelUnit) -> &'static str {
    match unit {
        FunnelUnit::Session => SESSION_NAME,
        FunnelUnit::Visitor => "visitor_id::VARCHAR",
    }
}

/// Each unit's value of `dimension`, from its first event in the scope
/// (`(none)` where it has none).
pub(super) fn unit_dimension(
    conn: &Connection,
    scope: &Scope,
    unit: FunnelUnit,
    dimension: FunnelDimension,
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let unit = unit_key(unit);
    let (column, only) = dimension_sql(dimension);
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        // `arg_min_null` over one order key, not `first(… ORDER BY ts,
        // seq)`: an ordered aggregate cannot spill to disk, and ran out of
        // DuckDB's 256 MiB at 10 million events.
        "SELECT {unit}, coalesce(arg_min_null({column}, (epoch_ms(ts)::HUGEINT << 64) + seq),
                                 '(none)')
         FROM events
         WHERE {events} {only}
         GROUP BY 1"
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A breakdown's dimension in SQL: an event's value, and which events
/// carry it (a condition to add).
fn dimension_sql(dimension: FunnelDimension) -> (&'static str, &'static str) {
    // Source and campaign belong to a visit's first page view.
    match dimension {
        FunnelDimension::Browser => ("browser", ""),
        FunnelDimension::Os => ("os", ""),
        FunnelDimension::Device => ("device", ""),
        FunnelDimension::Source => (
            "coalesce(utm_source, referrer_host, 'direct')",
            "AND kind = 'page_view'",
        ),
        FunnelDimension::Campaign => ("utm_campaign", "AND kind = 'page_view'"),
    }
}

/// Whether a step of `funnel` looks at an event's properties, which SQL
/// here does not read.
pub(super) fn needs_props(funnel: &FunnelDefinition) -> bool {
    funnel.steps.iter().any(step_needs_props)
}

/// Whether `step` looks at an event's properties: [`step_test`] then only
/// narrows the events, and the step itself must decide.
pub(super) fn step_needs_props(step: &Step) -> bool {
    matches!(
        step,
        Step::Event {
            property: Some(_),
            ..
        }
    )
}

/// The SQL that marks each event with the steps it matches (bit `i` for
/// step `i`), the SQL that any step matches, and the values of the
/// placeholders of each.
fn step_mask(steps: &[Step]) -> StepMask {
    let mut mask = Vec::new();
    let mut any = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let (test, value) = step_test(step);
        mask.push(format!("(CASE WHEN {test} THEN {} ELSE 0 END)", 1u32 << i));
        any.push(format!("({test})"));
        values.push(value);
    }
    StepMask {
        mask: mask.join(" + "),
        any: any.join(" OR "),
        values,
    }
}

struct StepMask {
    /// An event's steps as bits.
    mask: String,
    /// Whether an event is any step.
    any: String,
    /// The value of the one placeholder in each step's test, in step order
    /// (for `mask` and `any` alike).
    values: Vec<String>,
}

/// The SQL test of whether an event is `step` (an event step's property
/// aside), and the value of its one placeholder.
pub(super) fn step_test(step: &Step) -> (String, String) {
    match step {
        Step::Page { path } => {
            let (test, value) = path_test(path);
            (format!("kind = 'page_view' AND {test}"), value)
        }
        Step::Event { name, .. } => (
            "kind IN ('custom', 'click', 'form_submit') AND name = ?".to_owned(),
            name.clone(),
        ),
    }
}

/// The test of an event's path against a step's pattern (`*` for any run of
/// characters), and the value of its placeholder: the cheapest test that
/// means the same. `LIKE` with a placeholder for a pattern is interpreted
/// for every row; a whole path or a prefix compares directly, which made a
/// four-step funnel's scan about twice as fast.
fn path_test(pattern: &str) -> (&'static str, String) {
    let prefix = pattern.trim_end_matches('*');
    if !prefix.contains('*') {
        if prefix.len() == pattern.len() {
            return ("path = ?", pattern.to_owned());
        }
        return ("starts_with(path, ?)", prefix.to_owned());
    }
    ("path LIKE ? ESCAPE '\\'", like_pattern(pattern))
}

/// A funnel's figures when every step can be matched in SQL: DuckDB reads
/// each event some step matches with those steps (bit `i` for step `i`) and
/// the key of its unit; only numbers cross, as Arrow columns, and
/// [`crate::reports::funnel::tally_marked`] groups them by unit and follows each by
/// the semantics of [`crate::reports::funnel::progress`]. A test holds it to the
/// reference arithmetic.
///
/// Page steps are matched once per distinct path of the site, not once per
/// page view: each path is tested here, and the page views are found by
/// joining on the path's number (see [`paths`]). That took the scan of a
/// four-step funnel at 10 million events from about 200 ms to 70 ms.
/// (Earlier versions chained the steps with one ASOF join each in SQL, 1.3
/// s, and sorted the marked events by unit in DuckDB, 0.5 s; see
/// BENCHMARKS.md.)
pub(super) fn funnel_in_sql(
    conn: &Connection,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<StepResult>, StoreError> {
    let batches = marked_events(conn, scope, funnel)?;
    Ok(crate::reports::funnel::tally_marked(
        funnel.steps.len(),
        funnel.window_ms,
        &marked_columns(&batches)?,
    ))
}

/// A session funnel's visits (see [`FunnelVisits`]) when every step can
/// be matched in SQL: the sessions with an error in the scope are
/// followed in the same pass as every session's figures
/// ([`funnel_in_sql`]), not read again.
pub(super) fn funnel_visits_in_sql(
    conn: &Connection,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<FunnelVisits, StoreError> {
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT session_key FROM events WHERE {events} AND kind = 'error'"
    ))?;
    let followed = stmt
        .query_map(scope_params(scope), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let batches = marked_events(conn, scope, funnel)?;
    let (steps, reached) = crate::reports::funnel::tally_marked_following(
        funnel.steps.len(),
        funnel.window_ms,
        &marked_columns(&batches)?,
        &followed,
    );
    let mut visits = FunnelVisits::new(funnel, &steps);
    for (key, reached) in reached {
        visits.follow(key.to_string(), reached, funnel.steps.len());
    }
    Ok(visits)
}

/// The events some step of `funnel` matches, marked with those steps, as
/// Arrow batches of (unit key, time, stored position × 256 + steps).
fn marked_events(
    conn: &Connection,
    scope: &Scope,
    funnel: &FunnelDefinition,
) -> Result<Vec<RecordBatch>, StoreError> {
    let unit = marked_unit(funnel.unit);
    let events = scoped(conn, scope)?;
    let mut parts = Vec::new();
    let mut params: Vec<&dyn duckdb::ToSql> = Vec::new();
    let pages = funnel
        .steps
        .iter()
        .any(|step| matches!(step, Step::Page { .. }));
    if pages {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE step_paths (path_id INTEGER, steps BIGINT)",
        )?;
        let site_paths = paths::of_site(conn, scope.site)?;
        let mut appender = conn.appender("step_paths")?;
        for (path, id) in site_paths {
            let steps: i64 = funnel
                .steps
                .iter()
                .enumerate()
                .filter(|(_, step)| matches!(step, Step::Page { .. }) && step.matches_page(&path))
                .map(|(i, _)| 1 << i)
                .sum();
            if steps > 0 {
                appender.append_row(params![id, steps])?;
            }
        }
        appender.flush()?;
        drop(appender);
        parts.push(format!(
            "SELECT {unit} AS k, epoch_ms(ts) AS t, events.seq * 256 + step_paths.steps AS rm
             FROM events JOIN step_paths USING (path_id)
             WHERE {events} AND kind = 'page_view'"
        ));
        params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
    }
    let names: Vec<(usize, &String)> = funnel
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match step {
            Step::Event { name, .. } => Some((i, name)),
            Step::Page { .. } => None,
        })
        .collect();
    if !names.is_empty() {
        let mask: Vec<String> = names
            .iter()
            .map(|(i, _)| format!("(CASE WHEN name = ? THEN {} ELSE 0 END)", 1u32 << i))
            .collect();
        let any = vec!["name = ?"; names.len()].join(" OR ");
        parts.push(format!(
            "SELECT {unit} AS k, epoch_ms(ts) AS t, seq * 256 + ({mask}) AS rm
             FROM events
             WHERE {events} AND kind IN ('custom', 'click', 'form_submit') AND ({any})",
            mask = mask.join(" + "),
        ));
        params.extend(names.iter().map(|(_, n)| *n as &dyn duckdb::ToSql));
        params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
        params.extend(names.iter().map(|(_, n)| *n as &dyn duckdb::ToSql));
    }
    let sql = parts.join(" UNION ALL ");
    let mut stmt = conn.prepare(&sql)?;
    Ok(stmt.query_arrow(params.as_slice())?.collect())
}

/// A unit's 64-bit key in [`marked_events`], in SQL.
fn marked_unit(unit: FunnelUnit) -> &'static str {
    match unit {
        FunnelUnit::Session => "session_key",
        FunnelUnit::Visitor => "hash(visitor_id)",
    }
}

/// A funnel broken down by `dimension` when every step can be matched in
/// SQL: each unit's group is numbered in SQL with its 64-bit key, and the
/// marked events are followed into each unit's group in one pass
/// ([`crate::reports::funnel::tally_marked_by_group`]). Following every
/// unit's occurrences by its name, the generic way, took 13 s at 10
/// million events.
///
/// A session's source or campaign is its first page view's, which is its
/// first visit's: without filters, those are read from the visits (see
/// [`super::visits`]), which the rollup keeps for the days that are over,
/// not from every page view.
pub(super) fn funnel_breakdown_in_sql(
    conn: &Connection,
    scope: &Scope,
    timezone: chrono_tz::Tz,
    funnel: &FunnelDefinition,
    dimension: FunnelDimension,
) -> Result<FunnelBreakdown, StoreError> {
    use duckdb::arrow::array::{Array, Int32Array, UInt64Array};

    let unit = marked_unit(funnel.unit);
    let (column, only) = dimension_sql(dimension);
    let from_visits = funnel.unit == FunnelUnit::Session
        && scope.filters.is_empty()
        && !scope.with_errors
        && matches!(
            dimension,
            FunnelDimension::Source | FunnelDimension::Campaign
        );
    // Each unit's value (`v`), NULL where its first event has none.
    if from_visits {
        let visits = super::visits::scope_visits(conn, scope, timezone, true, &[])?;
        let column = match dimension {
            FunnelDimension::Campaign => "campaign",
            _ => "source",
        };
        let params: Vec<&dyn duckdb::ToSql> = visits.params().collect();
        conn.execute(
            &format!(
                "CREATE OR REPLACE TEMP TABLE unit_values AS
                 SELECT session AS unit, arg_min_null({column}, start_ms) AS v
                 FROM ({visits}) GROUP BY session",
                visits = visits.sql,
            ),
            params.as_slice(),
        )?;
    } else {
        let events = scoped(conn, scope)?;
        // `arg_min_null` over one order key: the first event's value even
        // when it has none.
        conn.execute(
            &format!(
                "CREATE OR REPLACE TEMP TABLE unit_values AS
                 SELECT {unit} AS unit, arg_min_null({column}, (epoch_ms(ts)::HUGEINT << 64) + seq) AS v
                 FROM events WHERE {events} {only}
                 GROUP BY 1"
            ),
            scope_params(scope),
        )?;
    }
    // The values numbered in SQL, so that a unit's value crosses as a
    // number.
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE unit_labels AS
         SELECT v, (row_number() OVER (ORDER BY v) - 1)::INTEGER AS g
         FROM (SELECT DISTINCT v FROM unit_values WHERE v IS NOT NULL)",
    )?;
    let mut labels: Vec<String> = conn
        .prepare("SELECT v FROM unit_labels ORDER BY g")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // Units without a value, or without an event that carries one, and
    // any whose value reads `(none)`: one group, as the reference has it.
    let none = match labels.iter().position(|l| l == NO_VALUE) {
        Some(group) => group as u32,
        None => {
            labels.push(NO_VALUE.to_owned());
            labels.len() as u32 - 1
        }
    };
    let unexpected = |what: &str| StoreError::Corrupt(format!("funnel groups: {what}"));
    let mut group_of: HashMap<u64, u32> = HashMap::default();
    let mut stmt =
        conn.prepare("SELECT u.unit, l.g FROM unit_values u LEFT JOIN unit_labels l USING (v)")?;
    for batch in stmt.query_arrow([])? {
        let units = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| unexpected("unit key"))?;
        let groups = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(|| unexpected("group"))?;
        group_of.reserve(batch.num_rows());
        for i in 0..batch.num_rows() {
            let group = if groups.is_null(i) {
                none
            } else {
                groups.value(i) as u32
            };
            group_of.insert(units.value(i), group);
        }
    }
    conn.execute_batch("DROP TABLE unit_values; DROP TABLE unit_labels;")?;
    let batches = marked_events(conn, scope, funnel)?;
    let (steps, groups) = crate::reports::funnel::tally_marked_by_group(
        funnel.steps.len(),
        funnel.window_ms,
        &marked_columns(&batches)?,
        &group_of,
        none,
        labels.len(),
    );
    let mut groups: Vec<(String, Vec<StepResult>)> = labels
        .into_iter()
        .zip(groups)
        .filter(|(_, steps)| steps.first().is_some_and(|s| s.entrants > 0))
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((steps, groups))
}

/// [`marked_events`]' batches as the funnel arithmetic reads them.
fn marked_columns(
    batches: &[RecordBatch],
) -> Result<Vec<crate::reports::funnel::MarkedColumns<'_>>, StoreError> {
    use duckdb::arrow::array::{Array, Int64Array, UInt64Array};

    let unexpected = |what: &str| StoreError::Corrupt(format!("funnel rows: {what}"));
    batches
        .iter()
        .map(|batch| {
            let column = |i: usize| batch.column(i).as_any();
            Ok(crate::reports::funnel::MarkedColumns {
                units: column(0)
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| unexpected("unit key"))?
                    .values(),
                ts: column(1)
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| unexpected("time"))?
                    .values(),
                rows_and_steps: column(2)
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| unexpected("row and steps"))?
                    .values(),
            })
        })
        .collect()
}

/// A funnel's occurrences, the events some step may match narrowed in SQL
/// and the steps decided in Rust (an event step with a property needs the
/// event's properties).
fn funnel_matched_in_rust(
    conn: &Connection,
    scope: &Scope,
    unit: &str,
    funnel: &FunnelDefinition,
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    // A superset of what the steps match (an event step's property is not
    // tested), narrowed in SQL; the steps themselves decide (crate::reports::funnel).
    let StepMask { any, values, .. } = step_mask(&funnel.steps);
    let events = scoped(conn, scope)?;
    let sql = format!(
        "SELECT {unit} AS unit, epoch_ms(ts), kind, path, name, props FROM events
             WHERE {events} AND ({any})
             ORDER BY unit, ts, seq"
    );
    let mut params: Vec<&dyn duckdb::ToSql> = vec![&scope.site, &scope.from, &scope.to];
    params.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params.as_slice(), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut units: Vec<(String, Vec<Occurrence>)> = Vec::new();
    for row in rows {
        let (unit, ts, kind, path, name, props) = row?;
        let what = if kind == "page_view" {
            Happened::Page(path)
        } else {
            Happened::Event {
                name: name.unwrap_or_default(),
                props: props.as_deref().map(props_as_text).unwrap_or_default(),
            }
        };
        match units.last_mut() {
            Some((current, events)) if *current == unit => events.push(Occurrence { ts, what }),
            _ => units.push((unit, vec![Occurrence { ts, what }])),
        }
    }
    Ok(units)
}

/// A funnel's occurrences when every step can be matched in SQL (pages,
/// and events without a property): each event comes back with the steps it
/// matches as bits, so only numbers cross from DuckDB, and the unit's name
/// only when it changes. The units are the generic form's, in the order of
/// their hashes; a test holds the two to the same funnel figures.
fn funnel_steps_in_sql(
    conn: &Connection,
    scope: &Scope,
    unit: &str,
    steps: &[Step],
) -> Result<Vec<(String, Vec<Occurrence>)>, StoreError> {
    let StepMask { mask, any, values } = step_mask(steps);
    let events = scoped(conn, scope)?;
    let sql = format!(
        "SELECT hash({unit}) AS key, {unit} AS unit, epoch_ms(ts) AS t, {mask} AS mask
         FROM events
         WHERE {events} AND ({any})
         ORDER BY key, t, seq"
    );
    let mut params: Vec<&dyn duckdb::ToSql> =
        values.iter().map(|v| v as &dyn duckdb::ToSql).collect();
    params.extend([&scope.site as &dyn duckdb::ToSql, &scope.from, &scope.to]);
    params.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params.as_slice())?;
    let mut units: Vec<(String, Vec<Occurrence>)> = Vec::new();
    let mut current: Option<u64> = None;
    while let Some(row) = rows.next()? {
        let key: u64 = row.get(0)?;
        let occurrence = Occurrence {
            ts: row.get(2)?,
            what: Happened::Steps(row.get::<_, u32>(3)? as u8),
        };
        // Rows come sorted by the unit's hash (sorting numbers is several
        // times faster than sorting names): a new hash is a new unit. Two
        // units with the same 64-bit hash would merge; for a million units
        // the odds are about one in 10^7.
        if current == Some(key) {
            if let Some((_, events)) = units.last_mut() {
                events.push(occurrence);
            }
        } else {
            units.push((row.get(1)?, vec![occurrence]));
            current = Some(key);
        }
    }
    Ok(units)
}

/// A funnel step's path pattern (`*` for any run of characters) as a
/// `LIKE` pattern, with `LIKE`'s own wildcards escaped.
fn like_pattern(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    like
}

#[cfg(test)]
mod tests {
    use sonde_protocol::{EventData, SiteSettings};

    use super::super::DuckDbStore;
    use super::super::testing::{DAY, HOUR, MIDNIGHT, error, view};
    use super::*;
    use crate::store::data_roles::*;

    /// The ways the store computes a funnel (steps matched in SQL or in
    /// Rust and counted by the reference arithmetic, or everything in SQL)
    /// give the same figures, on sessions with repeated steps,
    /// same-millisecond events, gaps past the window and wildcards.
    #[test]
    fn funnels_matched_in_sql_count_what_the_reference_counts() {
        use rand::{Rng, SeedableRng};
        let store = DuckDbStore::in_memory().unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(42);
        let paths = [
            "/",
            "/products/a",
            "/products/b",
            "/cart",
            "/checkout",
            "/thanks",
        ];
        let mut events = Vec::new();
        for session in 0..400 {
            let mut ts = MIDNIGHT + session * 1_000;
            for n in 0..rng.random_range(1..14) {
                ts += [0, 0, 1, 500, 30_000, 2_000_000][rng.random_range(0..6)];
                let mut e = view(
                    &format!("s{session}-{n}"),
                    ts,
                    session / 3,
                    paths[rng.random_range(0..6)],
                );
                e.session_id = Some(format!("s{session}"));
                // Browsers and referrers vary within a unit: its first
                // event's count.
                e.software.browser = ["Firefox", "Chrome", "Safari"][rng.random_range(0..3)].into();
                if let EventData::PageView { referrer, .. } = &mut e.data {
                    *referrer = ["news.example", "mail.example"]
                        .get(rng.random_range(0..3))
                        .map(|r| r.to_string());
                }
                if rng.random_range(0..5) == 0 {
                    e.data = EventData::Custom {
                        name: ["add_to_cart", "purchase"][rng.random_range(0..2)].into(),
                        props: Default::default(),
                        value: None,
                    };
                } else if rng.random_range(0..30) == 0 {
                    e.data = error("Boom");
                }
                events.push(e);
            }
        }
        // The next day, a path seen on no other day, and a session of its
        // own.
        for (n, path) in ["/products/z", "/cart", "/checkout", "/thanks"]
            .iter()
            .enumerate()
        {
            let mut e = view(
                &format!("next-{n}"),
                MIDNIGHT + DAY + n as i64 * 1_000,
                9_999,
                path,
            );
            e.session_id = Some("next".into());
            events.push(e);
        }
        store.write(&events).unwrap();
        let page = |p: &str| Step::Page { path: p.into() };
        let event = |n: &str| Step::Event {
            name: n.into(),
            property: None,
            value: None,
        };
        let funnels = [
            vec![
                page("/"),
                page("/products/*"),
                page("/cart"),
                page("/checkout"),
                page("/thanks"),
            ],
            vec![
                page("/products/*"),
                event("add_to_cart"),
                page("/cart"),
                event("purchase"),
            ],
            vec![page("/cart"), page("/cart"), page("/cart")],
            vec![page("*"), page("/thanks")],
        ];
        let conn = store.conn();
        let month = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + 30 * DAY);
        let mut expected = Vec::new();
        for (steps, unit) in funnels
            .iter()
            .flat_map(|s| [(s, FunnelUnit::Session), (s, FunnelUnit::Visitor)])
        {
            for window_ms in [60_000, 3_600_000] {
                let funnel = FunnelDefinition {
                    name: "f".into(),
                    steps: steps.clone(),
                    window_ms,
                    unit,
                };
                let unit_sql = unit_key(unit);
                let figures = |mut units: Vec<(String, Vec<Occurrence>)>| {
                    units.sort_by(|a, b| a.0.cmp(&b.0));
                    let progresses: Vec<Vec<i64>> = units
                        .iter()
                        .map(|(_, e)| crate::reports::funnel::progress(steps, e, window_ms))
                        .collect();
                    let keys: Vec<String> = units.into_iter().map(|(k, _)| k).collect();
                    (
                        keys,
                        crate::reports::funnel::summarize(steps.len(), &progresses),
                    )
                };
                let (in_sql_units, in_sql) =
                    figures(funnel_steps_in_sql(&conn, &month, unit_sql, steps).unwrap());
                let (in_rust_units, in_rust) =
                    figures(funnel_matched_in_rust(&conn, &month, unit_sql, &funnel).unwrap());
                assert_eq!(in_sql, in_rust, "{steps:?} {unit:?} {window_ms}");
                let whole_in_sql = funnel_in_sql(&conn, &month, &funnel).unwrap();
                assert_eq!(
                    whole_in_sql, in_rust,
                    "all in SQL: {steps:?} {unit:?} {window_ms}"
                );
                assert_eq!(in_sql_units, in_rust_units);
                assert!(in_sql[0].entrants > 0, "{steps:?} enters somewhere");
                expected.push((funnel, in_rust));
            }
        }
        // The errors report follows the sessions with errors in the same
        // pass as every session.
        drop(conn);
        for (funnel, _) in &expected {
            for dimension in [
                FunnelDimension::Browser,
                FunnelDimension::Source,
                FunnelDimension::Campaign,
            ] {
                let fast = store
                    .funnel_breakdown(&month, chrono_tz::UTC, funnel, dimension)
                    .unwrap();
                let reference =
                    crate::store::reference_funnel_breakdown(&store, &month, funnel, dimension)
                        .unwrap();
                assert_eq!(fast, reference, "{funnel:?} by {dimension:?}");
                let groups = fast.1;
                let labels = groups.len();
                assert!(
                    labels
                        >= if dimension == FunnelDimension::Campaign {
                            1
                        } else {
                            2
                        },
                    "{funnel:?} by {dimension:?}: {groups:?}"
                );
            }
        }
        for (funnel, _) in expected
            .iter()
            .filter(|(f, _)| f.unit == FunnelUnit::Session)
        {
            let visits = store.funnel_visits(&month, funnel).unwrap();
            assert_eq!(
                visits,
                crate::store::reference_funnel_visits(&store, &month, funnel).unwrap(),
                "{funnel:?}"
            );
            assert!(!visits.entered_with_errors.is_empty(), "{funnel:?}");
        }
        // Rolling the first day up changes nothing for funnels.
        let site = SiteSettings::new("shop", vec![]);
        let turn = store
            .roll_up(&site, &[], MIDNIGHT + DAY + 12 * HOUR, 10)
            .unwrap();
        assert_eq!(turn.rolled, 1);
        let conn = store.conn();
        for (funnel, figures) in &expected {
            assert_eq!(
                funnel_in_sql(&conn, &month, funnel).unwrap(),
                *figures,
                "with the rollup: {funnel:?}"
            );
        }
        drop(conn);
        // Every day rolled up: a session's source and campaign are read
        // from its first visit, and give the same groups.
        store.roll_up(&site, &[], MIDNIGHT + 31 * DAY, 40).unwrap();
        for (funnel, _) in &expected {
            for dimension in [FunnelDimension::Source, FunnelDimension::Campaign] {
                assert_eq!(
                    store
                        .funnel_breakdown(&month, chrono_tz::UTC, funnel, dimension)
                        .unwrap(),
                    crate::store::reference_funnel_breakdown(&store, &month, funnel, dimension)
                        .unwrap(),
                    "rolled up: {funnel:?} by {dimension:?}"
                );
            }
        }
    }

    /// The SQL test of a step's path means what the step's pattern means
    /// (`*` any run of characters, everything else itself), whichever
    /// shortcut it takes.
    #[test]
    fn a_step_path_is_tested_in_sql_as_its_pattern_says() {
        let store = DuckDbStore::in_memory().unwrap();
        let conn = store.conn();
        let paths = [
            "",
            "/",
            "/cart",
            "/cart/",
            "/carts",
            "/products",
            "/products/",
            "/products/a",
            "/a%b",
            "/a_b",
            "/axb",
            "/a\\b",
            "/x/y/z",
            "/x/yy/z/w",
            "/it's",
        ];
        let patterns = [
            "/cart",
            "/products/*",
            "/products*",
            "*",
            "**",
            "/a%b",
            "/a_b",
            "/a\\b",
            "/*/y/*",
            "/x*z",
            "*b",
            "/it's",
            "/it'*",
        ];
        for pattern in patterns {
            let step = Step::Page {
                path: pattern.into(),
            };
            let (test, value) = path_test(pattern);
            for path in paths {
                let in_sql: bool = conn
                    .query_row(
                        &format!("WITH p AS (SELECT ?::VARCHAR AS path) SELECT {test} FROM p"),
                        params![path, value],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(
                    in_sql,
                    step.matches_page(path),
                    "{path:?} against {pattern:?} ({test})"
                );
            }
        }
    }
}
