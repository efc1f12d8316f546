//! Saved funnels and goals: listed and read by anyone who may read the site,
//! created, changed and deleted by admins. The two differ only in their
//! body, so the handlers are written once over [`Saved`].

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sonde_protocol::funnel::{FunnelDefinition, SavedFunnel};
use sonde_protocol::goal::{Goal, SavedGoal};
use sonde_protocol::{ApiError, Rejection};

use super::browser_body;
use crate::auth::{AdminUser, Reader};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{SavedStore, StoreError};

/// Something a site keeps: its body as people define it, and how it is stored.
pub trait Saved: Serialize + Send + Sized + 'static {
    type Body: DeserializeOwned + Send + 'static;
    /// For messages: "funnel", "goal".
    const WHAT: &'static str;
    fn check(body: &Self::Body) -> Result<(), Rejection>;
    fn new(id: String, site: String, body: Self::Body, updated_at: i64) -> Self;
    fn site(&self) -> &str;
    fn put(store: &dyn SavedStore, item: &Self) -> Result<(), StoreError>;
    fn get(store: &dyn SavedStore, id: &str) -> Result<Option<Self>, StoreError>;
    fn list(store: &dyn SavedStore, site: &str) -> Result<Vec<Self>, StoreError>;
    fn remove(store: &dyn SavedStore, id: &str) -> Result<bool, StoreError>;
}

impl Saved for SavedFunnel {
    type Body = FunnelDefinition;
    const WHAT: &'static str = "funnel";
    fn check(body: &FunnelDefinition) -> Result<(), Rejection> {
        body.validate()?;
        if body.name.trim().is_empty() {
            return Err(Rejection::Empty {
                field: "name".into(),
            });
        }
        Ok(())
    }
    fn new(id: String, site: String, funnel: FunnelDefinition, updated_at: i64) -> Self {
        SavedFunnel {
            id,
            site,
            funnel,
            updated_at,
        }
    }
    fn site(&self) -> &str {
        &self.site
    }
    fn put(store: &dyn SavedStore, item: &Self) -> Result<(), StoreError> {
        store.put_funnel(item)
    }
    fn get(store: &dyn SavedStore, id: &str) -> Result<Option<Self>, StoreError> {
        store.funnel(id)
    }
    fn list(store: &dyn SavedStore, site: &str) -> Result<Vec<Self>, StoreError> {
        store.funnels(site)
    }
    fn remove(store: &dyn SavedStore, id: &str) -> Result<bool, StoreError> {
        store.remove_funnel(id)
    }
}

impl Saved for SavedGoal {
    type Body = Goal;
    const WHAT: &'static str = "goal";
    fn check(body: &Goal) -> Result<(), Rejection> {
        body.validate()
    }
    fn new(id: String, site: String, goal: Goal, updated_at: i64) -> Self {
        SavedGoal {
            id,
            site,
            goal,
            updated_at,
        }
    }
    fn site(&self) -> &str {
        &self.site
    }
    fn put(store: &dyn SavedStore, item: &Self) -> Result<(), StoreError> {
        store.put_goal(item)
    }
    fn get(store: &dyn SavedStore, id: &str) -> Result<Option<Self>, StoreError> {
        store.goal(id)
    }
    fn list(store: &dyn SavedStore, site: &str) -> Result<Vec<Self>, StoreError> {
        store.goals(site)
    }
    fn remove(store: &dyn SavedStore, id: &str) -> Result<bool, StoreError> {
        store.remove_goal(id)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Loads a saved item, refusing one of a site the reader may not read.
pub async fn load<T: Saved>(app: &AppState, reader: &Reader, id: String) -> Result<T, AppError> {
    let item: T = load_any(app, id).await?;
    reader.check_site(item.site())?;
    Ok(item)
}

async fn load_any<T: Saved>(app: &AppState, id: String) -> Result<T, AppError> {
    let store = app.stores().saved.clone();
    let lookup = id.clone();
    tokio::task::spawn_blocking(move || T::get(store.as_ref(), &lookup))
        .await??
        .ok_or_else(|| AppError::NotFound(format!("no {} {id:?}", T::WHAT)))
}

async fn list<T: Saved>(
    app: AppState,
    reader: Reader,
    site: String,
) -> Result<Json<Vec<T>>, AppError> {
    super::report_query::site(&app, &reader, &site)?;
    let store = app.stores().saved.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || T::list(store.as_ref(), &site)).await??,
    ))
}

