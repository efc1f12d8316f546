//! Consent categories and the visitor's decision about them.
//!
//! `necessary` is not a grant: it covers only the decision itself and is always
//! on. Every optional category starts off and is granted only by the visitor.

use serde::{Deserialize, Serialize};

/// What a piece of telemetry is about, and so which grant it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The consent decision itself; always on, carries no identifier.
    Necessary,
    /// Page views, interactions and sessions.
    Usage,
    /// Exceptions and failed requests.
    Errors,
    /// Web vitals and timings.
    Performance,
    /// Campaign and referrer attribution beyond the bare referrer host.
    Marketing,
}

impl Category {
    /// The categories a visitor can grant or refuse, in the order the banner shows them.
    pub const OPTIONAL: [Category; 4] = [
        Category::Usage,
        Category::Errors,
        Category::Performance,
        Category::Marketing,
    ];

    /// The name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Necessary => "necessary",
            Category::Usage => "usage",
            Category::Errors => "errors",
            Category::Performance => "performance",
            Category::Marketing => "marketing",
        }
    }
}

/// Which optional categories the visitor granted. The default grants nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grants {
    #[serde(default)]
    pub usage: bool,
    #[serde(default)]
    pub errors: bool,
    #[serde(default)]
    pub performance: bool,
    #[serde(default)]
    pub marketing: bool,
}

impl Grants {
    /// Every optional category granted ("Accept all").
    pub const ALL: Grants = Grants {
        usage: true,
        errors: true,
        performance: true,
        marketing: true,
    };

    /// Nothing granted ("Reject all").
    pub const NONE: Grants = Grants {
        usage: false,
        errors: false,
        performance: false,
        marketing: false,
    };

    /// Whether telemetry of `category` may be collected under these grants.
    pub fn allows(self, category: Category) -> bool {
        match category {
            Category::Necessary => true,
            Category::Usage => self.usage,
            Category::Errors => self.errors,
            Category::Performance => self.performance,
            Category::Marketing => self.marketing,
        }
    }

    /// What "Accept all" grants. With Global Privacy Control on, `marketing`
    /// is left out: it can only be ticked on its own, never granted in bulk.
    pub fn accept_all(gpc: bool) -> Grants {
        Grants {
            marketing: !gpc,
            ..Grants::ALL
        }
    }

    /// Whether no optional category is granted.
    pub fn is_none(self) -> bool {
        self == Grants::NONE
    }
}

/// A visitor's decision as stored on their device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentDecision {
    /// The policy version the decision was made under.
    pub policy_version: u32,
    pub grants: Grants,
    /// When, ms since the Unix epoch.
    pub decided_at: i64,
    /// A random id for this device's consent records, so that "erase my
    /// data" can find them. It is never sent with events.
    #[serde(default)]
    pub consent_id: String,
    /// Whether the browser sent Global Privacy Control when it was made.
    #[serde(default)]
    pub gpc: bool,
}

impl ConsentDecision {
    /// A stored decision counts only for the policy version it was made under:
    /// a site that raises its version asks again.
    pub fn is_current(&self, policy_version: u32) -> bool {
        self.policy_version == policy_version
    }
}

/// Where a decision was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// The banner shown because no current decision was stored.
    Banner,
    /// The privacy settings, reopened by the visitor.
    Settings,
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::Banner => "banner",
            DecisionSource::Settings => "settings",
        }
    }
}

/// The anonymous record of one decision, sent once to the consent endpoint
/// under `necessary`. It carries no visitor id and no event refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRecord {
    pub site: String,
    /// The device's random consent id (see [`ConsentDecision::consent_id`]).
    pub consent_id: String,
    pub grants: Grants,
    pub policy_version: u32,
    pub gpc: bool,
    pub source: DecisionSource,
    /// ms since the Unix epoch, on the visitor's device.
    pub decided_at: i64,
}

impl ConsentRecord {
    /// Checks ids and the timestamp like an event's; see [`crate::limits`].
    pub fn validate(&self, now_ms: i64) -> Result<(), crate::Rejection> {
        crate::event::check_site(&self.site)?;
        crate::event::check_id("consent_id", &self.consent_id)?;
        crate::event::check_ts("decided_at", self.decided_at, now_ms)
    }
}

/// The server's answer to a consent record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentReceipt {
    /// False when this record had been stored before (a retried send).
    pub stored: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_granted_by_default() {
        let grants = Grants::default();
        for category in Category::OPTIONAL {
            assert!(!grants.allows(category), "{category:?} granted by default");
        }
        assert!(grants.allows(Category::Necessary));
    }

    #[test]
    fn a_missing_category_on_the_wire_means_refused() {
        let grants: Grants = serde_json::from_str(r#"{"usage":true}"#).unwrap();
        assert!(grants.allows(Category::Usage));
        assert!(!grants.allows(Category::Marketing));
    }

    #[test]
    fn a_new_policy_version_invalidates_the_stored_decision() {
        let decision = ConsentDecision {
            policy_version: 1,
            grants: Grants::ALL,
            decided_at: 0,
            consent_id: "c1".into(),
            gpc: false,
        };
        assert!(decision.is_current(1));
        assert!(!decision.is_current(2));
    }

    #[test]
    fn under_gpc_accept_all_leaves_marketing_off() {
        let grants = Grants::accept_all(true);
        assert!(grants.usage && grants.errors && grants.performance);
        assert!(!grants.marketing);
        assert_eq!(Grants::accept_all(false), Grants::ALL);
    }

    #[test]
    fn a_decision_stored_before_consent_ids_still_loads() {
        let json = r#"{"policy_version":1,"grants":{"usage":true},"decided_at":5}"#;
        let decision: ConsentDecision = serde_json::from_str(json).unwrap();
        assert!(decision.grants.usage);
        assert!(decision.consent_id.is_empty());
    }
}
