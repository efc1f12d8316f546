//! The typed client of Sonde's API. Errors say whether the network, the
//! server (with its [`ApiError`]) or the response's shape was at fault.
//!
//! The client holds the page's credentials: the session's CSRF token (the
//! session itself is an HttpOnly cookie the browser sends), or a share
//! link's token. They are set once, by the session gate, and sent with
//! every request, like a configured HTTP client's default headers.

use std::cell::RefCell;

use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sonde_protocol::account::{NewUser, Principal, SignIn, User};
use sonde_protocol::alert::{AlertFiring, AlertRule, SavedAlertRule};
use sonde_protocol::annotation::{Annotation, NewAnnotation};
use sonde_protocol::api_key::{ApiKey, CreatedApiKey, NewApiKey};
use sonde_protocol::consent_report::ConsentReport;
use sonde_protocol::digest::{DigestSubscription, SavedDigest};
use sonde_protocol::errors::ErrorsReport;
use sonde_protocol::events_report::{EventsReport, InteractionKind};
use sonde_protocol::funnel::{FunnelDefinition, FunnelQuery, FunnelReport, SavedFunnel};
use sonde_protocol::goal::{ConversionsReport, Goal, SavedGoal};
use sonde_protocol::overview::{Filters, OverviewReport};
use sonde_protocol::performance::PerformanceReport;
use sonde_protocol::usage::RealtimeReport;
use sonde_protocol::{ApiError, DashboardTelemetry, Granularity, SiteSummary, UsageReport, Versus};

#[derive(Clone, Debug, PartialEq)]
pub enum ClientError {
    Network(String),
    Api(ApiError),
    Decode(String),
}

impl ClientError {
    /// Whether signing in (again) would help.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, ClientError::Api(e) if e.code == "sign_in_required")
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Network(e) => write!(f, "cannot reach the server: {e}"),
            ClientError::Api(e) => write!(f, "{}", e.message),
            ClientError::Decode(e) => write!(f, "unexpected response: {e}"),
        }
    }
}

#[derive(Default)]
struct Credentials {
    csrf_token: Option<String>,
    share_token: Option<String>,
}

thread_local! {
    static CREDENTIALS: RefCell<Credentials> = RefCell::default();
}

/// Read through a share link from now on.
pub fn use_share_token(token: String) {
    CREDENTIALS.with_borrow_mut(|c| c.share_token = Some(token));
}

fn authorize(request: RequestBuilder) -> RequestBuilder {
    CREDENTIALS.with_borrow(|c| {
        let mut request = request;
        if let Some(token) = &c.share_token {
            request = request.header("X-Sonde-Share", token);
        }
        if let Some(token) = &c.csrf_token {
            request = request.header("X-CSRF-Token", token);
        }
        request
    })
}

fn remember(principal: &Principal) {
    if let Principal::User { csrf_token, .. } = principal {
        CREDENTIALS.with_borrow_mut(|c| c.csrf_token = Some(csrf_token.clone()));
    }
}

/// Sends a request; a refusal becomes the server's [`ApiError`].
async fn respond(
    request: Result<Request, gloo_net::Error>,
) -> Result<gloo_net::http::Response, ClientError> {
    let response = request
        .map_err(|e| ClientError::Decode(e.to_string()))?
        .send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    if !response.ok() {
        let error = response
            .json::<ApiError>()
            .await
            .unwrap_or_else(|_| ApiError {
                code: "http".into(),
                message: format!("the server answered {}", response.status()),
                field: None,
            });
        return Err(ClientError::Api(error));
    }
    Ok(response)
}

async fn send<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ClientError> {
    respond(request)
        .await?
        .json()
        .await
        .map_err(|e| ClientError::Decode(e.to_string()))
}

pub(crate) async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ClientError> {
    send(authorize(Request::get(url)).build()).await
}

pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ClientError> {
    send(authorize(Request::post(url)).json(body)).await
}

pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ClientError> {
    send(authorize(Request::put(url)).json(body)).await
}

pub(crate) async fn delete(url: &str) -> Result<(), ClientError> {
    respond(authorize(Request::delete(url)).build()).await?;
    Ok(())
}

/// Who the page is: a signed-in person or a share link.
pub async fn session() -> Result<Principal, ClientError> {
    let principal = get("/api/session").await?;
    remember(&principal);
    Ok(principal)
}

pub async fn sign_in(username: String, password: String) -> Result<Principal, ClientError> {
    let principal = post("/api/session", &SignIn { username, password }).await?;
    remember(&principal);
    Ok(principal)
}

