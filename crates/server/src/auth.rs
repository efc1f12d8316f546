//! Who may read the dashboard, and who may change what it keeps.
//!
//! - People sign in with a username and password ([`crate::http::session`]); the password
//!   is kept as an argon2id hash ([`password`]). A sign-in starts a session:
//!   a random token in an `HttpOnly`, `SameSite=Strict` cookie, kept in the
//!   store as its blake3 hash. Five failed sign-ins in a row lock the
//!   account for fifteen minutes.
//! - Every request that changes something carries the session's CSRF token
//!   in `X-CSRF-Token` (the dashboard reads it from `GET /api/session`); a
//!   cross-site form or script cannot read it, and the strict cookie is not
//!   sent cross-site either. Signing in takes only `application/json`, which
//!   another site's form cannot send, so no one is signed into an account of
//!   another site's choosing.
//! - An admin creates read-only share links, one site each ([`crate::http::share_links`]);
//!   the dashboard sends the link's token in `X-Sonde-Share`.
//! - An admin creates site API keys ([`crate::http::api_keys`]) for scripts
//!   and pipelines, sent as `Authorization: Bearer <token>`: a key with
//!   the `stats` scope reads as a share link does ([`Reader::Key`]), one
//!   with `annotations` may add annotations ([`Annotator`]).
//! - The first admin is made by `sonde user put` or, when no one can sign
//!   in yet, at start with a password printed once ([`accounts::first_admin`]).
//!
//! Handlers say what they need by their extractors: [`Reader`] to read a
//! site's data, [`SignedIn`] for a person, [`AdminUser`] for an admin,
//! [`Annotator`] to add an annotation.

pub mod accounts;
pub mod password;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use sonde_protocol::account::{Role, User};
use sonde_protocol::api_key::{ApiKey, ApiKeyScope};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;
use crate::token::token_hash;

/// The session cookie.
pub const SESSION_COOKIE: &str = "sonde_session";
/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header carrying a share link's token.
pub const SHARE_HEADER: &str = "x-sonde-share";

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What every API key's token begins with, so a leaked one is recognised
/// (secret scanners look for such prefixes).
pub const API_KEY_PREFIX: &str = "sonde_";

/// The bearer token of `Authorization`, if the request has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The API key the request is sent with, if any: refused when revoked or
/// unknown, and when it may not do `scope`.
async fn api_key(
    parts: &Parts,
    app: &AppState,
    scope: ApiKeyScope,
) -> Result<Option<ApiKey>, AppError> {
    let Some(token) = bearer(&parts.headers) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let accounts = app.stores().accounts.clone();
    let key = tokio::task::spawn_blocking(move || accounts.api_key(&hash))
        .await??
        .ok_or(AppError::ApiKeyInvalid)?;
    if !key.may(scope) {
        return Err(AppError::ApiKeyScope(scope.label()));
    }
    Ok(Some(key))
}

/// The session token in the request's cookie.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// A signed-in person. On a request that may change something (any method
/// but GET and HEAD), the CSRF token has been checked.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub csrf_token: String,
    /// The stored form of the session's token, to end it.
    pub(crate) token_hash: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let token = session_token(&parts.headers).ok_or(AppError::SignInRequired)?;
        let hash = token_hash(token);
        let accounts = app.stores().accounts.clone();
        let lookup = hash.clone();
        let session = tokio::task::spawn_blocking(move || accounts.session(&lookup, now_ms()))
            .await??
            .ok_or(AppError::SignInRequired)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(given.ct_eq(session.csrf_token.as_bytes())) {
                return Err(AppError::CsrfRefused);
            }
        }
        Ok(SignedIn {
            user: session.user,
            csrf_token: session.csrf_token,
            token_hash: hash,
        })
    }
}

impl SignedIn {
    /// Refuses a viewer limited to other sites.
    pub fn check_site(&self, site: &str) -> Result<(), AppError> {
        if self.user.may_read(site) {
            Ok(())
        } else {
            Err(AppError::SiteNotAllowed(site.to_owned()))
        }
    }
}

/// A signed-in admin (CSRF checked as for [`SignedIn`]).
#[derive(Clone, Debug)]
pub struct AdminUser(pub User);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let signed_in = SignedIn::from_request_parts(parts, app).await?;
        match signed_in.user.role {
            Role::Admin => Ok(AdminUser(signed_in.user)),
            Role::Viewer => Err(AppError::AdminOnly),
        }
    }
}

