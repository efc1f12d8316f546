//! Funnels: the steps a product manager expects visitors to take, and what
//! share of them take each one.
//!
//! The semantics, exactly:
//! - A funnel has 2 to 8 steps. A step is a page (a path, where `*` stands
//!   for any run of characters: `/products/*`) or an event name (a custom
//!   event, a marked click or a form), optionally with one property that
//!   must have a given value.
//! - It is counted per session or per visitor (a visitor id lasts a day).
//! - A unit enters at any occurrence of step 1. From there each next step
//!   must happen at or after the step before it (the same millisecond
//!   counts: events are taken in the order they were stored) and within the
//!   window of the entry; the earliest such occurrence is taken. One event
//!   satisfies one step only, so a page that is both step 2 and step 3 must
//!   be viewed twice.
//! - When step 1 happens more than once, the entry that reaches the most
//!   steps counts, and among equals the earliest.
//! - Step *n*'s entrants are the units that reached it; its conversion is
//!   against step 1 and against step *n − 1*; its time is the median, over
//!   its entrants, of the time from step *n − 1* to step *n*.

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// Fewest and most steps a funnel may have.
pub const MIN_STEPS: usize = 2;
pub const MAX_STEPS: usize = 8;
/// Longest conversion window: 30 days.
pub const MAX_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// One step of a funnel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// A page view whose path matches `path` (`*` matches any run of characters).
    Page { path: String },
    /// An event of this name, and, when given, with `property` equal to `value`.
    Event {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        property: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
}

/// What a funnel counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FunnelUnit {
    #[default]
    Session,
    Visitor,
}

/// A funnel as a product manager defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelDefinition {
    pub name: String,
    pub steps: Vec<Step>,
    /// How long after entering a unit may take to reach the last step, ms.
    pub window_ms: i64,
    #[serde(default)]
    pub unit: FunnelUnit,
}

/// A funnel to compute over a site's events in `[from, to)` (ms since the
/// epoch): every step must happen in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    pub funnel: FunnelDefinition,
    /// Sessions to count: see [`crate::filters`].
    #[serde(default, skip_serializing_if = "crate::Filters::is_empty")]
    pub filters: crate::Filters,
    /// Also compute the compared period (see `versus`).
    #[serde(default)]
    pub compare: bool,
    /// What `compare` compares with: `previous` (the default) or
    /// `year_before` (the same weekdays 52 weeks back).
    #[serde(default)]
    pub versus: crate::Versus,
    /// Also compute the funnel for each value of one dimension (taken from
    /// each unit's first event of the period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<FunnelDimension>,
}

/// What a funnel can be broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FunnelDimension {
    Browser,
    Os,
    Device,
    /// The referring site of the unit's first page view.
    Source,
    /// The `utm_campaign` of the unit's first page view.
    Campaign,
}

impl FunnelDimension {
    pub const ALL: [FunnelDimension; 5] = [
        FunnelDimension::Browser,
        FunnelDimension::Os,
        FunnelDimension::Device,
        FunnelDimension::Source,
        FunnelDimension::Campaign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FunnelDimension::Browser => "browser",
            FunnelDimension::Os => "os",
            FunnelDimension::Device => "device",
            FunnelDimension::Source => "source",
            FunnelDimension::Campaign => "campaign",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FunnelDimension::Browser => "Browser",
            FunnelDimension::Os => "System",
            FunnelDimension::Device => "Device",
            FunnelDimension::Source => "Source",
            FunnelDimension::Campaign => "Campaign",
        }
    }
}

/// The funnel of the units with one value of the breakdown's dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelGroup {
    pub label: String,
    pub steps: Vec<StepResult>,
}

/// The answer to a [`FunnelQuery`]: one result per step, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelReport {
    pub steps: Vec<StepResult>,
    /// The same funnel over the period just before, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Vec<StepResult>>,
    /// Per value of the breakdown's dimension, most entrants first; values
    /// entered by fewer than k units are counted in `breakdown_hidden`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<FunnelGroup>,
    #[serde(default)]
    pub breakdown_hidden: u64,
}

/// One step's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepResult {
    pub entrants: u64,
    /// Entrants of this step over entrants of step 1, 0 to 1.
    pub from_first: f64,
    /// Entrants of this step over entrants of the step before, 0 to 1.
    pub from_previous: f64,
    /// Units that reached the step before and not this one.
    pub dropped: u64,
    /// Median time from the step before, ms; `None` for step 1 and when no
    /// unit reached the step.
    pub median_ms_from_previous: Option<i64>,
}

