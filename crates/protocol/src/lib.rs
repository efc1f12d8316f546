//! Sonde's wire protocol, shared by the browser (collector, web app) and the
//! server. This crate is the one definition of what travels over HTTP: the
//! events and batches the collector sends, the consent state they carry, the
//! queries the dashboard asks, the errors the server answers, and the limits
//! both sides enforce. It compiles for wasm32 and natively, and holds no I/O.

pub mod account;
pub mod alert;
pub mod annotation;
pub mod api_key;
pub mod comparison;
pub mod consent;
pub mod consent_report;
pub mod digest;
pub mod erase;
pub mod error;
pub mod errors;
pub mod event;
pub mod events_report;
pub mod filters;
pub mod funnel;
pub mod goal;
pub mod imported;
pub mod json;
pub mod limits;
pub mod overview;
pub mod performance;
pub mod raw_events;
pub mod scrub;
pub mod site;
pub mod usage;

pub use comparison::Versus;
pub use consent::{
    Category, ConsentDecision, ConsentReceipt, ConsentRecord, DecisionSource, Grants,
};
pub use erase::{EraseReceipt, EraseRequest};
pub use error::ApiError;
pub use event::{
    Batch, Campaign, ErrorReport, Event, EventData, IngestReceipt, PropValue, Props, RejectedEvent,
    Rejection, Vital,
};
pub use filters::Filters;
pub use site::{
    BannerSettings, DASHBOARD_SITE, DashboardTelemetry, Retention, SiteSettings, SiteSummary,
};
pub use usage::{Granularity, PageStat, UsagePoint, UsageQuery, UsageReport};
