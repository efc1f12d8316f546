//! What every dashboard query checks before it reaches the store: who asks
//! (see [`crate::auth::Reader`]), its parameters parse (refused in Sonde's error format, not axum's), its
//! period is a period, and its site exists.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::Reader;
use crate::error::AppError;
use crate::site::Site;

/// Query-string parameters, refused as [`AppError::BadQuery`].
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(params)| Params(params))
            .map_err(|e| AppError::BadQuery {
                field: None,
                message: e.body_text(),
            })
    }
}

/// `[from, to)` must hold at least one millisecond.
pub fn check_period(from: i64, to: i64) -> Result<(), AppError> {
    if to <= from {
        return Err(AppError::BadQuery {
            field: Some("to".into()),
            message: format!("`to` ({to}) must be after `from` ({from})"),
        });
    }
    Ok(())
}

/// A period of at most `max_days` days.
pub fn check_length(from: i64, to: i64, max_days: i64) -> Result<(), AppError> {
    if to - from > max_days * 86_400_000 {
        return Err(AppError::BadQuery {
            field: Some("to".into()),
            message: format!("the period is longer than {max_days} days"),
        });
    }
    Ok(())
}

/// The site a query is about, if the reader may read it.
pub fn site(app: &AppState, reader: &Reader, key: &str) -> Result<Arc<Site>, AppError> {
    reader.check_site(key)?;
    known_site(app, key)
}

/// A site the server has.
pub fn known_site(app: &AppState, key: &str) -> Result<Arc<Site>, AppError> {
    app.sites()
        .get(key)
        .ok_or_else(|| AppError::UnknownSite(key.to_owned()))
}
