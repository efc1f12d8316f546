//! Alerts: rules an admin sets for a site, evaluated by the server on a
//! schedule, and their firings with the evidence they fired on.
//!
//! A rule watches one condition and tells its channels when a subject (the
//! site's traffic, one error group, one goal…) becomes unusual and when it
//! is usual again: once each, however many evaluations it stays so. How
//! "unusual" is decided is the server's (`reports::alerts`): it is the same
//! for every store.

use serde::{Deserialize, Serialize};

use crate::{Rejection, Vital};

/// What a rule watches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlertCondition {
    /// Visitors in the last full hour far above or below what the same hour
    /// of the same weekday brought in the weeks before.
    Traffic {
        /// Half-widths of the band (see [`Sensitivity`]).
        #[serde(default = "default_sensitivity")]
        sensitivity: f64,
    },
    /// An error group seen for the first time in the last hour.
    NewErrorGroup,
    /// An error group's errors in the last hour far above its hourly mean
    /// of the week before.
    ErrorSpike {
        #[serde(default = "default_sensitivity")]
        sensitivity: f64,
    },
    /// A saved goal's conversion rate over the last 24 hours far below its
    /// rate over the four weeks before.
    ConversionDrop {
        /// The saved goal's id.
        goal: String,
        #[serde(default = "default_sensitivity")]
        sensitivity: f64,
    },
    /// The share of consent decisions that grant usage, over the last 24
    /// hours, far from its share over the four weeks before (either way:
    /// a banner change may raise opt-outs, a broken banner may hide them).
    ConsentShare {
        #[serde(default = "default_sensitivity")]
        sensitivity: f64,
    },
    /// A web vital's p75 over the last 24 hours worse than its p75 over the
    /// four weeks before by more than `margin` (0.2: 20 % slower).
    VitalWorse {
        vital: Vital,
        #[serde(default = "default_margin")]
        margin: f64,
    },
}

/// The default band: three half-widths (about three standard deviations),
/// rare enough by chance to act on.
pub const DEFAULT_SENSITIVITY: f64 = 3.0;

/// The sensitivities a rule may have: 1 (many alerts) to 10 (only the
/// largest changes).
pub const SENSITIVITY_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10.0;

fn default_sensitivity() -> f64 {
    DEFAULT_SENSITIVITY
}

fn default_margin() -> f64 {
    0.2
}

impl AlertCondition {
    /// What it watches, for lists and messages.
    pub fn describe(&self) -> String {
        match self {
            AlertCondition::Traffic { .. } => "traffic unlike the same hour of other weeks".into(),
            AlertCondition::NewErrorGroup => "a new error group".into(),
            AlertCondition::ErrorSpike { .. } => "an error group spiking".into(),
            AlertCondition::ConversionDrop { .. } => "a goal's conversion rate dropping".into(),
            AlertCondition::ConsentShare { .. } => {
                "the share of visitors granting usage changing".into()
            }
            AlertCondition::VitalWorse { vital, margin } => format!(
                "{} p75 more than {:.0} % worse",
                vital_name(*vital),
                margin * 100.0
            ),
        }
    }
}

/// A vital's short name, as the dashboard writes it.
pub fn vital_name(vital: Vital) -> &'static str {
    match vital {
        Vital::Lcp => "LCP",
        Vital::Inp => "INP",
        Vital::Cls => "CLS",
        Vital::Fcp => "FCP",
        Vital::Ttfb => "TTFB",
    }
}

/// Where a rule's firings go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Channel {
    /// A JSON body ([`AlertMessage`]) posted to `url`, signed with the
    /// rule's secret: header `Sonde-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256 of "<t>.<body>">`.
    Webhook { url: String },
    /// A Slack-compatible incoming webhook (`{"text": …}`).
    Slack { url: String },
    /// An e-mail to this address.
    Email { to: String },
}

/// A rule as an admin makes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    pub name: String,
    pub condition: AlertCondition,
    /// At least one.
    pub channels: Vec<Channel>,
}

/// Most channels one rule may have.
pub const MAX_CHANNELS: usize = 10;

