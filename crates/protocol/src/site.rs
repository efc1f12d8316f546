//! Sites: what the dashboard learns about the sites it can show, and the
//! settings an operator gives each site.

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::limits::MAX_SITE_KEY_LEN;

/// A site the dashboard can show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSummary {
    /// The site's public key.
    pub key: String,
}

/// How long each category's data is kept, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retention {
    /// Page views, interactions and custom events (13 months by default).
    pub usage: u32,
    /// JavaScript errors.
    pub errors: u32,
    /// Web vitals.
    pub performance: u32,
    /// Campaign parameters (`utm_*`) on page views: after this the page view
    /// stays, without its campaign.
    pub marketing: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            usage: 395,
            errors: 90,
            performance: 180,
            marketing: 90,
        }
    }
}

/// Longest retention an operator may set: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// A site as the operator configures it (CLI, admin API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSettings {
    /// The public key its pages send with every batch: letters, digits, `-`, `_`.
    pub key: String,
    /// A name for people; the key when empty.
    #[serde(default)]
    pub name: String,
    /// Origins (`scheme://host[:port]`) whose pages may send events; `*` allows any.
    pub origins: Vec<String>,
    /// An IANA timezone, such as `Europe/Berlin`: days (and the daily
    /// rotation of visitor ids) follow the site's calendar.
    #[serde(default = "utc")]
    pub timezone: String,
    /// The consent policy version the site's script tag announces.
    #[serde(default = "first_policy")]
    pub policy_version: u32,
    #[serde(default)]
    pub retention: Retention,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn first_policy() -> u32 {
    1
}

impl SiteSettings {
    /// A site with default settings.
    pub fn new(key: &str, origins: Vec<String>) -> Self {
        SiteSettings {
            key: key.to_owned(),
            name: String::new(),
            origins,
            timezone: utc(),
            policy_version: 1,
            retention: Retention::default(),
        }
    }

    /// Checks everything but the timezone's name, which the server checks
    /// against its timezone database.
    pub fn validate(&self) -> Result<(), Rejection> {
        crate::event::check_site(&self.key)?;
        if !self
            .key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Rejection::BadId {
                field: "key".into(),
            });
        }
        if self.key.len() > MAX_SITE_KEY_LEN {
            return Err(Rejection::TooLong {
                field: "key".into(),
                len: self.key.len(),
                max: MAX_SITE_KEY_LEN,
            });
        }
        if self.origins.is_empty() {
            return Err(Rejection::Empty {
                field: "origins".into(),
            });
        }
        for (i, origin) in self.origins.iter().enumerate() {
            if !is_origin(origin) {
                return Err(Rejection::NotAnOrigin {
                    field: format!("origins[{i}]"),
                });
            }
        }
        if self.policy_version == 0 {
            return Err(Rejection::OutOfRange {
                field: "policy_version".into(),
                min: 1,
                max: u32::MAX.into(),
            });
        }
        let r = self.retention;
        for (name, days) in [
            ("usage", r.usage),
            ("errors", r.errors),
            ("performance", r.performance),
            ("marketing", r.marketing),
        ] {
            if !(1..=MAX_RETENTION_DAYS).contains(&days) {
                return Err(Rejection::OutOfRange {
                    field: format!("retention.{name}"),
                    min: 1,
                    max: MAX_RETENTION_DAYS.into(),
                });
            }
        }
        Ok(())
    }
}

/// `*`, or `http(s)://host[:port]` with nothing after.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_with_defaults_is_valid() {
        let site = SiteSettings::new("shop", vec!["https://shop.example".into()]);
        assert_eq!(site.validate(), Ok(()));
        assert_eq!(site.timezone, "UTC");
    }

    #[test]
    fn bad_settings_name_their_field() {
        let mut site = SiteSettings::new("shop", vec!["https://shop.example/path".into()]);
        assert_eq!(site.validate().unwrap_err().field(), "origins[0]");
        site.origins = vec!["https://shop.example:8443".into(), "*".into()];
        assert_eq!(site.validate(), Ok(()));
        site.retention.errors = 0;
        assert_eq!(site.validate().unwrap_err().field(), "retention.errors");
        site.retention.errors = 30;
        site.key = "shop one".into();
        assert_eq!(site.validate().unwrap_err().field(), "key");
    }

    #[test]
    fn missing_settings_take_their_defaults_on_the_wire() {
        let site: SiteSettings =
            serde_json::from_str(r#"{"key":"blog","origins":["https://blog.example"]}"#).unwrap();
        assert_eq!(
            site,
            SiteSettings::new("blog", vec!["https://blog.example".into()])
        );
    }
}
