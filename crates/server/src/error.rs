//! The one place errors become HTTP responses.
//!
//! Policy: every error a client can cause gets a 4xx with an
//! [`ApiError`] body naming the problem (and the field, when there is one), so
//! the caller can fix the request. Internal failures get a 500 with a generic
//! message; their details go to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sonde_protocol::limits::MAX_BODY_BYTES;
use sonde_protocol::{ApiError, Rejection};

use crate::store::StoreError;
use crate::writer::WriteError;

impl From<WriteError> for AppError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Busy | WriteError::Stopped => AppError::Busy,
            WriteError::Store(e) => AppError::Store(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("cannot read the request body")]
    BodyUnreadable,
    #[error("content type {0:?} is not accepted; send application/json")]
    UnsupportedContentType(String),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("unknown site {0:?}")]
    UnknownSite(String),
    #[error("origin {origin} may not send events for site {site:?}")]
    OriginNotAllowed { origin: String, site: String },
    #[error("{message}")]
    BadQuery {
        field: Option<String>,
        message: String,
    },
    #[error("no such API route")]
    NoRoute,
    #[error("the admin API is off; start Sonde with --admin-token (or SONDE_ADMIN_TOKEN)")]
    AdminOff,
    #[error("the admin API needs the admin token: Authorization: Bearer <token>")]
    NotAuthorized,
    #[error("sign in to read the dashboard, or open a share link")]
    SignInRequired,
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("too many failed sign-ins; this account is locked for {} more minutes", retry_after_secs(*.0).div_ceil(60))]
    LockedOut(std::time::Duration),
    #[error("missing or wrong X-CSRF-Token header; reload the dashboard and try again")]
    CsrfRefused,
    #[error("only an admin may do this")]
    AdminOnly,
    #[error("this share link was revoked, or never existed")]
    ShareLinkInvalid,
    #[error("this share link is for another site than {0:?}")]
    NotShared(String),
    #[error("you may not read {0:?}; an admin can add it to your sites")]
    SiteNotAllowed(String),
    #[error("this API key was revoked, or never existed")]
    ApiKeyInvalid,
    #[error("this API key may not {0}; an admin can make one that may")]
    ApiKeyScope(&'static str),
    #[error("this API key is for another site than {0:?}")]
    KeyForOtherSite(String),
    #[error(
        "a share link shows the reports, not raw events; sign in, or use an API key with the stats scope"
    )]
    RawEventsNotShared,
    #[error("{0}")]
    NotFound(String),
    #[error("the server is busy; try again in a second")]
    Busy,
    #[error("too many requests; try again in {} s", retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    #[error("the e-mail was not sent: {0}")]
    MailNotSent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot rotate the daily salt: {0}")]
    Salt(std::io::Error),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The server was started without the connections' addresses (a
    /// router served without `into_make_service_with_connect_info`).
    #[error("the connection's address is unknown")]
    NoPeerAddress,
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyUnreadable | AppError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            AppError::UnsupportedContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::InvalidField { .. } | AppError::BadQuery { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Rejected(Rejection::TooManyEvents { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnknownSite(_) | AppError::NoRoute | AppError::NotFound(_) => {
                StatusCode::NOT_FOUND
            }
            AppError::OriginNotAllowed { .. }
            | AppError::AdminOff
            | AppError::CsrfRefused
            | AppError::AdminOnly
            | AppError::NotShared(_)
            | AppError::SiteNotAllowed(_)
            | AppError::ApiKeyScope(_)
            | AppError::KeyForOtherSite(_)
            | AppError::RawEventsNotShared => StatusCode::FORBIDDEN,
            AppError::NotAuthorized
            | AppError::SignInRequired
            | AppError::WrongCredentials
            | AppError::ShareLinkInvalid
            | AppError::ApiKeyInvalid => StatusCode::UNAUTHORIZED,
            AppError::LockedOut(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy | AppError::Store(StoreError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::MailNotSent(_) => StatusCode::BAD_GATEWAY,
            AppError::Store(_)
            | AppError::Salt(_)
            | AppError::Task(_)
            | AppError::NoPeerAddress => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients and metrics see.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BodyTooLarge => "body_too_large",
            AppError::BodyUnreadable => "body_unreadable",
            AppError::UnsupportedContentType(_) => "unsupported_content_type",
            AppError::MalformedJson(_) => "malformed_json",
            AppError::InvalidField { .. } => "invalid_field",
            AppError::Rejected(r) => r.code(),
            AppError::UnknownSite(_) => "unknown_site",
            AppError::OriginNotAllowed { .. } => "origin_not_allowed",
            AppError::BadQuery { .. } => "invalid_query",
            AppError::NoRoute => "not_found",
            AppError::AdminOff => "admin_off",
            AppError::NotAuthorized => "not_authorized",
            AppError::SignInRequired => "sign_in_required",
            AppError::WrongCredentials => "wrong_credentials",
            AppError::LockedOut(_) => "locked_out",
            AppError::CsrfRefused => "csrf_refused",
            AppError::AdminOnly => "admin_only",
            AppError::ShareLinkInvalid => "share_link_invalid",
            AppError::NotShared(_) => "not_shared",
            AppError::SiteNotAllowed(_) => "site_not_allowed",
            AppError::ApiKeyInvalid => "api_key_invalid",
            AppError::ApiKeyScope(_) => "api_key_scope",
            AppError::KeyForOtherSite(_) => "key_for_other_site",
            AppError::RawEventsNotShared => "raw_events_not_shared",
            AppError::NotFound(_) => "not_found",
            AppError::Busy => "busy",
            AppError::Store(StoreError::Unavailable(_)) => "store_unavailable",
            AppError::RateLimited(_) => "rate_limited",
            AppError::MailNotSent(_) => "mail_not_sent",
            AppError::Store(_)
            | AppError::Salt(_)
            | AppError::Task(_)
            | AppError::NoPeerAddress => "internal",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            AppError::InvalidField { field, .. } => Some(field.clone()),
            AppError::Rejected(r) => Some(r.field().to_owned()),
            AppError::UnknownSite(_)
            | AppError::OriginNotAllowed { .. }
            | AppError::NotShared(_)
            | AppError::KeyForOtherSite(_) => Some("site".into()),
            AppError::BadQuery { field, .. } => field.clone(),
            _ => None,
        }
    }
}

impl From<crate::digests::DigestError> for AppError {
    fn from(e: crate::digests::DigestError) -> Self {
        match e {
            crate::digests::DigestError::Store(e) => AppError::Store(e),
            crate::digests::DigestError::UnknownSite(site) => AppError::UnknownSite(site),
            e => AppError::MailNotSent(e.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "internal error; the operator's log has the details".to_owned()
        } else if let AppError::Store(e) = &self {
            // What failed names the store's servers: for the operator only.
            tracing::warn!(error = %e, "the store refused a write for now");
            "the store cannot take this now; nothing of it is lost if it is sent again".to_owned()
        } else {
            self.to_string()
        };
        let body = ApiError {
            code: self.code().to_owned(),
            message,
            field: self.field(),
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match self {
            AppError::Busy => Some(1),
            // A shard waits for its replica: long enough for a restart.
            AppError::Store(StoreError::Unavailable(_)) => Some(5),
            AppError::RateLimited(wait) | AppError::LockedOut(wait) => Some(retry_after_secs(wait)),
            _ => None,
        };
        if let AppError::NotAuthorized = self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Whole seconds to wait, rounded up: `Retry-After` has no fractions.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_pressure_and_rate_limits_say_when_to_come_back() {
        let busy = AppError::Busy.into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        let limited =
            AppError::RateLimited(std::time::Duration::from_millis(1_200)).into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "2", "rounded up");
    }

    #[test]
    fn internal_failures_tell_the_client_nothing_of_the_internals() {
        let failed = AppError::Salt(std::io::Error::other("disk on fire")).into_response();
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_text(failed);
        assert!(!body.contains("disk on fire"), "{body}");
        assert!(body.contains("operator's log"), "{body}");
    }

    #[test]
    fn a_store_that_cannot_take_a_write_asks_for_it_again_later_without_naming_its_servers() {
        let unavailable = AppError::Store(StoreError::Unavailable(
            "ClickHouse at http://10.0.0.7:8123/ did not answer".into(),
        ))
        .into_response();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.headers()[header::RETRY_AFTER], "5");
        let body = body_text(unavailable);
        assert!(body.contains("\"store_unavailable\""), "{body}");
        assert!(!body.contains("10.0.0.7"), "{body}");
    }

    fn body_text(response: Response) -> String {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