impl AlertRule {
    pub fn validate(&self) -> Result<(), Rejection> {
        crate::site::check_text(&self.name, "name", 100, false)?;
        match &self.condition {
            AlertCondition::Traffic { sensitivity }
            | AlertCondition::ErrorSpike { sensitivity }
            | AlertCondition::ConsentShare { sensitivity } => check_sensitivity(*sensitivity)?,
            AlertCondition::ConversionDrop { goal, sensitivity } => {
                if goal.trim().is_empty() {
                    return Err(Rejection::Empty {
                        field: "condition.goal".into(),
                    });
                }
                check_sensitivity(*sensitivity)?;
            }
            AlertCondition::VitalWorse { margin, .. } => {
                if !margin.is_finite() || !(0.01..=10.0).contains(margin) {
                    return Err(Rejection::OutOfRangeNumber {
                        field: "condition.margin".into(),
                        min: "0.01".into(),
                        max: "10".into(),
                    });
                }
            }
            AlertCondition::NewErrorGroup => {}
        }
        if self.channels.is_empty() {
            return Err(Rejection::Empty {
                field: "channels".into(),
            });
        }
        if self.channels.len() > MAX_CHANNELS {
            return Err(Rejection::OutOfRange {
                field: "channels".into(),
                min: 1,
                max: MAX_CHANNELS as u64,
            });
        }
        for (i, channel) in self.channels.iter().enumerate() {
            match channel {
                Channel::Webhook { url } | Channel::Slack { url } => {
                    let field = format!("channels[{i}].url");
                    crate::site::check_text(url, &field, 2000, false)?;
                    if !crate::site::is_absolute_http_url(url) {
                        return Err(Rejection::NotAUrl { field });
                    }
                }
                Channel::Email { to } => {
                    if !is_email_address(to) {
                        return Err(Rejection::NotAnEmailAddress {
                            field: format!("channels[{i}].to"),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_sensitivity(sensitivity: f64) -> Result<(), Rejection> {
    if sensitivity.is_finite() && SENSITIVITY_RANGE.contains(&sensitivity) {
        Ok(())
    } else {
        Err(Rejection::OutOfRangeNumber {
            field: "condition.sensitivity".into(),
            min: SENSITIVITY_RANGE.start().to_string(),
            max: SENSITIVITY_RANGE.end().to_string(),
        })
    }
}

/// `local@domain`, one `@`, a dot in the domain, no spaces or angle
/// brackets: enough to catch a typo; the mail server decides the rest.
pub fn is_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    address.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && address
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ',' | ';' | '\\'))
}

/// A rule kept for a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedAlertRule {
    pub id: String,
    pub site: String,
    pub rule: AlertRule,
    /// The key webhook receivers check the signature with; only admins
    /// see it (`null` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub updated_at: i64,
}

/// What a firing was judged on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// The figure observed (visitors, errors, a rate 0 to 1, a p75 in ms
    /// or, for CLS, unitless).
    pub figure: f64,
    /// What the figure and its band count.
    #[serde(default)]
    pub unit: Unit,
    /// What it was expected to be, and the band within which it would
    /// have been usual.
    pub expected: f64,
    pub low: f64,
    pub high: f64,
    /// The period observed, ms since the epoch, `[from, to)`.
    pub from: i64,
    pub to: i64,
    /// The dashboard's view of it.
    pub link: String,
    /// One sentence for people: what happened, against what.
    pub summary: String,
}

/// What an evidence's figure counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Visitors, errors.
    #[default]
    Count,
    /// A rate, 0 to 1.
    Share,
    Milliseconds,
    /// Unitless (CLS).
    Score,
}

impl Unit {
    /// `value` as people read it: `412`, `2.5 %`, `3,000 ms`, `0.120`.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Count if value.fract() == 0.0 => format!("{value:.0}"),
            Unit::Count => format!("{value:.1}"),
            Unit::Share => format!("{:.1} %", value * 100.0),
            Unit::Milliseconds => format!("{value:.0} ms"),
            Unit::Score => format!("{value:.3}"),
        }
    }
}

/// Whether a notification reached a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The rule's channel, by its place in the rule's list.
    pub channel: usize,
    /// `fired` or `resolved`.
    pub event: AlertEvent,
    pub attempts: u32,
    /// When it was accepted; `null` while it is still being tried.
    #[serde(default)]
    pub delivered_at: Option<i64>,
    /// The last attempt's failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// No longer tried: it failed too often, or for too long.
    #[serde(default)]
    pub abandoned: bool,
}

impl Delivery {
    /// Still to be tried.
    pub fn pending(&self) -> bool {
        self.delivered_at.is_none() && !self.abandoned
    }
}

