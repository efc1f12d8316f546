//! The rows the errors, conversions and performance reports read: errors,
//! visits, goal hits and sessions of a scope (web vitals: [`super::vitals`]).

use duckdb::{Connection, params};
use sonde_protocol::funnel::Step;

use super::funnels::{props_as_text, step_test};
use super::scope::{scope_params, scoped};
use crate::reports::Scope;
use crate::reports::conversions::VisitRow;
use crate::reports::errors::ErrorRow;
use crate::store::StoreError;

/// The errors in the scope, oldest first (the first stored first among
/// equal times).
pub(super) fn errors(conn: &Connection, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(session_id, id), epoch_ms(ts), error_message, error_stack, error_source,
                coalesce(browser, 'unknown'), path, visitor_id
         FROM events
         WHERE {events} AND kind = 'error'
         ORDER BY ts, seq"
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok(ErrorRow {
            session: r.get(0)?,
            ts: r.get(1)?,
            message: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            stack: r.get(3)?,
            source: r.get(4)?,
            browser: r.get(5)?,
            path: r.get(6)?,
            visitor: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Each visit (session) that began with a page view in the scope, with
/// where it came from: its first page view's, the first stored among equal
/// times.
pub(super) fn visits(conn: &Connection, scope: &Scope) -> Result<Vec<VisitRow>, StoreError> {
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT session, visitor, epoch_ms(ts), landing, referrer, source, medium, campaign
         FROM ({})",
        visits_sql(&events, VisitColumns::WithIds)
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok(VisitRow {
            session: r.get(0)?,
            visitor: r.get(1)?,
            start: r.get(2)?,
            landing: r.get(3)?,
            referrer: r.get(4)?,
            source: r.get(5)?,
            medium: r.get(6)?,
            campaign: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What [`visits_sql`] reads of each visit besides its figures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum VisitColumns {
    /// Its session id too.
    WithIds,
    /// Figures only: no session id, and the landing page found by its
    /// number after grouping. The aggregate's state per visit is what
    /// must fit DuckDB's memory: a string kept per visit and aggregate
    /// (1.25 million visits at 10 million events) ran it out of its 256 MiB.
    FiguresOnly,
}

/// The visits of the events `events` selects (a condition with the
/// placeholders of [`scope_params`]), one row each: `session` (its id,
/// with [`VisitColumns::WithIds`]), `session_key`, `visitor`, `ts` (when it
/// began), `landing`, `referrer`, `source`, `medium` and `campaign`, as
/// [`VisitRow`] reads them.
pub(super) fn visits_sql(events: &str, columns: VisitColumns) -> String {
    let (session, landing) = match columns {
        VisitColumns::WithIds => (
            "any_value(session_id) AS session,",
            "arg_min(path, ord) AS landing",
        ),
        VisitColumns::FiguresOnly => ("", "arg_min(path_id, ord) AS landing_id"),
    };
    // `arg_min_null`: the first page view's value even when it is NULL.
    // Grouped by the session's number, a hash aggregate DuckDB can spill
    // to disk within its memory limit (ordered aggregates, `first(… ORDER
    // BY …)`, cannot).
    let visits = format!(
        "SELECT {session} session_key, arg_min(visitor_id, ord) AS visitor,
                min(ts) AS ts, {landing},
                coalesce(arg_min_null(referrer_host, ord), 'direct') AS referrer,
                coalesce(arg_min_null(utm_source, ord), arg_min_null(referrer_host, ord), 'direct')
                    AS source,
                arg_min_null(utm_medium, ord) AS medium,
                arg_min_null(utm_campaign, ord) AS campaign
         FROM (SELECT *, (epoch_ms(ts)::HUGEINT << 64) + seq AS ord FROM events
               WHERE {events} AND kind = 'page_view' AND session_id IS NOT NULL)
         GROUP BY session_key"
    );
    match columns {
        VisitColumns::WithIds => visits,
        VisitColumns::FiguresOnly => format!(
            "SELECT v.* EXCLUDE (landing_id), p.path AS landing
             FROM ({visits}) v JOIN paths p ON p.path_id = v.landing_id"
        ),
    }
}

/// The visits that reached `target` (a page or an event) in the scope,
/// once per matching event, with the event's value.
pub(super) fn goal_hits(
    conn: &Connection,
    scope: &Scope,
    target: &Step,
) -> Result<Vec<(String, Option<f64>)>, StoreError> {
    let (filter, wanted) = step_test(target);
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(session_id, id), value, props FROM events
         WHERE {events} AND {filter}"
    ))?;
    let rows = stmt.query_map(params![scope.site, scope.from, scope.to, wanted], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<f64>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (session, value, props) = row?;
        let matches = match target {
            Step::Page { .. } => true,
            Step::Event { name, .. } => {
                let props = props.as_deref().map(props_as_text).unwrap_or_default();
                target.matches_event(name, |key| {
                    props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
                })
            }
        };
        if matches {
            hits.push((session, value));
        }
    }
    Ok(hits)
}

/// Sessions with any event in the scope.
pub(super) fn session_count(conn: &Connection, scope: &Scope) -> Result<u64, StoreError> {
    let events = scoped(conn, scope)?;
    let n: i64 = conn.query_row(
        // By the session's number, not its id: a column of numbers, not
        // of strings (two sessions share one with odds of about one in
        // 10^7 among a million, see write::session_key).
        &format!(
            "SELECT count(DISTINCT session_key) FILTER (WHERE session_id IS NOT NULL)
             FROM events WHERE {events}"
        ),
        scope_params(scope),
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::super::DuckDbStore;
    use super::super::testing::{DAY, MIDNIGHT, error, visit};
    use super::*;
    use crate::store::data_roles::*;

    /// Among events of the same millisecond, the one stored first comes
    /// first, whatever their ids: rows are ordered by `seq`, their place
    /// in the order of storing.
    #[test]
    fn events_of_one_instant_come_in_the_order_they_were_stored() {
        let store = DuckDbStore::in_memory().unwrap();
        let error_at = |id: &str, message: &str| {
            let mut e = visit(id, MIDNIGHT, 1, "s1", "/", None);
            e.data = error(message);
            e
        };
        store
            .write(&[
                visit("z", MIDNIGHT, 1, "s1", "/second", None),
                error_at("y", "first"),
            ])
            .unwrap();
        store
            .write(&[
                visit("b", MIDNIGHT, 1, "s1", "/first", None),
                error_at("a", "second"),
            ])
            .unwrap();
        let day = Scope::unfiltered("shop", MIDNIGHT, MIDNIGHT + DAY);
        let messages: Vec<String> = store
            .errors(&day)
            .unwrap()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(messages, ["first", "second"]);
        assert_eq!(store.visits(&day).unwrap()[0].landing, "/second");
    }
}
