//! `GET /api/performance`: web vitals at p75 with rating shares, per page
//! and per day, and conversion by LCP when a goal is chosen.

use axum::Json;
use sonde_protocol::ApiError;
use sonde_protocol::goal::SavedGoal;
use sonde_protocol::performance::{PerformanceQuery, PerformanceReport};

use super::report_query::Report;
use super::saved;
use crate::error::AppError;
use crate::reports::Scope;
use crate::reports::buckets::buckets;
use crate::reports::performance::{VitalGroup, report, summaries};

/// `GET /api/performance?site=…&from=…&to=…[&goal=…]`
#[utoipa::path(
    get,
    path = "/api/performance",
    tag = "dashboard",
    params(PerformanceQuery),
    responses(
        (status = 200, description = "Web vitals at p75 with rating shares, per page and per day, and conversion by LCP", body = PerformanceReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 404, description = "Unknown site or goal", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn performance(
    request: Report<PerformanceQuery>,
) -> Result<Json<PerformanceReport>, AppError> {
    let goal = match request.query.goal.clone() {
        Some(id) => {
            let saved: SavedGoal = saved::load(request.app(), &request.reader, id).await?;
            Some(saved.goal)
        }
        None => None,
    };
    request
        .answer(|q, site, stores| {
            let store = &stores.reports;
            let scope = Scope::new(&q.site, q.from, q.to, &q.filters);
            let buckets = buckets(q.from, q.to, q.granularity, site.timezone);
            let tallies = store.vital_tallies(&scope, site.timezone, &buckets)?;
            let goal = match goal {
                Some(goal) => {
                    let landing = store.landing_tallies(&scope, site.timezone, &goal)?;
                    Some((goal.name, landing))
                }
                None => None,
            };
            let mut report = report(&tallies, &buckets, stores.min_group_size, goal);
            if q.compare {
                let before = store.vital_tallies(&scope.versus(q.versus), site.timezone, &[])?;
                report.previous = Some(summaries(&before, &VitalGroup::Scope));
            }
            Ok(report)
        })
        .await
}