/// What a notification says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    Fired,
    Resolved,
}

/// A subject of a rule found unusual: open until it is usual again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertFiring {
    pub id: String,
    pub site: String,
    /// The rule's id and, as it was when it fired, its name.
    pub rule: String,
    pub rule_name: String,
    /// What was unusual: `traffic`, an error group's fingerprint, a goal's
    /// id, `usage`, a vital.
    pub subject: String,
    pub fired_at: i64,
    pub evidence: Evidence,
    #[serde(default)]
    pub resolved_at: Option<i64>,
    /// What was observed when it was usual again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_evidence: Option<Evidence>,
    /// Each channel's notification of the firing and of its resolution.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl AlertFiring {
    /// A notification of it is still to be tried.
    pub fn has_pending_delivery(&self) -> bool {
        self.deliveries.iter().any(Delivery::pending)
    }
}

/// The body a webhook receives, and the e-mail's and Slack's facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertMessage {
    pub event: AlertEvent,
    pub site: String,
    pub rule: String,
    pub rule_name: String,
    pub condition: AlertCondition,
    pub firing: String,
    pub subject: String,
    /// The firing's evidence, or the resolution's for `resolved`.
    pub evidence: Evidence,
    pub fired_at: i64,
    #[serde(default)]
    pub resolved_at: Option<i64>,
}

/// `GET /api/sites/{site}/alerts/firings`: the newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FiringsQuery {
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: AlertCondition, channels: Vec<Channel>) -> AlertRule {
        AlertRule {
            name: "Traffic".into(),
            condition,
            channels,
        }
    }

    fn mail() -> Vec<Channel> {
        vec![Channel::Email {
            to: "support@example.com".into(),
        }]
    }

    #[test]
    fn a_rule_reads_with_its_defaults() {
        let rule: AlertRule = serde_json::from_str(
            r#"{"name":"Traffic","condition":{"type":"traffic"},
                "channels":[{"type":"slack","url":"https://hooks.slack.com/x"}]}"#,
        )
        .unwrap();
        assert_eq!(rule.condition, AlertCondition::Traffic { sensitivity: 3.0 });
        assert_eq!(rule.validate(), Ok(()));
    }

    #[test]
    fn a_rule_without_channels_is_refused() {
        let r = rule(AlertCondition::NewErrorGroup, vec![]);
        assert_eq!(
            r.validate(),
            Err(Rejection::Empty {
                field: "channels".into()
            })
        );
    }

    #[test]
    fn a_bad_address_is_named() {
        let r = rule(
            AlertCondition::NewErrorGroup,
            vec![
                Channel::Email {
                    to: "a@example.com".into(),
                },
                Channel::Email {
                    to: "not an address".into(),
                },
            ],
        );
        assert_eq!(
            r.validate(),
            Err(Rejection::NotAnEmailAddress {
                field: "channels[1].to".into()
            })
        );
        let r = rule(
            AlertCondition::NewErrorGroup,
            vec![Channel::Webhook {
                url: "ftp://example.com".into(),
            }],
        );
        assert_eq!(
            r.validate(),
            Err(Rejection::NotAUrl {
                field: "channels[0].url".into()
            })
        );
    }

    #[test]
    fn sensitivity_and_margin_have_ranges() {
        let r = rule(AlertCondition::Traffic { sensitivity: 0.5 }, mail());
        assert!(matches!(
            r.validate(),
            Err(Rejection::OutOfRangeNumber { field, .. }) if field == "condition.sensitivity"
        ));
        let r = rule(
            AlertCondition::VitalWorse {
                vital: Vital::Lcp,
                margin: f64::NAN,
            },
            mail(),
        );
        assert!(matches!(
            r.validate(),
            Err(Rejection::OutOfRangeNumber { field, .. }) if field == "condition.margin"
        ));
        let r = rule(
            AlertCondition::ConversionDrop {
                goal: " ".into(),
                sensitivity: 3.0,
            },
            mail(),
        );
        assert!(r.validate().is_err());
    }

    #[test]
    fn addresses() {
        assert!(is_email_address("ops@shop.example"));
        assert!(!is_email_address("ops@localhost"));
        assert!(!is_email_address("@shop.example"));
        assert!(!is_email_address("ops@shop.example, boss@shop.example"));
        assert!(!is_email_address("Ops <ops@shop.example>"));
    }
}
