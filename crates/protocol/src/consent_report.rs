//! The consent report, for the privacy owner: how often the banner was
//! shown, how visitors decided, how often each category was granted, and
//! how many browsers sent Global Privacy Control.
//!
//! Definitions, for decisions made in `[from, to)`:
//! - *banners shown* counts downloads of the banner's code on the site's
//!   days that the period touches (the only count Sonde has before a
//!   decision: nothing is sent until the visitor decides);
//! - a banner decision is *accept all* when every optional category was
//!   granted, or every one but marketing under Global Privacy Control (what
//!   "Accept all" grants then); *reject all* when none was; *custom*
//!   otherwise. Changes made later in the privacy settings are counted apart;
//! - a category's *grant rate* is the share of banner decisions granting it;
//! - the *answer rate* is banner decisions over banners shown.

use serde::{Deserialize, Serialize};

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsentReportQuery {
    pub site: String,
    /// Start, ms since the Unix epoch (inclusive).
    pub from: i64,
    /// End, ms since the Unix epoch (exclusive).
    pub to: i64,
}

/// Shares of banner decisions granting each category, 0 to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantRates {
    pub usage: f64,
    pub errors: f64,
    pub performance: f64,
    pub marketing: f64,
}

/// The answer to a [`ConsentReportQuery`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentReport {
    pub banners_shown: u64,
    /// Decisions made in the banner.
    pub decisions: u64,
    pub accept_all: u64,
    pub reject_all: u64,
    pub custom: u64,
    /// Decisions changed later in the privacy settings.
    pub settings_changes: u64,
    pub grant_rates: GrantRates,
    /// Share of banner decisions made with Global Privacy Control on, 0 to 1.
    pub gpc_share: f64,
    /// Banner decisions over banners shown, 0 to 1; `None` without banners.
    pub answer_rate: Option<f64>,
}
