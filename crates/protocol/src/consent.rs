//! Consent categories and the visitor's decision about them.
//!
//! `necessary` is not a grant: it covers only the decision itself and is always
//! on. Every optional category starts off and is granted only by the visitor.

use serde::{Deserialize, Serialize};

/// What a piece of telemetry is about, and so which grant it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    /// Whether no optional category is granted.
    pub fn is_none(self) -> bool {
        self == Grants::NONE
    }
}

/// A visitor's decision as stored on their device: the grants, the policy
/// version they were given for, and when (ms since the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentDecision {
    pub policy_version: u32,
    pub grants: Grants,
    pub decided_at: i64,
}

impl ConsentDecision {
    /// A stored decision counts only for the policy version it was made under:
    /// a site that raises its version asks again.
    pub fn is_current(&self, policy_version: u32) -> bool {
        self.policy_version == policy_version
    }
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
        };
        assert!(decision.is_current(1));
        assert!(!decision.is_current(2));
    }
}
