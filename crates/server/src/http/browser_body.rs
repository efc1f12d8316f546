//! What every endpoint the browser posts to (ingest, consent, erase) checks
//! before it looks at the content: the content type, the body size, the JSON
//! shape with the offending field named, and the site and its origins.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, ORIGIN};
use serde::de::DeserializeOwned;
use sonde_protocol::limits::MAX_BODY_BYTES;

use crate::error::AppError;
use crate::site::Site;
use crate::state::AppState;

/// Reads and parses a JSON body sent by the collector.
pub async fn read<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, AppError> {
    check_content_type(headers, &["application/json", "text/plain"])?;
    let bytes = read_limited(body).await?;
    parse(&bytes)
}

/// Reads and parses a JSON body that must say it is JSON: a form on
/// another site can post `text/plain` (shaped like JSON) without asking,
/// but not `application/json`, which needs a CORS preflight this server
/// answers for no one. Signing in takes only this, so another site cannot
/// sign a visitor into an account of its choosing.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, AppError> {
    check_content_type(headers, &["application/json"])?;
    let bytes = read_limited(body).await?;
    parse(&bytes)
}

/// The site named in a body, if it exists and the request's origin (when the
/// browser sent one) may post for it.
pub fn site_for(app: &AppState, key: &str, headers: &HeaderMap) -> Result<Arc<Site>, AppError> {
    let site = app
        .sites()
        .get(key)
        .ok_or_else(|| AppError::UnknownSite(key.to_owned()))?;
    if let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok())
        && !site.allows_origin(origin)
    {
        return Err(AppError::OriginNotAllowed {
            origin: origin.to_owned(),
            site: site.key().to_owned(),
        });
    }
    Ok(site)
}

/// Whether the request carries Global Privacy Control (`Sec-GPC: 1`), which
/// a browser may send without exposing it to scripts.
pub fn global_privacy_control(headers: &HeaderMap) -> bool {
    headers
        .get("sec-gpc")
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1")
}

/// Whether the body's content type is one of `accepted`. The collector's
/// endpoints take `text/plain` too, because `navigator.sendBeacon` cannot
/// send JSON cross-origin without a preflight it does not make.
fn check_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), AppError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if accepted.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(AppError::UnsupportedContentType(content_type.to_owned()))
    }
}

async fn read_limited(body: Body) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                AppError::BodyTooLarge
            } else {
                AppError::BodyUnreadable
            }
        })
}

/// Parses JSON, naming the offending field when the JSON is well formed but
/// does not match the schema. Well-formed bodies, nearly all of them, are
/// parsed once without path tracking; only a refused one is parsed again to
/// find the field.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            AppError::InvalidField {
                field: if path == "." { String::new() } else { path },
                message: inner.to_string(),
            }
        } else {
            AppError::MalformedJson(inner.to_string())
        }
    })?;
    de.end()
        .map_err(|e| AppError::MalformedJson(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use sonde_protocol::Batch;

    use super::*;

    #[test]
    fn a_missing_field_is_named() {
        let err = parse::<Batch>(br#"{"site":"demo","events":[]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("consent"), "{err}");
    }

    #[test]
    fn a_wrong_type_deep_in_the_batch_names_its_path() {
        let body = br#"{"site":"demo","consent":{},"events":[{"id":"a","ts":"soon","kind":"page_view","url":"/"}]}"#;
        match parse::<Batch>(body).unwrap_err() {
            AppError::InvalidField { field, .. } => assert_eq!(field, "events[0].ts"),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn broken_json_is_malformed() {
        assert_eq!(
            parse::<Batch>(b"{\"site\":").unwrap_err().code(),
            "malformed_json"
        );
        let trailing = br#"{"site":"demo","consent":{},"events":[]} trailing"#;
        assert_eq!(
            parse::<Batch>(trailing).unwrap_err().code(),
            "malformed_json"
        );
    }
}
