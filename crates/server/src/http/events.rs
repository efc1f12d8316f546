//! `GET /api/events`: the events report ([`crate::reports::events`]).

use axum::Json;
use sonde_protocol::ApiError;
use sonde_protocol::events_report::{EventsQuery, EventsReport};

use super::report_query::Report;
use crate::error::AppError;
use crate::reports::Scope;
use crate::reports::buckets::buckets;
use crate::reports::events::report;

/// `GET /api/events?site=…&from=…&to=…[&granularity=…][&FILTERS][&kind=…&name=…]`
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "dashboard",
    params(EventsQuery),
    responses(
        (status = 200, description = "Each event's count, visitors and value; the chosen event per bucket and by property", body = EventsReport),
        (status = 401, description = "Not signed in and no share link or API key", body = ApiError),
        (status = 422, description = "A bad range, or a kind without a name", body = ApiError),
    )
)]
pub async fn events(report_of: Report<EventsQuery>) -> Result<Json<EventsReport>, AppError> {
    let q = &report_of.query;
    if q.kind.is_some() != q.name.is_some() {
        return Err(AppError::BadQuery {
            field: Some(if q.kind.is_some() { "name" } else { "kind" }.into()),
            message: "choose an event by its kind and its name together".into(),
        });
    }
    report_of
        .answer(|q, site, stores| {
            let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
            let rows = stores.reports.interactions(&scope)?;
            let buckets = buckets(q.from, q.to, q.granularity, site.timezone);
            let chosen = q.kind.zip(q.name.as_deref());
            Ok(report(&rows, &buckets, chosen, stores.min_group_size))
        })
        .await
}
