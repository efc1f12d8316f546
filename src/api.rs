//! The typed client of Sonde's API. Errors say whether the network, the
//! server (with its [`ApiError`]) or the response's shape was at fault.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use sonde_protocol::overview::OverviewReport;
use sonde_protocol::{ApiError, SiteSummary, UsageQuery, UsageReport};

#[derive(Clone, Debug, PartialEq)]
pub enum ClientError {
    Network(String),
    Api(ApiError),
    Decode(String),
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

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ClientError> {
    let response = Request::get(url)
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
    response
        .json()
        .await
        .map_err(|e| ClientError::Decode(e.to_string()))
}

pub async fn sites() -> Result<Vec<SiteSummary>, ClientError> {
    get("/api/sites").await
}

/// The overview of a period; filters are not used by the dashboard yet.
pub async fn overview(site: &str, from: i64, to: i64) -> Result<OverviewReport, ClientError> {
    get(&format!(
        "/api/overview?site={}&from={from}&to={to}",
        js_sys::encode_uri_component(site)
    ))
    .await
}

pub async fn usage(query: &UsageQuery) -> Result<UsageReport, ClientError> {
    let granularity = query.granularity.as_str();
    get(&format!(
        "/api/usage?site={}&from={}&to={}&granularity={granularity}",
        js_sys::encode_uri_component(&query.site),
        query.from,
        query.to
    ))
    .await
}
