//! The rows the errors, conversions, performance and events reports read:
//! errors, visits, goal hits, sessions and interactions of a scope (web
//! vitals: [`super::vitals`]).
//! Reports that tally in SQL are held equal to what these rows give.

use chrono_tz::Tz;
use duckdb::{Connection, params};
use sonde_protocol::events_report::InteractionKind;
use sonde_protocol::funnel::Step;

use super::funnels::step_test;
use super::rollup::GRANULE_MS;
use super::schema::SESSION_NAME;
use super::scope::{scope_params, scoped};
use super::visits::scope_visits;
use crate::reports::Scope;
use crate::reports::conversions::{GoalHit, VisitRow};
use crate::reports::errors::ErrorRow;
use crate::reports::events::InteractionRow;
use crate::store::StoreError;
use crate::store::event_row::props_as_text;

/// The errors in the scope, oldest first (the first stored first among
/// equal times). Read as Arrow columns: a month of a busy site has tens of
/// thousands of errors, and reading them value by value through rows took
/// three times as long as the query.
pub(super) fn errors(conn: &Connection, scope: &Scope) -> Result<Vec<ErrorRow>, StoreError> {
    use duckdb::arrow::array::{Array, Int64Array, StringArray};

    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {SESSION_NAME}, epoch_ms(ts), coalesce(error_message, ''), error_stack,
                error_source, coalesce(browser, 'unknown'), path, visitor_id
         FROM events
         WHERE {events} AND kind = 'error'
         ORDER BY ts, seq"
    ))?;
    let mut rows = Vec::new();
    for batch in stmt.query_arrow(scope_params(scope))? {
        let unexpected = |what: &str| StoreError::Corrupt(format!("error rows: {what}"));
        let text = |i: usize, what: &str| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| unexpected(what))
        };
        let number = |i: usize, what: &str| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| unexpected(what))
        };
        let (session, ts, message) = (text(0, "session")?, number(1, "time")?, text(2, "message")?);
        let (stack, source, browser) = (text(3, "stack")?, text(4, "source")?, text(5, "browser")?);
        let (path, visitor) = (text(6, "path")?, number(7, "visitor")?);
        let optional = |column: &StringArray, i: usize| {
            (!column.is_null(i)).then(|| column.value(i).to_owned())
        };
        for i in 0..batch.num_rows() {
            rows.push(ErrorRow {
                session: session.value(i).to_owned(),
                ts: ts.value(i),
                message: message.value(i).to_owned(),
                stack: optional(stack, i),
                source: optional(source, i),
                browser: browser.value(i).to_owned(),
                path: path.value(i).to_owned(),
                visitor: visitor.value(i),
            });
        }
    }
    Ok(rows)
}

/// The scope's visits (see [`super::visits`]), counted from the events:
/// what the rollup's visits are held equal to.
pub(super) fn visits(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
) -> Result<Vec<VisitRow>, StoreError> {
    let visits = scope_visits(conn, scope, timezone, false, &[])?;
    let mut stmt = conn.prepare(&format!(
        "SELECT v.session::VARCHAR, v.day_start, v.visitor, v.start_ms, v.entry, v.referrer,
                v.source, v.medium, v.campaign
         FROM ({visits}) v",
        visits = visits.sql,
    ))?;
    let params: Vec<&dyn duckdb::ToSql> = visits.params().collect();
    let rows = stmt.query_map(params.as_slice(), |r| {
        Ok(VisitRow {
            session: r.get(0)?,
            day_start: r.get(1)?,
            visitor: r.get(2)?,
            start: r.get(3)?,
            landing: r.get(4)?,
            referrer: r.get(5)?,
            source: r.get(6)?,
            medium: r.get(7)?,
            campaign: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every event of the scope's period that reached `target` (a page or an
/// event), with its day on the calendar of `timezone`: the day of the
/// visit it converts. The scope's filters select visits, not hits.
pub(super) fn goal_hits(
    conn: &Connection,
    scope: &Scope,
    timezone: Tz,
    target: &Step,
) -> Result<Vec<GoalHit>, StoreError> {
    let (filter, wanted) = step_test(target);
    super::rollup::fill_day_granules(conn, &[(scope.from, scope.to)], timezone)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT e.session, g.day_start, e.value, e.props
         FROM (SELECT {SESSION_NAME} AS session, value, props,
                      epoch_ms(ts) // {GRANULE_MS} AS granule
               FROM events
               WHERE site = ? AND ts >= epoch_ms(?::BIGINT) AND ts < epoch_ms(?::BIGINT)
                 AND {filter}) e
         JOIN day_granules g USING (granule)"
    ))?;
    let rows = stmt.query_map(params![scope.site, scope.from, scope.to, wanted], |r| {
        Ok((
            GoalHit {
                session: r.get(0)?,
                day_start: r.get(1)?,
                value: r.get(2)?,
            },
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (hit, props) = row?;
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
            hits.push(hit);
        }
    }
    Ok(hits)
}

/// The scope's interactions (custom events, clicks, forms, outbound links
/// and downloads), as the events report reads them.
pub(super) fn interactions(
    conn: &Connection,
    scope: &Scope,
) -> Result<Vec<InteractionRow>, StoreError> {
    let events = scoped(conn, scope)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT kind, coalesce(CASE WHEN kind IN ('outbound', 'download') THEN href ELSE name END, ''),
                visitor_id, epoch_ms(ts), value, props
         FROM events
         WHERE {events} AND kind IN ('custom', 'click', 'form_submit', 'outbound', 'download')"
    ))?;
    let rows = stmt.query_map(scope_params(scope), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<f64>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, name, visitor, ts, value, props) = row?;
        let kind = InteractionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("an interaction of kind {kind:?}")))?;
        out.push(InteractionRow {
            kind,
            name,
            visitor,
            ts,
            value,
            props: props.as_deref().map(props_as_text).unwrap_or_default(),
        });
    }
    Ok(out)
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
        assert_eq!(
            store.visits(&day, chrono_tz::UTC).unwrap()[0].landing,
            "/second"
        );
    }
}
