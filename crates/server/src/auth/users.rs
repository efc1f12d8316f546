//! People who may sign in: `GET`/`POST /api/users`, `DELETE
//! /api/users/{username}` (admins only), and the first admin.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use sonde_protocol::ApiError;
use sonde_protocol::account::{NewUser, Role, User, check_password, check_username};

use super::{AdminUser, password};
use crate::app::AppState;
use crate::browser_body;
use crate::error::AppError;
use crate::store::{AccountStore, StoreError, StoredUser};

/// The first admin's username.
pub const FIRST_ADMIN: &str = "admin";

/// Stores a person with a checked username and password, hashing the password.
pub fn put(accounts: &dyn AccountStore, user: &NewUser) -> Result<(), AppError> {
    check_username(&user.username).map_err(|message| AppError::InvalidField {
        field: "username".into(),
        message,
    })?;
    check_password(&user.password).map_err(|message| AppError::InvalidField {
        field: "password".into(),
        message,
    })?;
    accounts.put_user(&StoredUser {
        username: user.username.clone(),
        role: user.role,
        password_hash: password::hash(&user.password),
        failed_sign_ins: 0,
        locked_until: None,
    })?;
    Ok(())
}

/// When no one can sign in yet, makes the admin `admin` with a random
/// password and returns the password (to be shown once: only its hash is kept).
pub fn first_admin(accounts: &dyn AccountStore) -> Result<Option<String>, StoreError> {
    if accounts.user_count()? > 0 {
        return Ok(None);
    }
    // 20 hex characters: 80 bits, typed from a terminal without ambiguity.
    let password = super::random_token()[..20].to_owned();
    accounts.put_user(&StoredUser {
        username: FIRST_ADMIN.into(),
        role: Role::Admin,
        password_hash: password::hash(&password),
        failed_sign_ins: 0,
        locked_until: None,
    })?;
    Ok(Some(password))
}

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
    let accounts = app.accounts_handle();
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
        (status = 422, description = "A bad username or too short a password", body = ApiError),
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
    let accounts = app.accounts_handle();
    let stored = User {
        username: user.username.clone(),
        role: user.role,
    };
    tokio::task::spawn_blocking(move || put(accounts.as_ref(), &user)).await??;
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
    let accounts = app.accounts_handle();
    let name = username.clone();
    if !tokio::task::spawn_blocking(move || accounts.remove_user(&name)).await?? {
        return Err(AppError::NotFound(format!("no user {username:?}")));
    }
    tracing::info!(user = %username, by = %admin.username, "user removed");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DuckDbStore;

    #[test]
    fn the_first_admin_is_made_once_and_can_sign_in() {
        let store = DuckDbStore::in_memory().unwrap();
        let password = first_admin(&store).unwrap().expect("no one could sign in");
        let stored = store.user(FIRST_ADMIN).unwrap().unwrap();
        assert_eq!(stored.role, Role::Admin);
        assert!(password::verify(&password, &stored.password_hash));
        assert!(!stored.password_hash.contains(&password));
        assert_eq!(first_admin(&store).unwrap(), None);
    }
}
