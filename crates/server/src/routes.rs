//! Which path goes where. The API is one list of routes ([`api`]) from which
//! both the router and the OpenAPI document are built, so the two cannot
//! drift; then the operations endpoints and the web app's files.

use std::path::Path;

use axum::http::{HeaderValue, Method, header};
use axum::routing::{any, get};
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::AppError;
use crate::http::{
    admin, alerts, annotations, api_keys, consent, consent_log, conversions, digests, embed, erase,
    errors, events, funnel, ingest, operations, performance, raw_events, saved, security_headers,
    session, share_links, sites, usage, users, web_files,
};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Every route under `/api`, each with its OpenAPI description.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let browser_cors = browser_cors(state);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        // What the collector and the banner send and ask for.
        .routes(routes!(ingest::ingest).layer(browser_cors.clone()))
        .routes(routes!(consent::record).layer(browser_cors.clone()))
        .routes(routes!(erase::erase).layer(browser_cors))
        .routes(routes!(embed::banner_settings).layer(banner_cors(state)))
        .routes(routes!(embed::dashboard_telemetry))
        // The dashboard's reports.
        .routes(routes!(usage::usage))
        .routes(routes!(usage::overview))
        .routes(routes!(usage::realtime))
        .routes(routes!(funnel::funnel))
        .routes(routes!(consent::report))
        .routes(routes!(errors::errors))
        .routes(routes!(events::events))
        .routes(routes!(consent_log::export))
        .routes(routes!(conversions::conversions))
        .routes(routes!(performance::performance))
        .routes(routes!(raw_events::export))
        .routes(routes!(sites::list))
        // Accounts, share links, saved funnels and goals.
        .routes(routes!(
            session::sign_in,
            session::current,
            session::sign_out
        ))
        .routes(routes!(users::list, users::put_user))
        .routes(routes!(users::remove))
        .routes(routes!(share_links::list, share_links::create))
        .routes(routes!(share_links::revoke))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(saved::list_funnels, saved::create_funnel))
        .routes(routes!(
            saved::get_funnel,
            saved::update_funnel,
            saved::delete_funnel
        ))
        .routes(routes!(saved::list_goals, saved::create_goal))
        .routes(routes!(saved::update_goal, saved::delete_goal))
        // Alerts.
        .routes(routes!(alerts::list, alerts::create))
        .routes(routes!(alerts::update, alerts::remove))
        .routes(routes!(alerts::firings))
        // Annotations.
        .routes(routes!(annotations::list, annotations::create))
        .routes(routes!(annotations::remove))
        // Digests.
        .routes(routes!(digests::list, digests::create))
        .routes(routes!(digests::remove))
        .routes(routes!(digests::send))
        // The operator's.
        .routes(routes!(admin::list_sites))
        .routes(routes!(admin::put_site, admin::remove_site))
}

/// The API's OpenAPI document, as `GET /api/openapi.json` serves it.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    api(state).into_openapi()
}

/// All routes: the API under `/api`, operations endpoints, and the web app
/// (with `index.html` for any other path, so client-side routes load).
pub fn router(
    state: AppState,
    web_dir: Option<&Path>,
    embedded: Option<crate::config::WebFileLookup>,
) -> Router {
    let (api, document) = api(&state).split_for_parts();
    let mut router = api
        .route(
            "/api/openapi.json",
            get(move || std::future::ready(Json(document.clone()))),
        )
        // Anything else under `/api` is an API client's mistake, answered
        // in the API's error format rather than with the web app.
        .route("/api", any(no_route))
        .route("/api/{*rest}", any(no_route))
        // The page behind the link in each digest.
        .route(
            "/digests/unsubscribe",
            get(digests::unsubscribe_page).post(digests::unsubscribe),
        )
        .route("/metrics", get(operations::metrics))
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz));
    let index = match (web_dir, embedded) {
        (Some(dir), _) => std::fs::read_to_string(dir.join("index.html")).ok(),
        (None, Some(lookup)) => {
            lookup("index.html").map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
        }
        (None, None) => None,
    };
    let security = security_headers::SecurityHeaders::new(index.as_deref());
    if let Some(dir) = web_dir {
        router = router
            .route_service("/sonde.js", embed::loader(dir))
            .nest_service("/sonde", embed::hashed_files(dir))
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))));
    } else if let Some(lookup) = embedded {
        router = router.fallback(move |uri, headers| web_files::serve(lookup, uri, headers));
    }
    // Compresses what is not compressed yet (the dashboard, the API); the
    // embed's files come precompressed and are left alone.
    router
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), security),
            security_headers::set,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn no_route() -> AppError {
    AppError::NoRoute
}

/// The collector posts from customers' origins, as CORS "simple" requests
/// (text/plain); only configured origins may read the answers.
fn browser_cors(state: &AppState) -> CorsLayer {
    let state = state.clone();
    CorsLayer::new()
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| state.sites().any_allows_origin(o))
        }))
}

/// The banner downloads its site's wording from the customer's page: a
/// plain cross-origin GET, readable by the site's own origins.
fn banner_cors(state: &AppState) -> CorsLayer {
    let state = state.clone();
    CorsLayer::new()
        .allow_methods([Method::GET])
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, parts: &axum::http::request::Parts| {
                let key = parts.uri.path().rsplit('/').next().unwrap_or_default();
                origin.to_str().is_ok_and(|o| {
                    state
                        .sites()
                        .get(key)
                        .is_some_and(|site| site.allows_origin(o))
                })
            },
        ))
}
