//! `GET /api/errors`: errors grouped by fingerprint, with their reach, the
//! period before, and their effect on each saved funnel.

use axum::Json;
use sonde_protocol::ApiError;
use sonde_protocol::errors::{ErrorsQuery, ErrorsReport};
use sonde_protocol::funnel::FunnelUnit;

use super::report_query::Report;
use crate::error::AppError;
use crate::reports::Scope;
use crate::reports::buckets::buckets;
use crate::reports::errors::{compare, group, totals};

/// `GET /api/errors?site=…&from=…&to=…`
#[utoipa::path(
    get,
    path = "/api/errors",
    tag = "dashboard",
    params(ErrorsQuery),
    responses(
        (status = 200, description = "Errors grouped by fingerprint, with their reach and their effect on each saved funnel", body = ErrorsReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn errors(report: Report<ErrorsQuery>) -> Result<Json<ErrorsReport>, AppError> {
    report
        .answer(|q, site, stores| {
            let store = &stores.reports;
            let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
            let rows = store.errors(&scope)?;
            let sessions = store.visit_count(&scope, site.timezone)?;
            let mut funnels = Vec::new();
            for saved in stores.saved.funnels(&q.site)? {
                let mut definition = saved.funnel;
                definition.unit = FunnelUnit::Session;
                // Every visit counted, only those with errors followed.
                funnels.push(store.funnel_visits(&scope, &definition)?);
            }
            let buckets = buckets(q.from, q.to, q.granularity, site.timezone);
            let k = stores.min_group_size;
            let mut groups = group(&rows, k, sessions, site.timezone, &buckets, &funnels);
            let previous = if q.compare {
                let before = scope.versus(q.versus);
                let rows = store.errors(&before)?;
                compare(&mut groups, &rows);
                Some(totals(
                    &rows,
                    store.visit_count(&before, site.timezone)?,
                    site.timezone,
                ))
            } else {
                None
            };
            Ok(ErrorsReport {
                sessions,
                totals: totals(&rows, sessions, site.timezone),
                previous,
                groups,
                k,
            })
        })
        .await
}
