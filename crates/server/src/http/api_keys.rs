//! Site API keys: `GET`/`POST /api/sites/{site}/api-keys` and `DELETE
//! /api/api-keys/{id}` (admins only). The token is shown once, when the
//! key is made; the store keeps its hash.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use sonde_protocol::ApiError;
use sonde_protocol::api_key::{ApiKey, CreatedApiKey, NewApiKey};

use super::browser_body;
use crate::auth::{API_KEY_PREFIX, AdminUser, now_ms};
use crate::error::AppError;
use crate::state::AppState;
use crate::token::{random_token, token_hash};

/// `GET /api/sites/{site}/api-keys`
#[utoipa::path(get, path = "/api/sites/{site}/api-keys", tag = "account",
    params(("site" = String, Path, description = "The site's key")),
    responses((status = 200, description = "The site's keys, newest first, without their tokens", body = [ApiKey]),
        (status = 403, description = "Not an admin", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError)))]
pub async fn list(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<ApiKey>>, AppError> {
    super::report_query::known_site(&app, &site)?;
    let accounts = app.stores().accounts.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || accounts.api_keys(&site)).await??,
    ))
}

/// `POST /api/sites/{site}/api-keys`: a new key (needs the CSRF token).
#[utoipa::path(post, path = "/api/sites/{site}/api-keys", tag = "account",
    params(("site" = String, Path, description = "The site's key")),
    request_body = NewApiKey,
    responses((status = 201, description = "The key, with its token (shown this once)", body = CreatedApiKey),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "No name, or no scope", body = ApiError)))]
pub async fn create(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    super::report_query::known_site(&app, &site)?;
    let new: NewApiKey = browser_body::read_json(&headers, body).await?;
    new.validate()?;
    let token = format!("{API_KEY_PREFIX}{}", random_token());
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    let key = ApiKey {
        id: random_token()[..16].to_owned(),
        site,
        name: new.name.trim().to_owned(),
        scopes,
        prefix: token[..API_KEY_PREFIX.len() + 6].to_owned(),
        created_by: admin.username,
        created_at: now_ms(),
    };
    let (accounts, stored, hash) = (
        app.stores().accounts.clone(),
        key.clone(),
        token_hash(&token),
    );
    tokio::task::spawn_blocking(move || accounts.create_api_key(&stored, &hash)).await??;
    tracing::info!(site = %key.site, id = %key.id, by = %key.created_by, "API key created");
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, token })))
}

/// `DELETE /api/api-keys/{id}`: revokes a key at once.
#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "account",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked"),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such key", body = ApiError)))]
pub async fn revoke(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let accounts = app.stores().accounts.clone();
    let key = id.clone();
    if !tokio::task::spawn_blocking(move || accounts.revoke_api_key(&key)).await?? {
        return Err(AppError::NotFound(format!("no API key {id:?}")));
    }
    tracing::info!(id = %id, by = %admin.username, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
