//! `GET /api/conversions`: a goal's conversions over time and by where its
//! visits came from.

use axum::Json;
use sonde_protocol::ApiError;
use sonde_protocol::goal::{ConversionsQuery, ConversionsReport, SavedGoal};

use super::report_query::Report;
use super::saved;
use crate::error::AppError;
use crate::reports::Scope;
use crate::reports::buckets::buckets;
use crate::reports::conversions::report;

/// `GET /api/conversions?site=…&goal=…&from=…&to=…[&granularity=…]`
#[utoipa::path(
    get,
    path = "/api/conversions",
    tag = "dashboard",
    params(ConversionsQuery),
    responses(
        (status = 200, description = "A goal's conversions over time and by source, medium, campaign, referrer and landing page", body = ConversionsReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 404, description = "Unknown site or goal", body = ApiError),
        (status = 422, description = "A bad range or granularity", body = ApiError),
    )
)]
pub async fn conversions(
    request: Report<ConversionsQuery>,
) -> Result<Json<ConversionsReport>, AppError> {
    let q = &request.query;
    let saved: SavedGoal = saved::load(request.app(), &request.reader, q.goal.clone()).await?;
    if saved.site != q.site {
        return Err(AppError::NotFound(format!(
            "no goal {:?} on site {:?}",
            q.goal, q.site
        )));
    }
    request
        .answer(|q, site, stores| {
            let (store, k) = (&stores.reports, stores.min_group_size);
            let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
            let previous = if q.compare {
                let tallies = store.conversion_tallies(
                    &scope.versus(q.versus),
                    site.timezone,
                    &saved.goal,
                    &[],
                )?;
                Some(report(saved.goal.clone(), &tallies, &[], k).totals())
            } else {
                None
            };
            let buckets = buckets(q.from, q.to, q.granularity, site.timezone);
            let tallies = store.conversion_tallies(&scope, site.timezone, &saved.goal, &buckets)?;
            let mut report = report(saved.goal, &tallies, &buckets, k);
            report.previous = previous;
            Ok(report)
        })
        .await
}