pub async fn sign_out() -> Result<(), ClientError> {
    delete("/api/session").await?;
    CREDENTIALS.with_borrow_mut(|c| c.csrf_token = None);
    Ok(())
}

/// Whether the operator turned on telemetry of the dashboard's own use, and
/// under which site.
pub async fn dashboard_telemetry() -> Result<DashboardTelemetry, ClientError> {
    get("/api/dashboard-telemetry").await
}

pub async fn sites() -> Result<Vec<SiteSummary>, ClientError> {
    get("/api/sites").await
}

/// Everyone who may sign in (admins only).
pub async fn users() -> Result<Vec<User>, ClientError> {
    get("/api/users").await
}

/// Adds a person, or sets their password, role and sites.
pub async fn put_user(user: &NewUser) -> Result<User, ClientError> {
    post("/api/users", user).await
}

pub async fn remove_user(username: &str) -> Result<(), ClientError> {
    delete(&format!(
        "/api/users/{}",
        js_sys::encode_uri_component(username)
    ))
    .await
}

fn site_path(site: &str, rest: &str) -> String {
    format!("/api/sites/{}/{rest}", js_sys::encode_uri_component(site))
}

pub async fn run_funnel(query: &FunnelQuery) -> Result<FunnelReport, ClientError> {
    post("/api/funnel", query).await
}

pub async fn saved_funnels(site: &str) -> Result<Vec<SavedFunnel>, ClientError> {
    get(&site_path(site, "funnels")).await
}

/// Saves a new funnel, or changes the one with `id`.
pub async fn save_funnel(
    site: &str,
    id: Option<&str>,
    funnel: &FunnelDefinition,
) -> Result<SavedFunnel, ClientError> {
    match id {
        Some(id) => {
            put(
                &format!("/api/funnels/{}", js_sys::encode_uri_component(id)),
                funnel,
            )
            .await
        }
        None => post(&site_path(site, "funnels"), funnel).await,
    }
}

/// What every report is asked about: a site's period at a granularity,
/// the visits the filters select, and the period before for comparison.
#[derive(Clone, Copy, Debug)]
pub struct Period<'a> {
    pub site: &'a str,
    pub from: i64,
    pub to: i64,
    pub granularity: Granularity,
    pub filters: &'a Filters,
    /// What `previous` covers in each answer.
    pub versus: Versus,
}

impl Period<'_> {
    /// The query string every report endpoint reads.
    fn query(&self) -> String {
        let mut query = format!(
            "site={}&from={}&to={}&granularity={}&compare=true&versus={}",
            js_sys::encode_uri_component(self.site),
            self.from,
            self.to,
            self.granularity.as_str(),
            self.versus.as_str()
        );
        for (key, value) in self.filters.given() {
            query.push_str(&format!("&{key}={}", js_sys::encode_uri_component(value)));
        }
        query
    }
}

pub async fn errors(period: &Period<'_>) -> Result<ErrorsReport, ClientError> {
    get(&format!("/api/errors?{}", period.query())).await
}

pub async fn goals(site: &str) -> Result<Vec<SavedGoal>, ClientError> {
    get(&site_path(site, "goals")).await
}

pub async fn conversions(
    period: &Period<'_>,
    goal: &str,
) -> Result<ConversionsReport, ClientError> {
    get(&format!(
        "/api/conversions?{}&goal={}",
        period.query(),
        js_sys::encode_uri_component(goal)
    ))
    .await
}

/// The events of the period, and the chosen one's series and properties.
pub async fn events(
    period: &Period<'_>,
    chosen: Option<&(InteractionKind, String)>,
) -> Result<EventsReport, ClientError> {
    let choice = chosen
        .map(|(kind, name)| {
            format!(
                "&kind={}&name={}",
                kind.as_str(),
                js_sys::encode_uri_component(name)
            )
        })
        .unwrap_or_default();
    get(&format!("/api/events?{}{choice}", period.query())).await
}

/// The consent report takes no filters: decisions are not linked to visits.
pub async fn consent_report(
    site: &str,
    from: i64,
    to: i64,
    versus: Versus,
) -> Result<ConsentReport, ClientError> {
    get(&format!(
        "/api/consent-report?site={}&from={from}&to={to}&compare=true&versus={}",
        js_sys::encode_uri_component(site),
        versus.as_str()
    ))
    .await
}

/// Where the consent log of a period downloads (the session cookie goes
/// with a plain link).
pub fn consent_log_url(site: &str, from: i64, to: i64, format: &str) -> String {
    format!(
        "/api/consent-log?site={}&from={from}&to={to}&format={format}",
        js_sys::encode_uri_component(site)
    )
}

