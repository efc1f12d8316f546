//! The OpenAPI description of the HTTP API, generated from the handlers and
//! the protocol's types (utoipa), and served at `GET /api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sonde",
        description = "Consent-first product telemetry: the collector's endpoints (ingest, consent, erase) and the dashboard's queries. Every refusal has an `ApiError` body naming the problem and, when there is one, the field."
    ),
    paths(
        crate::ingest::ingest,
        crate::consent::record,
        crate::erase::erase,
        crate::usage::usage,
        crate::app::list_sites,
    ),
    tags(
        (name = "collection", description = "What the browser sends"),
        (name = "dashboard", description = "What the dashboard asks"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
