//! `POST /api/funnel`: a funnel's figures over a period, compared with the
//! period before (or a year before) and broken down by a dimension when asked.

use axum::Json;
use axum::body::Body;
use axum::http::HeaderMap;
use sonde_protocol::ApiError;
use sonde_protocol::funnel::{FunnelQuery, FunnelReport};

use super::browser_body;
use super::report_query::Report;
use crate::auth::Reader;
use crate::error::AppError;
use crate::reports::Scope;
use crate::reports::funnel::rank_groups;
use crate::state::AppState;

/// `POST /api/funnel`: a funnel's figures over a period.
#[utoipa::path(
    post,
    path = "/api/funnel",
    tag = "dashboard",
    request_body = FunnelQuery,
    responses(
        (status = 200, description = "Entrants, conversion, drop-off and median time per step", body = FunnelReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 403, description = "A share link for another site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad funnel or range (which field, which rule)", body = ApiError),
    )
)]
pub async fn funnel(
    axum::extract::State(app): axum::extract::State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<FunnelReport>, AppError> {
    let query: FunnelQuery = browser_body::read(&headers, body).await?;
    query.funnel.validate()?;
    Report::check(&app, reader, query)?
        .answer(|query, site, stores| {
            let (funnel, store) = (&query.funnel, &stores.reports);
            let scope = Scope::new(&query.site, query.from, query.to, &query.filters);
            // A breakdown needs each unit's events: the totals are summed
            // from the same ones rather than read again.
            let (steps, breakdown, breakdown_hidden) = match query.breakdown {
                Some(dimension) => {
                    let (steps, groups) =
                        store.funnel_breakdown(&scope, site.timezone, funnel, dimension)?;
                    let (groups, hidden) = rank_groups(groups, stores.min_group_size);
                    (steps, groups, hidden)
                }
                None => (store.funnel(&scope, funnel)?, Vec::new(), 0),
            };
            let previous = if query.compare {
                Some(store.funnel(&scope.versus(query.versus), funnel)?)
            } else {
                None
            };
            Ok(FunnelReport {
                steps,
                previous,
                breakdown,
                breakdown_hidden,
            })
        })
        .await
}
