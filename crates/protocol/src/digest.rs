//! Digests: a site's figures of the last full week or month, e-mailed to
//! one person on a schedule (key figures against the period before, top
//! pages and sources, goals, errors, consent), with a link in each that
//! unsubscribes without signing in.

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::alert::is_email_address;

/// How often a digest is sent, and the period it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Each Monday, for the week (Monday to Sunday) before, on the site's
    /// calendar.
    Weekly,
    /// On the 1st, for the month before.
    Monthly,
}

impl Frequency {
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }
}

/// `POST /api/sites/{site}/digests`: who gets a site's digest, how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DigestSubscription {
    /// The person's e-mail address.
    pub email: String,
    pub frequency: Frequency,
}

impl DigestSubscription {
    pub fn validate(&self) -> Result<(), Rejection> {
        if !is_email_address(self.email.trim()) {
            return Err(Rejection::NotAnEmailAddress {
                field: "email".into(),
            });
        }
        Ok(())
    }
}

/// A subscription as listed to admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedDigest {
    pub id: String,
    pub site: String,
    pub email: String,
    pub frequency: Frequency,
    pub created_at: i64,
    /// The first day (the site's, `YYYY-MM-DD`) of the last period sent.
    #[serde(default)]
    pub last_period: Option<String>,
    /// When it was last sent (ms since the epoch).
    #[serde(default)]
    pub last_sent_at: Option<i64>,
    /// Why the last attempt failed, until one succeeds; it is tried again
    /// each round.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// `GET /digests/unsubscribe?token=…` and its `POST`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct UnsubscribeQuery {
    /// The token of the link in the e-mail.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_needs_an_address() {
        let s = DigestSubscription {
            email: "pm@shop.example".into(),
            frequency: Frequency::Weekly,
        };
        assert_eq!(s.validate(), Ok(()));
        let bad = DigestSubscription {
            email: "pm at shop".into(),
            ..s
        };
        assert_eq!(
            bad.validate(),
            Err(Rejection::NotAnEmailAddress {
                field: "email".into()
            })
        );
        let parsed: DigestSubscription =
            serde_json::from_str(r#"{"email":"a@b.example","frequency":"monthly"}"#).unwrap();
        assert_eq!(parsed.frequency, Frequency::Monthly);
    }
}