impl Step {
    /// Whether a page view of `path` is this step.
    pub fn matches_page(&self, path: &str) -> bool {
        matches!(self, Step::Page { path: pattern } if wildcard(pattern, path))
    }

    /// Whether an event named `name` with `property` (name, value as text)
    /// looked up by `prop` is this step.
    pub fn matches_event(&self, name: &str, prop: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            Step::Event {
                name: wanted,
                property,
                value,
            } => {
                wanted == name
                    && match (property, value) {
                        (Some(key), Some(value)) => prop(key).as_deref() == Some(value),
                        (Some(key), None) => prop(key).is_some(),
                        _ => true,
                    }
            }
            Step::Page { .. } => false,
        }
    }
}

impl FunnelDefinition {
    pub fn validate(&self) -> Result<(), Rejection> {
        let count = self.steps.len();
        if !(MIN_STEPS..=MAX_STEPS).contains(&count) {
            return Err(Rejection::OutOfRange {
                field: "steps".into(),
                min: MIN_STEPS as u64,
                max: MAX_STEPS as u64,
            });
        }
        if !(1..=MAX_WINDOW_MS).contains(&self.window_ms) {
            return Err(Rejection::OutOfRange {
                field: "window_ms".into(),
                min: 1,
                max: MAX_WINDOW_MS as u64,
            });
        }
        for (i, step) in self.steps.iter().enumerate() {
            let (field, text) = match step {
                Step::Page { path } => ("path", path),
                Step::Event { name, .. } => ("name", name),
            };
            if text.trim().is_empty() {
                return Err(Rejection::Empty {
                    field: format!("steps[{i}].{field}"),
                });
            }
        }
        Ok(())
    }
}

/// A funnel kept for a site, to reopen, edit and compare against errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedFunnel {
    pub id: String,
    pub site: String,
    pub funnel: FunnelDefinition,
    /// ms since the epoch.
    pub updated_at: i64,
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters
/// (none included) and everything else matches itself.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_any_run_of_characters() {
        assert!(wildcard("/products/*", "/products/kettle"));
        assert!(wildcard("/products/*", "/products/"));
        assert!(!wildcard("/products/*", "/product"));
        assert!(wildcard("/cart", "/cart"));
        assert!(!wildcard("/cart", "/cart/2"));
        assert!(wildcard("*/thanks", "/shop/thanks"));
        assert!(wildcard("/a/*/c*", "/a/b/cde"));
        assert!(!wildcard("/a/*/c", "/a/b/d"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("/ab*ba", "/aba"), "the parts may not overlap");
    }

    #[test]
    fn a_funnel_needs_two_to_eight_steps_and_a_window() {
        let step = Step::Page { path: "/".into() };
        let mut funnel = FunnelDefinition {
            name: "checkout".into(),
            steps: vec![step.clone()],
            window_ms: 3_600_000,
            unit: FunnelUnit::Session,
        };
        assert_eq!(funnel.validate().unwrap_err().field(), "steps");
        funnel.steps = vec![step.clone(); 9];
        assert_eq!(funnel.validate().unwrap_err().field(), "steps");
        funnel.steps = vec![step, Step::Page { path: " ".into() }];
        assert_eq!(funnel.validate().unwrap_err().field(), "steps[1].path");
        funnel.steps[1] = Step::Page {
            path: "/cart".into(),
        };
        funnel.window_ms = 0;
        assert_eq!(funnel.validate().unwrap_err().field(), "window_ms");
        funnel.window_ms = 60_000;
        assert_eq!(funnel.validate(), Ok(()));
    }

    #[test]
    fn an_event_step_may_ask_for_one_property() {
        let step = Step::Event {
            name: "purchase".into(),
            property: Some("plan".into()),
            value: Some("pro".into()),
        };
        let pro = |k: &str| (k == "plan").then(|| "pro".to_owned());
        let free = |k: &str| (k == "plan").then(|| "free".to_owned());
        assert!(step.matches_event("purchase", pro));
        assert!(!step.matches_event("purchase", free));
        assert!(!step.matches_event("signup", pro));
        assert!(!step.matches_page("purchase"));
    }
}
