//! `GET /api/consent-log`: the consent records stored in a period, with
//! their links in the site's chain (see [`crate::reports::consent_log`]),
//! as a CSV or JSON-lines download.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use sonde_protocol::ApiError;
use sonde_protocol::consent_report::ConsentLogQuery;

use super::report_query::Report;
use crate::error::AppError;
use crate::reports::consent_log::{to_csv, to_jsonl};

/// The formats the log downloads in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The `format` parameter: `csv` or `jsonl`.
    pub fn parse(format: &str) -> Result<Self, AppError> {
        match format {
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::JsonLines),
            other => Err(AppError::BadQuery {
                field: Some("format".into()),
                message: format!("format {other:?} is not csv or jsonl"),
            }),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/jsonl; charset=utf-8",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// `GET /api/consent-log?site=…&from=…&to=…&format=csv|jsonl`
#[utoipa::path(
    get,
    path = "/api/consent-log",
    tag = "dashboard",
    params(ConsentLogQuery),
    responses(
        (status = 200, description = "The consent records, hash-chained, as a download", body = String),
        (status = 401, description = "Not signed in and no share link", body = ApiError),
        (status = 422, description = "A bad range or format", body = ApiError),
    )
)]
pub async fn export(report: Report<ConsentLogQuery>) -> Result<Response, AppError> {
    // Checked with the query's other parameters.
    let format = Format::parse(&report.query.format)?;
    let file = format!(
        "attachment; filename=\"consent-log-{}.{}\"",
        report.query.site,
        format.extension()
    );
    let body = report
        .run(move |q, _, stores| {
            let entries = stores.reports.consent_chain(&q.site, q.from, q.to)?;
            Ok(match format {
                Format::Csv => to_csv(&entries),
                Format::JsonLines => to_jsonl(&entries),
            })
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
}
