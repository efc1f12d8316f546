//! Signing in and out: `POST`, `GET` and `DELETE /api/session`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sonde_protocol::ApiError;
use sonde_protocol::account::{Principal, SignIn};

use super::browser_body;
use super::delivery::Client;
use crate::auth::accounts::{SESSION_MS, after_failure};
use crate::auth::{Reader, SESSION_COOKIE, SHARE_HEADER, SignedIn, now_ms, password};
use crate::error::AppError;
use crate::state::AppState;
use crate::token::{random_token, token_hash};

/// `POST /api/session`: signs in with a username and password.
#[utoipa::path(
    post,
    path = "/api/session",
    tag = "account",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in: the session cookie is set; the body has the CSRF token", body = Principal),
        (status = 401, description = "Wrong username or password", body = ApiError),
        (status = 415, description = "Not sent as application/json (as a form on another site would send it)", body = ApiError),
        (status = 429, description = "Locked after repeated failures, or too many attempts from this client (Retry-After says for how long)", body = ApiError),
    )
)]
pub async fn sign_in(
    State(app): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    // Per client as well as per account: the lockout alone would let one
    // client try a password on every account.
    app.rate_limits()
        .check_sign_in(client.key)
        .map_err(AppError::RateLimited)?;
    let SignIn { username, password } = browser_body::read_json(&headers, body).await?;
    let accounts = app.stores().accounts.clone();
    let (user, csrf_token, token) = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let Some(stored) = accounts.user(&username)? else {
            password::verify_nothing(&password);
            return Err(AppError::WrongCredentials);
        };
        if let Some(until) = stored.locked_until.filter(|&until| until > now) {
            return Err(AppError::LockedOut(ms(until - now)));
        }
        if !password::verify(&password, &stored.password_hash) {
            let (failed, lock) = after_failure(stored.failed_sign_ins, stored.locked_until, now);
            accounts.set_failed_sign_ins(&username, failed, lock)?;
            tracing::warn!(user = %username, failed, locked = lock.is_some(), "failed sign-in");
            return Err(match lock {
                Some(until) => AppError::LockedOut(ms(until - now)),
                None => AppError::WrongCredentials,
            });
        }
        if stored.failed_sign_ins > 0 || stored.locked_until.is_some() {
            accounts.set_failed_sign_ins(&username, 0, None)?;
        }
        let (token, csrf_token) = (random_token(), random_token());
        accounts.create_session(
            &token_hash(&token),
            &username,
            &csrf_token,
            now + SESSION_MS,
        )?;
        tracing::info!(user = %username, "signed in");
        Ok((stored.user(), csrf_token, token))
    })
    .await??;
    let cookie = session_cookie(&token, SESSION_MS / 1000, secure(&headers));
    let principal = Principal::User {
        username: user.username,
        role: user.role,
        csrf_token,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(principal)).into_response())
}

/// `GET /api/session`: who the dashboard is talking to.
#[utoipa::path(
    get,
    path = "/api/session",
    tag = "account",
    responses(
        (status = 200, description = "The signed-in person (with the CSRF token) or the share link's site", body = Principal),
        (status = 401, description = "Not signed in, or the share link was revoked", body = ApiError),
    )
)]
pub async fn current(
    State(app): State<AppState>,
    mut parts: axum::http::request::Parts,
) -> Result<Json<Principal>, AppError> {
    use axum::extract::FromRequestParts;
    if parts.headers.contains_key(SHARE_HEADER)
        && let Reader::Share { site } = Reader::from_request_parts(&mut parts, &app).await?
    {
        return Ok(Json(Principal::Share { site }));
    }
    let signed_in = SignedIn::from_request_parts(&mut parts, &app).await?;
    Ok(Json(Principal::User {
        username: signed_in.user.username,
        role: signed_in.user.role,
        csrf_token: signed_in.csrf_token,
    }))
}

/// `DELETE /api/session`: signs out (needs the CSRF token).
#[utoipa::path(
    delete,
    path = "/api/session",
    tag = "account",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = ApiError),
    )
)]
pub async fn sign_out(
    State(app): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let accounts = app.stores().accounts.clone();
    let hash = signed_in.token_hash.clone();
    tokio::task::spawn_blocking(move || accounts.end_session(&hash)).await??;
    let cookie = session_cookie("", 0, secure(&headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

fn ms(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(ms.max(0) as u64)
}

/// The session cookie: unreadable by scripts, never sent cross-site, and
/// over HTTPS only unless the dashboard is on this machine (browsers keep a
/// `Secure` cookie from plain HTTP on `localhost` only).
fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a token is hex")
}

/// Whether the request came to a host other than this machine's loopback.
fn secure(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let loopback = name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        let host = |h: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static(h));
            secure(&headers)
        };
        assert!(!host("127.0.0.1:8080"));
        assert!(!host("localhost:3000"));
        assert!(!host("[::1]:80"));
        assert!(host("sonde.example.com"));
        assert!(host("10.0.0.5:8080"));
        let cookie = session_cookie("abc", 60, true);
        let cookie = cookie.to_str().unwrap();
        for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
    }
}
