//! The OpenAPI description of the HTTP API, generated from the handlers and
//! the protocol's types (utoipa), and served at `GET /api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sonde",
        description = "Consent-first product telemetry: the collector's and the banner's endpoints (ingest, consent, erase, banner settings) and the dashboard's queries. Every refusal has an `ApiError` body naming the problem and, when there is one, the field."
    ),
    paths(
        crate::ingest::ingest,
        crate::consent::record,
        crate::erase::erase,
        crate::embed::banner_settings,
        crate::embed::dashboard_telemetry,
        crate::usage::usage,
        crate::usage::overview,
        crate::usage::realtime,
        crate::funnel::funnel,
        crate::consent::report,
        crate::errors::errors,
        crate::consent_log::export,
        crate::conversions::conversions,
        crate::performance::performance,
        crate::app::list_sites,
        crate::auth::sign_in::sign_in,
        crate::auth::sign_in::current,
        crate::auth::sign_in::sign_out,
        crate::auth::users::list,
        crate::auth::users::put_user,
        crate::auth::users::remove,
        crate::auth::share_links::list,
        crate::auth::share_links::create,
        crate::auth::share_links::revoke,
        crate::saved::list_funnels,
        crate::saved::get_funnel,
        crate::saved::create_funnel,
        crate::saved::update_funnel,
        crate::saved::delete_funnel,
        crate::saved::list_goals,
        crate::saved::create_goal,
        crate::saved::update_goal,
        crate::saved::delete_goal,
        crate::admin::list_sites,
        crate::admin::put_site,
        crate::admin::remove_site,
    ),
    modifiers(&AdminToken),
    tags(
        (name = "collection", description = "What the browser sends, and what the embed asks for; no sign-in"),
        (name = "dashboard", description = "What the dashboard asks: a signed-in person (session cookie) or a share link (`X-Sonde-Share`)"),
        (name = "account", description = "Signing in, people and share links; changes need the session's `X-CSRF-Token`"),
        (name = "admin", description = "Sites and their settings, for the operator (bearer admin token)"),
    )
)]
pub struct ApiDoc;

/// The admin API's bearer token, as a security scheme.
struct AdminToken;

impl utoipa::Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
