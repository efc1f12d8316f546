//! The dashboard's usage queries: the usage time series, the overview and
//! the last minutes.

use axum::Json;
use sonde_protocol::overview::{OverviewQuery, OverviewReport};
use sonde_protocol::usage::{REALTIME_WINDOW_MS, RealtimeQuery, RealtimeReport};
use sonde_protocol::{ApiError, UsageQuery, UsageReport};

use super::report_query::Report;
use crate::error::AppError;
use crate::imported;
use crate::reports::{self, buckets::buckets, small_groups};

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
pub async fn usage(report: Report<UsageQuery>) -> Result<Json<UsageReport>, AppError> {
    report
        .answer(|q, site, stores| {
            let k = stores.min_group_size;
            let mut report = stores.reports.usage(&q, site.timezone, k)?;
            small_groups::usage(&mut report, !q.filters.is_empty(), k);
            if reports::imported::applies(Some(q.granularity), !q.filters.is_empty()) {
                let tz = site.timezone;
                let store = stores.imported.as_ref();
                let days = imported::days_within(store, &q.site, (q.from, q.to), tz)?;
                let buckets = buckets(q.from, q.to, q.granularity, tz);
                reports::imported::add_to_usage(&mut report, &days, &buckets, tz);
                if let Some(previous) = &mut report.previous {
                    let before = q.versus.period(q.from, q.to);
                    let days = imported::days_within(store, &q.site, before, tz)?;
                    reports::imported::add_to_totals(previous, &days);
                }
                report.imported = reports::imported::figures(&days, Vec::new(), k);
            }
            Ok(report)
        })
        .await
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
pub async fn realtime(report: Report<RealtimeQuery>) -> Result<Json<RealtimeReport>, AppError> {
    let now = chrono::Utc::now().timestamp_millis();
    let since = now - REALTIME_WINDOW_MS;
    report
        .answer(move |q, site, stores| {
            let window = UsageQuery {
                site: q.site,
                from: since,
                to: now + 1,
                granularity: sonde_protocol::Granularity::Hour,
                ..UsageQuery::default()
            };
            let usage = stores
                .reports
                .usage(&window, site.timezone, stores.min_group_size)?;
            Ok(RealtimeReport {
                since,
                visitors: usage.total_visitors,
                pageviews: usage.total_pageviews,
                pages: usage.top_pages,
                pages_hidden: usage.top_pages_hidden,
            })
        })
        .await
}

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
pub async fn overview(report: Report<OverviewQuery>) -> Result<Json<OverviewReport>, AppError> {
    report
        .answer(|q, site, stores| {
            let k = stores.min_group_size;
            let mut report = stores.reports.overview(&q, site.timezone, k)?;
            small_groups::overview(&mut report, !q.filters.is_empty());
            if reports::imported::applies(None, !q.filters.is_empty()) {
                let tz = site.timezone;
                let store = stores.imported.as_ref();
                let days = imported::days_within(store, &q.site, (q.from, q.to), tz)?;
                reports::imported::add_to_key_figures(&mut report.current, &days);
                let before = q.versus.period(q.from, q.to);
                let before = imported::days_within(store, &q.site, before, tz)?;
                reports::imported::add_to_key_figures(&mut report.previous, &before);
                let rows = imported::rows_of(store, &q.site, &days)?;
                report.imported = reports::imported::figures(&days, rows, k);
            }
            Ok(report)
        })
        .await
}
