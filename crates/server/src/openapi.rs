//! The OpenAPI description of the HTTP API beyond its paths: its title,
//! tags and security schemes. The paths come from the route list itself
//! ([`crate::routes::api`]), generated from the handlers and the
//! protocol's types (utoipa), and the document is served at `GET
//! /api/openapi.json`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sonde",
        description = "Consent-first product telemetry: the collector's and the banner's endpoints (ingest, consent, erase, banner settings) and the dashboard's queries. Every refusal has an `ApiError` body naming the problem and, when there is one, the field."
    ),
    modifiers(&AdminToken),
    tags(
        (name = "collection", description = "What the browser sends, and what the embed asks for; no sign-in"),
        (name = "dashboard", description = "What the dashboard asks: a signed-in person (session cookie), a share link (`X-Sonde-Share`) or a site API key with the `stats` scope (`Authorization: Bearer sonde_…`)"),
        (name = "account", description = "Signing in, people, share links and site API keys; changes need the session's `X-CSRF-Token`"),
        (name = "alerts", description = "Alert rules and their firings: read by anyone signed in, changed by admins (with the session's `X-CSRF-Token`)"),
        (name = "annotations", description = "Marks on a site's timeline: read as the dashboard is, added by admins or with a site API key with the `annotations` scope"),
        (name = "digests", description = "Who gets each site's figures by e-mail, weekly or monthly: admins only, as they hold people's addresses"),
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
