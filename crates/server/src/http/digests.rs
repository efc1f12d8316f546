//! Digest subscriptions: listed, made and removed by admins (they hold
//! people's addresses), sent on demand; and the page behind the link in
//! each digest, which unsubscribes its holder without signing in.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use maud::{Markup, html};
use sonde_protocol::ApiError;
use sonde_protocol::digest::{DigestSubscription, SavedDigest, UnsubscribeQuery};
use subtle::ConstantTimeEq;

use super::browser_body;
use crate::auth::{AdminUser, now_ms};
use crate::digests::{self, last_complete};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::digests::StoredDigest;
use crate::token::random_token;

async fn load(app: &AppState, id: String) -> Result<StoredDigest, AppError> {
    let store = app.stores().digests.clone();
    let lookup = id.clone();
    tokio::task::spawn_blocking(move || store.digest(&lookup))
        .await??
        .ok_or_else(|| AppError::NotFound(format!("no digest subscription {id:?}")))
}

/// `GET /api/sites/{site}/digests`
#[utoipa::path(get, path = "/api/sites/{site}/digests", tag = "digests",
    params(("site" = String, Path, description = "The site's key")),
    responses((status = 200, description = "Who gets the site's digest, by address", body = [SavedDigest]),
        (status = 403, description = "Not an admin", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError)))]
pub async fn list(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Vec<SavedDigest>>, AppError> {
    super::report_query::known_site(&app, &site)?;
    let store = app.stores().digests.clone();
    let digests = tokio::task::spawn_blocking(move || store.digests(&site)).await??;
    Ok(Json(digests.into_iter().map(|d| d.digest).collect()))
}

/// `POST /api/sites/{site}/digests`: subscribes someone; an address
/// already subscribed to the site gets the new frequency instead.
#[utoipa::path(post, path = "/api/sites/{site}/digests", tag = "digests",
    params(("site" = String, Path, description = "The site's key")),
    request_body = DigestSubscription,
    responses((status = 201, description = "The subscription; the first digest goes out in the next round", body = SavedDigest),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "Unknown site", body = ApiError),
        (status = 422, description = "Not an e-mail address", body = ApiError)))]
pub async fn create(
    _: AdminUser,
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SavedDigest>), AppError> {
    super::report_query::known_site(&app, &site)?;
    let wanted: DigestSubscription = browser_body::read(&headers, body).await?;
    wanted.validate()?;
    let email = wanted.email.trim().to_owned();
    let store = app.stores().digests.clone();
    let saved = tokio::task::spawn_blocking(move || -> Result<_, AppError> {
        let existing = store
            .digests(&site)?
            .into_iter()
            .find(|d| d.digest.email.eq_ignore_ascii_case(&email));
        let digest = match existing {
            Some(mut d) => {
                d.digest.frequency = wanted.frequency;
                d
            }
            None => StoredDigest {
                digest: SavedDigest {
                    id: random_token()[..16].to_owned(),
                    site,
                    email,
                    frequency: wanted.frequency,
                    created_at: now_ms(),
                    last_period: None,
                    last_sent_at: None,
                    last_error: None,
                },
                token: random_token(),
            },
        };
        store.put_digest(&digest)?;
        Ok(digest.digest)
    })
    .await??;
    tracing::info!(site = %saved.site, id = %saved.id, "digest subscription made");
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `DELETE /api/digests/{id}`
#[utoipa::path(delete, path = "/api/digests/{id}", tag = "digests",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such subscription", body = ApiError)))]
pub async fn remove(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let store = app.stores().digests.clone();
    let lookup = id.clone();
    if !tokio::task::spawn_blocking(move || store.remove_digest(&lookup)).await?? {
        return Err(AppError::NotFound(format!("no digest subscription {id:?}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/digests/{id}/send`: sends the last complete period now.
#[utoipa::path(post, path = "/api/digests/{id}/send", tag = "digests",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, description = "Sent: the subscription with its period and time", body = SavedDigest),
        (status = 403, description = "Not an admin, or no CSRF token", body = ApiError),
        (status = 404, description = "No such subscription", body = ApiError),
        (status = 502, description = "The mail server refused it, or none is configured", body = ApiError)))]
pub async fn send(
    _: AdminUser,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedDigest>, AppError> {
    let digest = load(&app, id).await?;
    let site = super::report_query::known_site(&app, &digest.digest.site)?;
    let now = now_ms();
    let period = last_complete(digest.digest.frequency, now, site.timezone)
        .ok_or_else(|| AppError::NotFound("no complete period before now".into()))?;
    let sent = digests::send(app.stores(), &site, digest, &period, app.postbox(), now).await?;
    Ok(Json(sent.digest))
}

/// The subscription a link's token names.
async fn by_token(app: &AppState, token: String) -> Result<Option<StoredDigest>, AppError> {
    let store = app.stores().digests.clone();
    Ok(tokio::task::spawn_blocking(move || {
        store.all_digests().map(|all| {
            all.into_iter()
                .find(|d| bool::from(d.token.as_bytes().ct_eq(token.as_bytes())))
        })
    })
    .await??)
}

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex";
                    title { (title) " · Sonde" }
                }
                body style="font-family:system-ui,sans-serif;color:#0f172a;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;" {
                    h1 style="font-size:1.4rem;" { (title) }
                    (body)
                }
            }
        }
        .into_string(),
    )
}

fn gone() -> (StatusCode, Html<String>) {
    (
        StatusCode::NOT_FOUND,
        page(
            "This link no longer works",
            html! { p { "It was used already, or an admin removed the subscription: no more digests go to this address from it." } },
        ),
    )
}

/// `GET /digests/unsubscribe?token=…`: asks before unsubscribing, since
/// mail scanners open links.
pub async fn unsubscribe_page(
    State(app): State<AppState>,
    Query(q): Query<UnsubscribeQuery>,
) -> Result<(StatusCode, Html<String>), AppError> {
    let Some(digest) = by_token(&app, q.token.clone()).await? else {
        return Ok(gone());
    };
    let d = &digest.digest;
    let site = app
        .sites()
        .get(&d.site)
        .map_or(d.site.clone(), |s| s.name().to_owned());
    let action = format!("/digests/unsubscribe?token={}", q.token);
    Ok((
        StatusCode::OK,
        page(
            "Unsubscribe from this digest?",
            html! {
                p { (d.email) " gets the " (d.frequency.label()) " digest of " strong { (site) } "." }
                form method="post" action=(action) {
                    button type="submit" style="font:inherit;padding:0.5rem 1rem;border-radius:6px;border:0;background:#2563eb;color:#fff;cursor:pointer;" {
                        "Unsubscribe"
                    }
                }
            },
        ),
    ))
}

/// `POST /digests/unsubscribe?token=…`: from the page's button, or from a
/// mail client's own (RFC 8058: `List-Unsubscribe=One-Click`).
pub async fn unsubscribe(
    State(app): State<AppState>,
    Query(q): Query<UnsubscribeQuery>,
) -> Result<(StatusCode, Html<String>), AppError> {
    let Some(digest) = by_token(&app, q.token).await? else {
        return Ok(gone());
    };
    let store = app.stores().digests.clone();
    let id = digest.digest.id.clone();
    tokio::task::spawn_blocking(move || store.remove_digest(&id)).await??;
    tracing::info!(site = %digest.digest.site, id = %digest.digest.id, "digest unsubscribed by its link");
    Ok((
        StatusCode::OK,
        page(
            "You are unsubscribed",
            html! { p { (digest.digest.email) " gets no more " (digest.digest.frequency.label()) " digests of this site. An admin can subscribe you again." } },
        ),
    ))
}
