//! `GET /api/events`: what visitors did besides viewing pages (custom
//! events, marked clicks, forms sent, outbound links and downloads): each
//! event's count, visitors and value over a period, and for one chosen
//! event its figures per bucket of time and a breakdown by property.
//!
//! An event is its kind and its name: a custom event's, click's or form's
//! name, a link's or download's address. A row (an event, a property's
//! value) of fewer than k visitors is counted but not listed, as in every
//! breakdown.

use serde::{Deserialize, Serialize};

/// What kind of interaction an event is, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Custom,
    Click,
    FormSubmit,
    Outbound,
    Download,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 5] = [
        InteractionKind::Custom,
        InteractionKind::Click,
        InteractionKind::FormSubmit,
        InteractionKind::Outbound,
        InteractionKind::Download,
    ];

    /// As the events table names it.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Custom => "custom",
            InteractionKind::Click => "click",
            InteractionKind::FormSubmit => "form_submit",
            InteractionKind::Outbound => "outbound",
            InteractionKind::Download => "download",
        }
    }

    pub fn parse(text: &str) -> Option<InteractionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// How the dashboard names it.
    pub fn label(self) -> &'static str {
        match self {
            InteractionKind::Custom => "Custom event",
            InteractionKind::Click => "Click",
            InteractionKind::FormSubmit => "Form sent",
            InteractionKind::Outbound => "Outbound link",
            InteractionKind::Download => "Download",
        }
    }

    /// Whether a funnel step or a goal can name it: an event step matches
    /// custom events, clicks and forms by name.
    pub fn is_step(self) -> bool {
        matches!(
            self,
            InteractionKind::Custom | InteractionKind::Click | InteractionKind::FormSubmit
        )
    }
}

/// `GET /api/events?site=&from=&to=[&granularity=][&FILTERS][&kind=&name=]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct EventsQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    #[serde(default)]
    pub granularity: crate::Granularity,
    /// Sessions to count: see [`crate::filters`].
    #[serde(flatten)]
    pub filters: crate::Filters,
    /// The chosen event's kind, with `name`: its series and properties.
    #[serde(default)]
    pub kind: Option<InteractionKind>,
    #[serde(default)]
    pub name: Option<String>,
}

/// One event over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventStat {
    pub kind: InteractionKind,
    pub name: String,
    /// Times it happened.
    pub count: u64,
    /// Visitors it happened to.
    pub visitors: u64,
    /// The sum of its values, when any occurrence had one.
    pub value: Option<f64>,
}

/// The chosen event in one bucket of time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPoint {
    pub start: i64,
    /// The bucket's start on the site's calendar.
    pub local: String,
    pub count: u64,
    pub visitors: u64,
    pub value: f64,
}

/// The chosen event's occurrences with one value of one property.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyStat {
    pub property: String,
    pub value: String,
    pub count: u64,
    pub visitors: u64,
}

/// The chosen event: per bucket, and by property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChosenEvent {
    pub kind: InteractionKind,
    pub name: String,
    /// Every bucket of the period, empty ones as zero.
    pub series: Vec<EventPoint>,
    /// By property and then by count; values of fewer than k visitors
    /// left out.
    pub properties: Vec<PropertyStat>,
    /// Property values left out for having fewer than k visitors.
    pub hidden_properties: u64,
}

/// `GET /api/events`' answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsReport {
    /// Rows need this many visitors to be listed.
    pub k: u64,
    /// By count, then kind and name; events of fewer than k visitors left
    /// out.
    pub events: Vec<EventStat>,
    /// Events left out for having fewer than k visitors, and their count.
    pub hidden_events: u64,
    pub hidden_count: u64,
    pub chosen: Option<ChosenEvent>,
}
