//! `GET /api/sites`: the sites the reader may see.

use axum::Json;
use axum::extract::State;
use sonde_protocol::SiteSummary;

use crate::auth::Reader;
use crate::state::AppState;

/// `GET /api/sites`: the sites the reader may see.
#[utoipa::path(
    get,
    path = "/api/sites",
    tag = "dashboard",
    responses(
        (status = 200, description = "The sites the reader may see", body = [SiteSummary]),
        (status = 401, description = "Not signed in and no share link", body = sonde_protocol::ApiError),
    )
)]
pub async fn list(State(app): State<AppState>, reader: Reader) -> Json<Vec<SiteSummary>> {
    Json(
        app.sites()
            .keys()
            .into_iter()
            .filter(|key| reader.may_read(key))
            .map(|key| SiteSummary { key })
            .collect(),
    )
}
