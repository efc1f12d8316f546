//! Filters, which every dashboard query takes: each one given must match.
//!
//! Filters select *sessions* by their page views in the queried period, and
//! a report then counts what those sessions did (their page views, errors,
//! vitals, goal events, funnel steps). A session's attributes:
//! - `page`: a page it viewed; `entry_page`: its first page view's path;
//! - `source`: its first page view's `utm_source`, else that page view's
//!   referrer host, else `direct` (what a person would call where the visit
//!   came from);
//! - `referrer`: its first page view's referrer host, or `direct`;
//! - `medium`, `campaign`: its first page view's `utm_medium` and
//!   `utm_campaign`;
//! - `browser`, `os`, `device`: from its user agent.
//!
//! There is no country or region filter: Sonde never stores an IP address
//! and looks none up.

use serde::{Deserialize, Serialize};

/// Session filters; each one given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Filters {
    /// Every filter's query parameter, in the order a person reads them.
    pub const KEYS: [&'static str; 9] = [
        "page",
        "entry_page",
        "source",
        "medium",
        "campaign",
        "referrer",
        "browser",
        "os",
        "device",
    ];

    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "page" => &mut self.page,
            "entry_page" => &mut self.entry_page,
            "source" => &mut self.source,
            "medium" => &mut self.medium,
            "campaign" => &mut self.campaign,
            "referrer" => &mut self.referrer,
            "browser" => &mut self.browser,
            "os" => &mut self.os,
            "device" => &mut self.device,
            _ => return None,
        })
    }

    /// The value of the filter named `key` (one of [`Filters::KEYS`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "page" => &self.page,
            "entry_page" => &self.entry_page,
            "source" => &self.source,
            "medium" => &self.medium,
            "campaign" => &self.campaign,
            "referrer" => &self.referrer,
            "browser" => &self.browser,
            "os" => &self.os,
            "device" => &self.device,
            _ => return None,
        };
        value.as_deref()
    }

    /// Sets (or with `None` clears) the filter named `key`; an unknown key
    /// is ignored and answered with `false`.
    pub fn set(&mut self, key: &str, value: Option<String>) -> bool {
        match self.slot(key) {
            Some(slot) => {
                *slot = value.filter(|v| !v.is_empty());
                true
            }
            None => false,
        }
    }

    /// The filters given, as (query parameter, value).
    pub fn given(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        Self::KEYS
            .into_iter()
            .filter_map(|key| self.get(key).map(|value| (key, value)))
    }

    pub fn is_empty(&self) -> bool {
        self.given().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_and_writes_its_own_field() {
        let mut filters = Filters::default();
        assert!(filters.is_empty());
        for (i, key) in Filters::KEYS.into_iter().enumerate() {
            assert!(filters.set(key, Some(format!("v{i}"))));
        }
        let given: Vec<(&str, String)> = filters.given().map(|(k, v)| (k, v.to_owned())).collect();
        let expected: Vec<(&str, String)> = Filters::KEYS
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, format!("v{i}")))
            .collect();
        assert_eq!(given, expected);
        // The JSON names are the query parameters.
        let json = serde_json::to_value(&filters).unwrap();
        for (i, key) in Filters::KEYS.into_iter().enumerate() {
            assert_eq!(json[key], format!("v{i}"));
        }
        assert!(!filters.set("country", Some("NL".into())));
        filters.set("page", Some(String::new()));
        assert_eq!(filters.get("page"), None, "an empty value is no filter");
    }
}
