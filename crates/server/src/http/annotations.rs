//! Annotations: listed for anyone who may read the site (they are drawn on
//! its charts), as JSON or a CSV download; added by admins or by an API
//! key with the `annotations` scope (a deploy pipeline); removed by
//! admins.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sonde_protocol::ApiError;
use sonde_protocol::annotation::{Annotation, NewAnnotation};

use super::browser_body;
use crate::auth::{AdminUser, Annotator, Reader, now_ms};
use crate::error::AppError;
use crate::state::AppState;
use crate::token::random_token;

/// `GET /api/sites/{site}/annotations`' parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnnotationsQuery {
    /// Only those marking this instant or later (ms since the epoch).
    pub from: Option<i64>,
    /// Only those marking an instant before this (ms since the epoch).
    pub to: Option<i64>,
    /// `json` (the default) or `csv`, a download.
    pub format: Option<String>,
}

/// `GET /api/sites/{site}/annotations`
#[utoipa::path(get, path = "/api/sites/{site}/annotations", tag = "annotations",
    params(("site" = String, Path, description = "The site's key"), AnnotationsQuery),
    responses((status = 200, description = "The site's annotations in the period, oldest first (JSON, or CSV: at,time_utc,text,added_by)", body = [Annotation]),
        (status = 401, description = "Not signed in, no share link or API key", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "A format other than json or csv", body = ApiError)))]
pub async fn list(
    reader: Reader,
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(query): Query<AnnotationsQuery>,
) -> Result<Response, AppError> {
    reader.check_site(&site)?;
    super::report_query::known_site(&app, &site)?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(AppError::BadQuery {
                field: Some("format".into()),
                message: format!("format {other:?} is not json or csv"),
            });
        }
    };
    let saved = app.stores().saved.clone();
    let key = site.clone();
    let (from, to) = (query.from.unwrap_or(i64::MIN), query.to.unwrap_or(i64::MAX));
    let annotations: Vec<Annotation> = tokio::task::spawn_blocking(move || saved.annotations(&key))
        .await??
        .into_iter()
        .filter(|a| (from..to).contains(&a.at))
        .collect();
    if !csv {
        return Ok(Json(annotations).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"annotations-{site}.csv\""),
            ),
        ],
        to_csv(&annotations),
    )
        .into_response())
}

/// The annotations as CSV, quoted where the text needs it.
fn to_csv(annotations: &[Annotation]) -> String {
    // Into memory: writing cannot fail.
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["at", "time_utc", "text", "added_by"])
        .expect("CSV into memory");
    for a in annotations {
        let time = chrono::DateTime::from_timestamp_millis(a.at)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        out.write_record([&a.at.to_string(), &time, &a.text, &a.added_by])
            .expect("CSV into memory");
    }
    let bytes = out.into_inner().expect("CSV into memory");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `POST /api/sites/{site}/annotations`: by an admin (with the CSRF token)
/// or with `Authorization: Bearer <API key>`.
#[utoipa::path(post, path = "/api/sites/{site}/annotations", tag = "annotations",
    params(("site" = String, Path, description = "The site's key")),
    request_body = NewAnnotation,
    responses((status = 201, description = "The annotation as kept", body = Annotation),
        (status = 401, description = "Not signed in, or a revoked API key", body = ApiError),
        (status = 403, description = "Not an admin, a key of another site or without the annotations scope", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "What is wrong with the annotation", body = ApiError)))]
pub async fn create(
    annotator: Annotator,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Annotation>), AppError> {
    annotator.check_site(&site)?;
    super::report_query::known_site(&app, &site)?;
    let new: NewAnnotation = browser_body::read_json(&headers, body).await?;
    new.validate()?;
    let annotation = Annotation {
        id: random_token()[..16].to_owned(),
        site,
        at: new.at,
        text: new.text.trim().to_owned(),
        added_by: annotator.name(),
        added_at: now_ms(),
    };
    let (saved, stored) = (app.stores().saved.clone(), annotation.clone());
    tokio::task::spawn_blocking(move || saved.put_annotation(&stored)).await??;
    tracing::info!(site = %annotation.site, id = %annotation.id, by = %annotation.added_by, "annotation added");
    Ok((StatusCode::CREATED, Json(annotation)))
}

/// `DELETE /api/annotations/{id}`
#[utoipa::path(delete, path = "/api/annotations/{id}", tag = "annotations",
    params(("id" = String, Path, description = "The annotation's id")),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such annotation", body = ApiError)))]
pub async fn remove(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let saved = app.stores().saved.clone();
    let lookup = id.clone();
    if !tokio::task::spawn_blocking(move || saved.remove_annotation(&lookup)).await?? {
        return Err(AppError::NotFound(format!("no annotation {id:?}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