async fn create<T: Saved>(
    app: AppState,
    site: String,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<T>), AppError> {
    super::report_query::known_site(&app, &site)?;
    let body: T::Body = browser_body::read(&headers, body).await?;
    T::check(&body)?;
    let item = T::new(
        crate::token::random_token()[..16].to_owned(),
        site,
        body,
        now_ms(),
    );
    let store = app.stores().saved.clone();
    let item =
        tokio::task::spawn_blocking(move || T::put(store.as_ref(), &item).map(|()| item)).await??;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn update<T: Saved>(
    app: AppState,
    id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<T>, AppError> {
    let body: T::Body = browser_body::read(&headers, body).await?;
    T::check(&body)?;
    let existing: T = load_any(&app, id.clone()).await?;
    let item = T::new(id, existing.site().to_owned(), body, now_ms());
    let store = app.stores().saved.clone();
    let item =
        tokio::task::spawn_blocking(move || T::put(store.as_ref(), &item).map(|()| item)).await??;
    Ok(Json(item))
}

async fn remove<T: Saved>(app: AppState, id: String) -> Result<StatusCode, AppError> {
    let store = app.stores().saved.clone();
    let lookup = id.clone();
    if !tokio::task::spawn_blocking(move || T::remove(store.as_ref(), &lookup)).await?? {
        return Err(AppError::NotFound(format!("no {} {id:?}", T::WHAT)));
    }
    Ok(StatusCode::NO_CONTENT)
}

// The routes, one annotated function each for the OpenAPI document.

/// `GET /api/sites/{site}/funnels`
#[utoipa::path(get, path = "/api/sites/{site}/funnels", tag = "dashboard",
    params(("site" = String, Path, description = "The site's key")),
    responses((status = 200, description = "The site's saved funnels, by name", body = [SavedFunnel]),
        (status = 401, description = "Not signed in and no share link", body = ApiError)))]
pub async fn list_funnels(
    State(app): State<AppState>,
    reader: Reader,
    Path(site): Path<String>,
) -> Result<Json<Vec<SavedFunnel>>, AppError> {
    list(app, reader, site).await
}

/// `GET /api/funnels/{id}`
#[utoipa::path(get, path = "/api/funnels/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The funnel's id")),
    responses((status = 200, description = "The saved funnel", body = SavedFunnel),
        (status = 404, description = "No such funnel", body = ApiError)))]
pub async fn get_funnel(
    State(app): State<AppState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<SavedFunnel>, AppError> {
    load(&app, &reader, id).await.map(Json)
}

/// `POST /api/sites/{site}/funnels` (admins)
#[utoipa::path(post, path = "/api/sites/{site}/funnels", tag = "dashboard",
    params(("site" = String, Path, description = "The site's key")), request_body = FunnelDefinition,
    responses((status = 201, description = "Saved", body = SavedFunnel),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 422, description = "A bad funnel (which field, which rule)", body = ApiError)))]
pub async fn create_funnel(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SavedFunnel>), AppError> {
    create(app, site, headers, body).await
}

/// `PUT /api/funnels/{id}` (admins)
#[utoipa::path(put, path = "/api/funnels/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The funnel's id")), request_body = FunnelDefinition,
    responses((status = 200, description = "Changed", body = SavedFunnel),
        (status = 404, description = "No such funnel", body = ApiError)))]
pub async fn update_funnel(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SavedFunnel>, AppError> {
    update(app, id, headers, body).await
}

/// `DELETE /api/funnels/{id}` (admins)
#[utoipa::path(delete, path = "/api/funnels/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The funnel's id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such funnel", body = ApiError)))]
pub async fn delete_funnel(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    remove::<SavedFunnel>(app, id).await
}

/// `GET /api/sites/{site}/goals`
#[utoipa::path(get, path = "/api/sites/{site}/goals", tag = "dashboard",
    params(("site" = String, Path, description = "The site's key")),
    responses((status = 200, description = "The site's goals, by name", body = [SavedGoal]),
        (status = 401, description = "Not signed in and no share link", body = ApiError)))]
pub async fn list_goals(
    State(app): State<AppState>,
    reader: Reader,
    Path(site): Path<String>,
) -> Result<Json<Vec<SavedGoal>>, AppError> {
    list(app, reader, site).await
}

/// `POST /api/sites/{site}/goals` (admins)
#[utoipa::path(post, path = "/api/sites/{site}/goals", tag = "dashboard",
    params(("site" = String, Path, description = "The site's key")), request_body = Goal,
    responses((status = 201, description = "Saved", body = SavedGoal),
        (status = 422, description = "A bad goal", body = ApiError)))]
pub async fn create_goal(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SavedGoal>), AppError> {
    create(app, site, headers, body).await
}

/// `PUT /api/goals/{id}` (admins)
#[utoipa::path(put, path = "/api/goals/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The goal's id")), request_body = Goal,
    responses((status = 200, description = "Changed", body = SavedGoal),
        (status = 404, description = "No such goal", body = ApiError)))]
pub async fn update_goal(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SavedGoal>, AppError> {
    update(app, id, headers, body).await
}

/// `DELETE /api/goals/{id}` (admins)
#[utoipa::path(delete, path = "/api/goals/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The goal's id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such goal", body = ApiError)))]
pub async fn delete_goal(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    remove::<SavedGoal>(app, id).await
}
