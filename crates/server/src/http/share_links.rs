//! Read-only share links, one site each: `GET`/`POST
//! /api/sites/{site}/share-links` and `DELETE /api/share-links/{id}` (admins
//! only). The token is shown once, when the link is made.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sonde_protocol::ApiError;
use sonde_protocol::account::{NewShareLink, ShareLink};

use crate::auth::{AdminUser, now_ms};
use crate::error::AppError;
use crate::state::AppState;
use crate::token::{random_token, token_hash};

/// `GET /api/sites/{site}/share-links`
#[utoipa::path(
    get,
    path = "/api/sites/{site}/share-links",
    tag = "account",
    params(("site" = String, Path, description = "The site's key")),
    responses(
        (status = 200, description = "The site's links that are not revoked, newest first", body = [ShareLink]),
        (status = 403, description = "Not an admin", body = ApiError),
    )
)]
pub async fn list(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<ShareLink>>, AppError> {
    super::report_query::known_site(&app, &site)?;
    let accounts = app.stores().accounts.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || accounts.share_links(&site)).await??,
    ))
}

/// `POST /api/sites/{site}/share-links`: a new link (needs the CSRF token).
#[utoipa::path(
    post,
    path = "/api/sites/{site}/share-links",
    tag = "account",
    params(("site" = String, Path, description = "The site's key")),
    responses(
        (status = 201, description = "The link, with its token (shown this once)", body = NewShareLink),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
    )
)]
pub async fn create(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
) -> Result<(StatusCode, Json<NewShareLink>), AppError> {
    super::report_query::known_site(&app, &site)?;
    let token = random_token();
    let link = ShareLink {
        id: random_token()[..16].to_owned(),
        site,
        created_by: admin.username,
        created_at: now_ms(),
    };
    let (accounts, stored, hash) = (
        app.stores().accounts.clone(),
        link.clone(),
        token_hash(&token),
    );
    tokio::task::spawn_blocking(move || accounts.create_share_link(&stored, &hash)).await??;
    tracing::info!(site = %link.site, id = %link.id, by = %link.created_by, "share link created");
    Ok((
        StatusCode::CREATED,
        Json(NewShareLink {
            path: format!("/?share={token}"),
            link,
            token,
        }),
    ))
}

/// `DELETE /api/share-links/{id}`: revokes a link at once.
#[utoipa::path(
    delete,
    path = "/api/share-links/{id}",
    tag = "account",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such link", body = ApiError),
    )
)]
pub async fn revoke(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let accounts = app.stores().accounts.clone();
    let link = id.clone();
    if !tokio::task::spawn_blocking(move || accounts.revoke_share_link(&link)).await?? {
        return Err(AppError::NotFound(format!("no share link {id:?}")));
    }
    tracing::info!(id = %id, by = %admin.username, "share link revoked");
    Ok(StatusCode::NO_CONTENT)
}
