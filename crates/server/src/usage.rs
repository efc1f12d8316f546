//! The dashboard's usage queries: the usage time series and the overview.

use axum::Json;
use axum::extract::State;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{REALTIME_WINDOW_MS, RealtimeQuery, RealtimeReport};
use sonde_protocol::{ApiError, UsageQuery, UsageReport};

use crate::app::AppState;
use crate::auth::Reader;
use crate::error::AppError;
use crate::query::{self, Params};

/// Most buckets one series may have (a year of days, or ~41 days of hours).
pub const MAX_BUCKETS: i64 = 1000;

/// `GET /api/usage?site=…&from=…&to=…&granularity=hour|day|week|month`
#[utoipa::path(
    get,
    path = "/api/usage",
    tag = "dashboard",
    params(UsageQuery),
    responses(
        (status = 200, description = "Page views and visitors per bucket, and top pages", body = UsageReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 403, description = "A share link for another site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad range or granularity", body = ApiError),
    )
)]
pub async fn usage(
    State(app): State<AppState>,
    reader: Reader,
    Params(query): Params<UsageQuery>,
) -> Result<Json<UsageReport>, AppError> {
    check(&query)?;
    let site = query::site(&app, &reader, &query.site)?;
    let (store, k) = (app.store_handle(), app.min_group_size());
    let report =
        tokio::task::spawn_blocking(move || store.usage(&query, site.timezone, k)).await??;
    Ok(Json(report))
}

/// `GET /api/realtime?site=…`: the last 30 minutes.
#[utoipa::path(
    get,
    path = "/api/realtime",
    tag = "dashboard",
    params(RealtimeQuery),
    responses(
        (status = 200, description = "Visitors and page views in the last 30 minutes, and their pages", body = RealtimeReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
    )
)]
pub async fn realtime(
    State(app): State<AppState>,
    reader: Reader,
    Params(q): Params<RealtimeQuery>,
) -> Result<Json<RealtimeReport>, AppError> {
    let site = query::site(&app, &reader, &q.site)?;
    let now = chrono::Utc::now().timestamp_millis();
    let since = now - REALTIME_WINDOW_MS;
    let window = UsageQuery {
        site: q.site,
        from: since,
        to: now + 1,
        granularity: sonde_protocol::Granularity::Hour,
        ..UsageQuery::default()
    };
    let (store, k) = (app.store_handle(), app.min_group_size());
    let report =
        tokio::task::spawn_blocking(move || store.usage(&window, site.timezone, k)).await??;
    Ok(Json(RealtimeReport {
        since,
        visitors: report.total_visitors,
        pageviews: report.total_pageviews,
        pages: report.top_pages,
        pages_hidden: report.top_pages_hidden,
    }))
}

/// Longest period an overview covers: about thirteen months.
pub const MAX_OVERVIEW_DAYS: i64 = 400;

/// `GET /api/overview?site=…&from=…&to=…[&page=…&entry_page=…&source=…&campaign=…&browser=…&os=…&device=…]`
#[utoipa::path(
    get,
    path = "/api/overview",
    tag = "dashboard",
    params(OverviewQuery),
    responses(
        (status = 200, description = "Key figures, the previous period's, and the breakdowns", body = OverviewReport),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 403, description = "A share link for another site", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A bad range", body = ApiError),
    )
)]
pub async fn overview(
    State(app): State<AppState>,
    reader: Reader,
    Params(query): Params<OverviewQuery>,
) -> Result<Json<OverviewReport>, AppError> {
    query::check_period(query.from, query.to)?;
    if query.to - query.from > MAX_OVERVIEW_DAYS * 86_400_000 {
        return Err(AppError::BadQuery {
            field: Some("to".into()),
            message: format!("the period is longer than {MAX_OVERVIEW_DAYS} days"),
        });
    }
    let site = query::site(&app, &reader, &query.site)?;
    let (store, k) = (app.store_handle(), app.min_group_size());
    let report =
        tokio::task::spawn_blocking(move || store.overview(&query, site.timezone, k)).await??;
    Ok(Json(report))
}

fn check(q: &UsageQuery) -> Result<(), AppError> {
    query::check_period(q.from, q.to)?;
    check_buckets(q.from, q.to, q.granularity)
}

/// A series of at most [`MAX_BUCKETS`] buckets.
pub fn check_buckets(
    from: i64,
    to: i64,
    granularity: sonde_protocol::Granularity,
) -> Result<(), AppError> {
    let buckets = (to - from) / granularity.approx_millis();
    if buckets > MAX_BUCKETS {
        return Err(AppError::BadQuery {
            field: Some("granularity".into()),
            message: format!(
                "the range holds {buckets} buckets at this granularity, the limit is {MAX_BUCKETS}; choose a coarser granularity or a shorter range"
            ),
        });
    }
    Ok(())
}