/// Someone who may read dashboards: a signed-in person (every site, or a
/// viewer's own), a share link or an API key with the `stats` scope (its
/// site only).
/// Reading changes nothing, so it needs no CSRF token.
#[derive(Clone, Debug)]
pub enum Reader {
    User(User),
    Share { site: String },
    Key { site: String },
}

impl Reader {
    /// Refuses a share link or a key for another site, and a viewer
    /// limited to other sites.
    pub fn check_site(&self, site: &str) -> Result<(), AppError> {
        match self {
            Reader::User(user) if !user.may_read(site) => {
                Err(AppError::SiteNotAllowed(site.to_owned()))
            }
            Reader::Share { site: shared } if shared != site => {
                Err(AppError::NotShared(site.to_owned()))
            }
            Reader::Key { site: own } if own != site => {
                Err(AppError::KeyForOtherSite(site.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// Whether the reader may see `site` at all.
    pub fn may_read(&self, site: &str) -> bool {
        self.check_site(site).is_ok()
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        if let Some(token) = parts.headers.get(SHARE_HEADER) {
            let hash = token_hash(token.to_str().unwrap_or_default());
            let accounts = app.stores().accounts.clone();
            let link = tokio::task::spawn_blocking(move || accounts.share_link(&hash))
                .await??
                .ok_or(AppError::ShareLinkInvalid)?;
            return Ok(Reader::Share { site: link.site });
        }
        if let Some(key) = api_key(parts, app, ApiKeyScope::Stats).await? {
            return Ok(Reader::Key { site: key.site });
        }
        // Reading needs no CSRF token, whatever the method (a funnel is a
        // POST); look the session up as a GET would.
        let method = std::mem::replace(&mut parts.method, Method::GET);
        let signed_in = SignedIn::from_request_parts(parts, app).await;
        parts.method = method;
        Ok(Reader::User(signed_in?.user))
    }
}

/// Who may add an annotation: an admin (CSRF checked as for
/// [`SignedIn`]), or an API key with the `annotations` scope, for its site.
#[derive(Clone, Debug)]
pub enum Annotator {
    Admin(User),
    Key(ApiKey),
}

impl Annotator {
    /// Refuses a key for another site.
    pub fn check_site(&self, site: &str) -> Result<(), AppError> {
        match self {
            Annotator::Key(key) if key.site != site => {
                Err(AppError::KeyForOtherSite(site.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// How the annotation says who added it.
    pub fn name(&self) -> String {
        match self {
            Annotator::Admin(user) => user.username.clone(),
            Annotator::Key(key) => format!("API key {}", key.name),
        }
    }
}

impl FromRequestParts<AppState> for Annotator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        if let Some(key) = api_key(parts, app, ApiKeyScope::Annotations).await? {
            return Ok(Annotator::Key(key));
        }
        let AdminUser(user) = AdminUser::from_request_parts(parts, app).await?;
        Ok(Annotator::Admin(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_token_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; sonde_session=abc"),
        );
        assert_eq!(session_token(&headers), Some("abc"));
        headers.clear();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("sonde_sessionx=abc"),
        );
        assert_eq!(session_token(&headers), None);
    }

    #[test]
    fn a_share_link_reads_its_own_site_only() {
        let reader = Reader::Share {
            site: "shop".into(),
        };
        assert!(reader.may_read("shop"));
        assert!(!reader.may_read("blog"));
        let person = Reader::User(User {
            username: "ada".into(),
            role: Role::Viewer,
            sites: None,
        });
        assert!(person.may_read("blog"));
        let limited = Reader::User(User {
            username: "vera".into(),
            role: Role::Viewer,
            sites: Some(vec!["shop".into()]),
        });
        assert!(limited.may_read("shop"));
        assert!(matches!(
            limited.check_site("blog"),
            Err(AppError::SiteNotAllowed(site)) if site == "blog"
        ));
        let key = Reader::Key {
            site: "shop".into(),
        };
        assert!(key.may_read("shop"));
        assert!(!key.may_read("blog"));
    }

    #[test]
    fn an_api_key_comes_as_a_bearer_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sonde_abc"),
        );
        assert_eq!(bearer(&headers), Some("sonde_abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eA=="),
        );
        assert_eq!(bearer(&headers), None);
    }
}
