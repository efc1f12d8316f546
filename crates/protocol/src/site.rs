//! Sites: what the dashboard learns about the sites it can show, and the
//! settings an operator gives each site.

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::limits::{MAX_BANNER_TEXT_LEN, MAX_BANNER_TITLE_LEN, MAX_SITE_KEY_LEN, MAX_URL_LEN};

/// Key of the site that counts the dashboard's own use, when the operator
/// turns dashboard telemetry on: a site like any other, on the server's own
/// origins.
pub const DASHBOARD_SITE: &str = "sonde-dashboard";

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
    /// The banner's wording on this site; each part left out takes the
    /// banner's built-in text in the visitor's language.
    #[serde(default)]
    pub banner: BannerSettings,
}

/// A site's own wording for its consent banner, as the banner downloads it
/// (`GET /api/banner/{site}`). Every field is optional: `null` (or absent)
/// means the banner's built-in, translated text, and no policy link.
///
/// The banner shows these as plain text (never as markup); the policy link
/// is an absolute `http(s)` URL with no quote, space or angle bracket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, rename_all = "snake_case")]
pub struct BannerSettings {
    /// The banner's heading, at most 120 characters.
    pub title: Option<String>,
    /// The banner's explanation, at most 1,000 characters; line breaks are kept.
    pub text: Option<String>,
    /// The site's privacy policy: an absolute `https://` or `http://` URL.
    pub policy_url: Option<String>,
}

impl BannerSettings {
    /// Whether the site has no wording of its own.
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.text.is_none() && self.policy_url.is_none()
    }

    /// Checks each part given; `prefix` is the JSON path the fields are
    /// named under in a refusal (`banner` in [`SiteSettings`]).
    pub fn validate(&self, prefix: &str) -> Result<(), Rejection> {
        let field = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        if let Some(title) = &self.title {
            check_text(title, &field("title"), MAX_BANNER_TITLE_LEN, false)?;
        }
        if let Some(text) = &self.text {
            check_text(text, &field("text"), MAX_BANNER_TEXT_LEN, true)?;
        }
        if let Some(url) = &self.policy_url {
            let field = field("policy_url");
            if url.len() > MAX_URL_LEN {
                return Err(Rejection::TooLong {
                    field,
                    len: url.len(),
                    max: MAX_URL_LEN,
                });
            }
            if !is_absolute_http_url(url) {
                return Err(Rejection::NotAUrl { field });
            }
        }
        Ok(())
    }
}

/// Not blank, at most `max` characters, and no control character (but line
/// breaks where `multiline`).
pub(crate) fn check_text(
    value: &str,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::Empty {
            field: field.to_owned(),
        });
    }
    let len = value.chars().count();
    if len > max {
        return Err(Rejection::TooLong {
            field: field.to_owned(),
            len,
            max,
        });
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(Rejection::ControlCharacter {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// `http://` or `https://`, a host, then anything but what could end an
/// HTML attribute or hide in one: spaces, quotes, `<`, `>`, `\`, control
/// characters and non-ASCII (percent-encode those).
pub(crate) fn is_absolute_http_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty()
        && !host.contains('@')
        && url.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`')
        })
}

/// Whether the dashboard counts its own use (`GET /api/dashboard-telemetry`):
/// the site key to load the embed with, or `null` when the operator left
/// dashboard telemetry off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardTelemetry {
    /// [`DASHBOARD_SITE`] when on, `null` when off.
    pub site: Option<String>,
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
            banner: BannerSettings::default(),
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
        self.banner.validate("banner")
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

    #[test]
    fn banner_wording_is_checked_field_by_field() {
        let mut site = SiteSettings::new("shop", vec!["https://shop.example".into()]);
        site.banner = BannerSettings {
            title: Some("Your privacy at the shop".into()),
            text: Some("We count visits.\nNothing else.".into()),
            policy_url: Some("https://shop.example/privacy?lang=en#cookies".into()),
        };
        assert_eq!(site.validate(), Ok(()));

        let refused = |banner: BannerSettings| {
            let mut site = site.clone();
            site.banner = banner;
            let err = site.validate().unwrap_err();
            (err.field().to_owned(), err.code())
        };
        let long_title = "a".repeat(MAX_BANNER_TITLE_LEN + 1);
        assert_eq!(
            refused(BannerSettings {
                title: Some(long_title),
                ..site.banner.clone()
            }),
            ("banner.title".to_owned(), "too_long")
        );
        // Characters, not bytes: 120 umlauts are a valid title.
        let mut umlauts = site.clone();
        umlauts.banner.title = Some("ä".repeat(MAX_BANNER_TITLE_LEN));
        assert_eq!(umlauts.validate(), Ok(()));
        assert_eq!(
            refused(BannerSettings {
                text: Some("x".repeat(MAX_BANNER_TEXT_LEN + 1)),
                ..Default::default()
            }),
            ("banner.text".to_owned(), "too_long")
        );
        assert_eq!(
            refused(BannerSettings {
                title: Some("  ".into()),
                ..Default::default()
            }),
            ("banner.title".to_owned(), "empty_field")
        );
        assert_eq!(
            refused(BannerSettings {
                title: Some("two\nlines".into()),
                ..Default::default()
            }),
            ("banner.title".to_owned(), "invalid_text")
        );
        for bad in [
            "/privacy",
            "javascript:alert(1)",
            "ftp://shop.example/privacy",
            "https://",
            "https:///privacy",
            "https://shop.example/a b",
            "https://shop.example/\"onmouseover=\"x",
            "https://shop.example/<script>",
            "https://user@shop.example/",
        ] {
            assert_eq!(
                refused(BannerSettings {
                    policy_url: Some(bad.into()),
                    ..Default::default()
                }),
                ("banner.policy_url".to_owned(), "invalid_url"),
                "{bad}"
            );
        }
        let long_url = format!("https://shop.example/{}", "p".repeat(MAX_URL_LEN));
        assert_eq!(
            refused(BannerSettings {
                policy_url: Some(long_url),
                ..Default::default()
            }),
            ("banner.policy_url".to_owned(), "too_long")
        );
        let mut http = site.clone();
        http.banner.policy_url = Some("http://localhost:8080/demo/privacy.html".into());
        assert_eq!(http.validate(), Ok(()));
    }

    #[test]
    fn settings_stored_before_banner_wording_still_load() {
        let old = r#"{"key":"shop","name":"Shop","origins":["https://shop.example"],
            "timezone":"Europe/Berlin","policy_version":3,
            "retention":{"usage":30,"errors":7,"performance":7,"marketing":7}}"#;
        let site: SiteSettings = serde_json::from_str(old).unwrap();
        assert_eq!(site.banner, BannerSettings::default());
        assert!(site.banner.is_empty());
        assert_eq!(site.validate(), Ok(()));
        // Part of the wording: the rest is null.
        let partial: SiteSettings =
            serde_json::from_str(r#"{"key":"shop","origins":["*"],"banner":{"title":"Hello"}}"#)
                .unwrap();
        assert_eq!(partial.banner.title.as_deref(), Some("Hello"));
        assert_eq!(partial.banner.policy_url, None);
    }

    #[test]
    fn banner_settings_answer_every_field_null_or_not() {
        let json = serde_json::to_string(&BannerSettings {
            title: Some("Hi".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json, r#"{"title":"Hi","text":null,"policy_url":null}"#);
        let off = serde_json::to_string(&DashboardTelemetry { site: None }).unwrap();
        assert_eq!(off, r#"{"site":null}"#);
    }
}
