//! People who may sign in: `GET`/`POST /api/users`, `DELETE
//! /api/users/{username}` (admins only).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use sonde_protocol::ApiError;
use sonde_protocol::account::{NewUser, Role, User};

use super::browser_body;
use crate::auth::AdminUser;
use crate::auth::accounts::put;
use crate::error::AppError;
use crate::state::AppState;

/// `GET /api/users`
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "account",
    responses(
        (status = 200, description = "Everyone who may sign in", body = [User]),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "Not an admin", body = ApiError),
    )
)]
pub async fn list(_: AdminUser, State(app): State<AppState>) -> Result<Json<Vec<User>>, AppError> {
    let accounts = app.stores().accounts.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || accounts.users()).await??,
    ))
}

/// `POST /api/users`: adds a person, or sets their password and role (which
/// ends their sessions when the password changed).
#[utoipa::path(
    post,
    path = "/api/users",
    tag = "account",
    request_body = NewUser,
    responses(
        (status = 200, description = "The person as stored", body = User),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 422, description = "A bad username, too short a password, or sites that are unknown or given for an admin", body = ApiError),
    )
)]
pub async fn put_user(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<User>, AppError> {
    let user: NewUser = browser_body::read(&headers, body).await?;
    if user.username == admin.username && user.role != Role::Admin {
        return Err(AppError::InvalidField {
            field: "role".into(),
            message: "you cannot take your own admin role; another admin can".into(),
        });
    }
    let accounts = app.stores().accounts.clone();
    let stored = User {
        username: user.username.clone(),
        role: user.role,
        sites: user.sites.clone(),
    };
    let sites = app.sites().clone();
    tokio::task::spawn_blocking(move || {
        put(accounts.as_ref(), &user, |site| sites.get(site).is_some())
    })
    .await??;
    tracing::info!(user = %stored.username, role = stored.role.as_str(), by = %admin.username, "user saved");
    Ok(Json(stored))
}

/// `DELETE /api/users/{username}`
#[utoipa::path(
    delete,
    path = "/api/users/{username}",
    tag = "account",
    params(("username" = String, Path, description = "Who to remove")),
    responses(
        (status = 204, description = "Removed; their sessions ended"),
        (status = 404, description = "No such person", body = ApiError),
        (status = 422, description = "An admin cannot remove themselves", body = ApiError),
    )
)]
pub async fn remove(
    AdminUser(admin): AdminUser,
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    if username == admin.username {
        return Err(AppError::InvalidField {
            field: "username".into(),
            message: "you cannot remove yourself; another admin can".into(),
        });
    }
    let accounts = app.stores().accounts.clone();
    let name = username.clone();
    if !tokio::task::spawn_blocking(move || accounts.remove_user(&name)).await?? {
        return Err(AppError::NotFound(format!("no user {username:?}")));
    }
    tracing::info!(user = %username, by = %admin.username, "user removed");
    Ok(StatusCode::NO_CONTENT)
}
