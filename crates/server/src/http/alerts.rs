//! Alert rules and their history: listed for anyone signed in (support
//! reads the history; rules name internal addresses, so not for share
//! links), made, changed and removed by admins, who alone see a rule's
//! webhook secret.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use sonde_protocol::ApiError;
use sonde_protocol::account::Role;
use sonde_protocol::alert::{AlertFiring, AlertRule, FiringsQuery, SavedAlertRule};

use super::browser_body;
use crate::auth::{AdminUser, SignedIn, now_ms};
use crate::error::AppError;
use crate::state::AppState;
use crate::token::random_token;

/// Default and largest number of firings one request lists.
const FIRINGS: u32 = 100;
const MAX_FIRINGS: u32 = 1000;

fn without_secret(mut rule: SavedAlertRule, role: Role) -> SavedAlertRule {
    if role != Role::Admin {
        rule.secret = None;
    }
    rule
}

async fn load(app: &AppState, id: String) -> Result<SavedAlertRule, AppError> {
    let alerts = app.stores().alerts.clone();
    let lookup = id.clone();
    tokio::task::spawn_blocking(move || alerts.alert_rule(&lookup))
        .await??
        .ok_or_else(|| AppError::NotFound(format!("no alert rule {id:?}")))
}

async fn put(app: &AppState, rule: SavedAlertRule) -> Result<SavedAlertRule, AppError> {
    let alerts = app.stores().alerts.clone();
    Ok(tokio::task::spawn_blocking(move || alerts.put_alert_rule(&rule).map(|()| rule)).await??)
}

/// `GET /api/sites/{site}/alerts`
#[utoipa::path(get, path = "/api/sites/{site}/alerts", tag = "alerts",
    params(("site" = String, Path, description = "The site's key")),
    responses((status = 200, description = "The site's alert rules, by name (the secret only for admins)", body = [SavedAlertRule]),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError)))]
pub async fn list(
    signed_in: SignedIn,
    State(app): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<SavedAlertRule>>, AppError> {
    signed_in.check_site(&site)?;
    super::report_query::known_site(&app, &site)?;
    let alerts = app.stores().alerts.clone();
    let rules = tokio::task::spawn_blocking(move || alerts.alert_rules(&site)).await??;
    let role = signed_in.user.role;
    Ok(Json(
        rules.into_iter().map(|r| without_secret(r, role)).collect(),
    ))
}

/// `POST /api/sites/{site}/alerts`: a new rule, with a new secret.
#[utoipa::path(post, path = "/api/sites/{site}/alerts", tag = "alerts",
    params(("site" = String, Path, description = "The site's key")),
    request_body = AlertRule,
    responses((status = 201, description = "The rule, with the secret its webhooks are signed with", body = SavedAlertRule),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "What is wrong with the rule", body = ApiError)))]
pub async fn create(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SavedAlertRule>), AppError> {
    super::report_query::known_site(&app, &site)?;
    let rule: AlertRule = browser_body::read(&headers, body).await?;
    rule.validate()?;
    let saved = SavedAlertRule {
        id: random_token()[..16].to_owned(),
        site,
        rule,
        secret: Some(random_token()),
        updated_at: now_ms(),
    };
    let saved = put(&app, saved).await?;
    tracing::info!(site = %saved.site, id = %saved.id, "alert rule created");
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `PUT /api/alerts/{id}`: changes a rule (its secret stays).
#[utoipa::path(put, path = "/api/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The rule's id")),
    request_body = AlertRule,
    responses((status = 200, description = "The rule as changed", body = SavedAlertRule),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such rule", body = ApiError),
        (status = 422, description = "What is wrong with the rule", body = ApiError)))]
pub async fn update(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SavedAlertRule>, AppError> {
    let rule: AlertRule = browser_body::read(&headers, body).await?;
    rule.validate()?;
    let mut saved = load(&app, id).await?;
    saved.rule = rule;
    saved.updated_at = now_ms();
    Ok(Json(put(&app, saved).await?))
}

/// `DELETE /api/alerts/{id}`: removes a rule; its open firings are closed
/// without a message, and its history stays.
#[utoipa::path(delete, path = "/api/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The rule's id")),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such rule", body = ApiError)))]
pub async fn remove(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let alerts = app.stores().alerts.clone();
    let lookup = id.clone();
    let removed = tokio::task::spawn_blocking(move || -> Result<bool, crate::store::StoreError> {
        let now = now_ms();
        for mut firing in alerts.open_firings(&lookup)? {
            firing.resolved_at = Some(now);
            for d in firing.deliveries.iter_mut().filter(|d| d.pending()) {
                d.abandoned = true;
                d.error = Some("the rule was removed".into());
            }
            alerts.put_firing(&firing)?;
        }
        alerts.remove_alert_rule(&lookup)
    })
    .await??;
    if !removed {
        return Err(AppError::NotFound(format!("no alert rule {id:?}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sites/{site}/alerts/firings`
#[utoipa::path(get, path = "/api/sites/{site}/alerts/firings", tag = "alerts",
    params(("site" = String, Path, description = "The site's key"), FiringsQuery),
    responses((status = 200, description = "The site's firings, the newest first, with their evidence and deliveries", body = [AlertFiring]),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError)))]
pub async fn firings(
    signed_in: SignedIn,
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<FiringsQuery>,
) -> Result<Json<Vec<AlertFiring>>, AppError> {
    signed_in.check_site(&site)?;
    super::report_query::known_site(&app, &site)?;
    let limit = q.limit.unwrap_or(FIRINGS).clamp(1, MAX_FIRINGS);
    let alerts = app.stores().alerts.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || alerts.firings(&site, limit)).await??,
    ))
}