/// Where a period's raw events download, as `csv` or `parquet` (the
/// session cookie goes with a plain link).
pub fn raw_events_url(site: &str, from: i64, to: i64, format: &str) -> String {
    format!(
        "/api/raw-events?site={}&from={from}&to={to}&format={format}",
        js_sys::encode_uri_component(site)
    )
}

pub async fn save_goal(site: &str, goal: &Goal) -> Result<SavedGoal, ClientError> {
    post(&site_path(site, "goals"), goal).await
}

pub async fn performance(
    period: &Period<'_>,
    goal: Option<&str>,
) -> Result<PerformanceReport, ClientError> {
    let goal = goal
        .map(|g| format!("&goal={}", js_sys::encode_uri_component(g)))
        .unwrap_or_default();
    get(&format!("/api/performance?{}{goal}", period.query())).await
}

pub async fn delete_funnel(id: &str) -> Result<(), ClientError> {
    delete(&format!(
        "/api/funnels/{}",
        js_sys::encode_uri_component(id)
    ))
    .await
}

/// The overview of a period, of the visits the filters select.
pub async fn overview(period: &Period<'_>) -> Result<OverviewReport, ClientError> {
    get(&format!("/api/overview?{}", period.query())).await
}

pub async fn realtime(site: &str) -> Result<RealtimeReport, ClientError> {
    get(&format!(
        "/api/realtime?site={}",
        js_sys::encode_uri_component(site)
    ))
    .await
}

pub async fn usage(period: &Period<'_>) -> Result<UsageReport, ClientError> {
    get(&format!("/api/usage?{}", period.query())).await
}

pub async fn alert_rules(site: &str) -> Result<Vec<SavedAlertRule>, ClientError> {
    get(&site_path(site, "alerts")).await
}

pub async fn create_alert_rule(
    site: &str,
    rule: &AlertRule,
) -> Result<SavedAlertRule, ClientError> {
    post(&site_path(site, "alerts"), rule).await
}

pub async fn delete_alert_rule(id: &str) -> Result<(), ClientError> {
    delete(&format!("/api/alerts/{}", js_sys::encode_uri_component(id))).await
}

/// Who gets the site's digest (admins only).
pub async fn digests(site: &str) -> Result<Vec<SavedDigest>, ClientError> {
    get(&site_path(site, "digests")).await
}

pub async fn subscribe_digest(
    site: &str,
    subscription: &DigestSubscription,
) -> Result<SavedDigest, ClientError> {
    post(&site_path(site, "digests"), subscription).await
}

pub async fn delete_digest(id: &str) -> Result<(), ClientError> {
    delete(&format!(
        "/api/digests/{}",
        js_sys::encode_uri_component(id)
    ))
    .await
}

/// Sends the last complete period now.
pub async fn send_digest(id: &str) -> Result<SavedDigest, ClientError> {
    post(
        &format!("/api/digests/{}/send", js_sys::encode_uri_component(id)),
        &(),
    )
    .await
}

/// The site's firings, the newest first.
pub async fn alert_firings(site: &str) -> Result<Vec<AlertFiring>, ClientError> {
    get(&site_path(site, "alerts/firings")).await
}

/// A site's annotations marking an instant in `[from, to)`, oldest first.
pub async fn annotations(site: &str, from: i64, to: i64) -> Result<Vec<Annotation>, ClientError> {
    get(&format!(
        "{}?from={from}&to={to}",
        site_path(site, "annotations")
    ))
    .await
}

/// The same annotations as a CSV download.
pub fn annotations_csv_url(site: &str, from: i64, to: i64) -> String {
    format!(
        "{}?from={from}&to={to}&format=csv",
        site_path(site, "annotations")
    )
}

pub async fn add_annotation(
    site: &str,
    annotation: &NewAnnotation,
) -> Result<Annotation, ClientError> {
    post(&site_path(site, "annotations"), annotation).await
}

pub async fn delete_annotation(id: &str) -> Result<(), ClientError> {
    delete(&format!(
        "/api/annotations/{}",
        js_sys::encode_uri_component(id)
    ))
    .await
}

pub async fn api_keys(site: &str) -> Result<Vec<ApiKey>, ClientError> {
    get(&site_path(site, "api-keys")).await
}

pub async fn create_api_key(site: &str, key: &NewApiKey) -> Result<CreatedApiKey, ClientError> {
    post(&site_path(site, "api-keys"), key).await
}

pub async fn revoke_api_key(id: &str) -> Result<(), ClientError> {
    delete(&format!(
        "/api/api-keys/{}",
        js_sys::encode_uri_component(id)
    ))
    .await
}
