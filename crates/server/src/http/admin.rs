//! The admin API: sites and their settings, for the operator, at
//! `/api/admin`. It takes the admin token (`--admin-token`,
//! `SONDE_ADMIN_TOKEN`) as a bearer token and is off when none is set.
//! Changes apply to the next request and are kept in the store; `sonde site`
//! does the same from the command line while the server is stopped.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use sonde_protocol::{ApiError, SiteSettings};
use subtle::ConstantTimeEq;

use super::browser_body;
use crate::error::AppError;
use crate::site::Site;
use crate::state::AppState;

/// Proof that a request carries the admin token.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let Some(expected) = app.admin_token() else {
            return Err(AppError::AdminOff);
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Constant time: the comparison says nothing about how much matched.
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(Admin)
        } else {
            Err(AppError::NotAuthorized)
        }
    }
}

/// `GET /api/admin/sites`
#[utoipa::path(
    get,
    path = "/api/admin/sites",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every site's settings", body = [SiteSettings]),
        (status = 401, description = "Missing or wrong admin token", body = ApiError),
        (status = 403, description = "The admin API is off", body = ApiError),
    )
)]
pub async fn list_sites(_: Admin, State(app): State<AppState>) -> Json<Vec<SiteSettings>> {
    Json(
        app.sites()
            .all()
            .iter()
            .map(|s| s.settings.clone())
            .collect(),
    )
}

/// `PUT /api/admin/sites/{key}`: adds a site or replaces its settings.
#[utoipa::path(
    put,
    path = "/api/admin/sites/{key}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("key" = String, Path, description = "The site's key")),
    request_body = SiteSettings,
    responses(
        (status = 200, description = "The settings now in force", body = SiteSettings),
        (status = 401, description = "Missing or wrong admin token", body = ApiError),
        (status = 403, description = "The admin API is off", body = ApiError),
        (status = 422, description = "A setting is invalid (which one, and why)", body = ApiError),
    )
)]
pub async fn put_site(
    _: Admin,
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SiteSettings>, AppError> {
    let settings: SiteSettings = browser_body::read(&headers, body).await?;
    if settings.key != key {
        return Err(AppError::InvalidField {
            field: "key".into(),
            message: format!(
                "the body is for site {:?}, the path for {key:?}",
                settings.key
            ),
        });
    }
    let site = Site::new(settings)?;
    let (store, saved) = (app.stores().sites.clone(), site.settings.clone());
    tokio::task::spawn_blocking(move || store.put_site(&saved)).await??;
    let settings = site.settings.clone();
    app.sites().put(site);
    tracing::info!(site = %settings.key, "site settings changed");
    Ok(Json(settings))
}

/// `DELETE /api/admin/sites/{key}`: stops serving a site. Its data stays
/// until its retention ends.
#[utoipa::path(
    delete,
    path = "/api/admin/sites/{key}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("key" = String, Path, description = "The site's key")),
    responses(
        (status = 204, description = "The site is no longer served"),
        (status = 404, description = "No such site", body = ApiError),
    )
)]
pub async fn remove_site(
    _: Admin,
    State(app): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, AppError> {
    let store = app.stores().sites.clone();
    let stored_key = key.clone();
    let removed = tokio::task::spawn_blocking(move || store.remove_site(&stored_key)).await??;
    if !(app.sites().remove(&key) || removed) {
        return Err(AppError::UnknownSite(key));
    }
    tracing::info!(site = %key, "site removed");
    Ok(StatusCode::NO_CONTENT)
}
