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
//! - the *answer rate* is banner decisions over banners shown;
//! - *coverage* estimates the share of visits that granted usage: banner
//!   decisions granting usage over banners shown, with a 95 % Wilson
//!   interval (a banner not answered grants nothing);
//! - the *estimated visits* correct the visits Sonde counted for those it
//!   could not: counted visits over coverage, with the interval carried
//!   through. It assumes visitors who declined visit like those who
//!   accepted, and that each banner shown is one visit's first page; it is
//!   an estimate and is labelled as one.
//!
//! The report takes no session filters: a consent decision is deliberately
//! not linked to the visits it allowed, so there is nothing to filter it by.

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
    /// Also answer for the compared period (see `versus`).
    #[serde(default)]
    pub compare: bool,
    /// What `compare` compares with: `previous` (the default) or
    /// `year_before` (the same weekdays 52 weeks back).
    #[serde(default)]
    pub versus: crate::Versus,
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
    /// Banner decisions per day of the site's calendar.
    #[serde(default)]
    pub per_day: Vec<ConsentDay>,
    /// Grant rates of banner decisions by device class.
    #[serde(default)]
    pub by_device: Vec<GrantsBy>,
    /// Grant rates by where the decision was made (banner, settings).
    #[serde(default)]
    pub by_decision_source: Vec<GrantsBy>,
    #[serde(default)]
    pub coverage: Option<Estimate>,
    /// Visits of the period corrected for those who did not grant usage.
    #[serde(default)]
    pub estimated_visits: Option<Estimate>,
    /// Visits Sonde counted (with usage granted).
    #[serde(default)]
    pub counted_visits: u64,
    /// The period just before, when `compare` was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ConsentTotals>,
}

/// A period's banner decisions in brief.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentTotals {
    pub banners_shown: u64,
    pub decisions: u64,
    pub accept_all: u64,
    pub reject_all: u64,
    pub custom: u64,
    pub grant_rates: GrantRates,
    pub gpc_share: f64,
    pub coverage: Option<Estimate>,
}

impl ConsentReport {
    /// The figures [`ConsentTotals`] keeps.
    pub fn totals(&self) -> ConsentTotals {
        ConsentTotals {
            banners_shown: self.banners_shown,
            decisions: self.decisions,
            accept_all: self.accept_all,
            reject_all: self.reject_all,
            custom: self.custom,
            grant_rates: self.grant_rates,
            gpc_share: self.gpc_share,
            coverage: self.coverage,
        }
    }
}

/// Banner decisions on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentDay {
    /// `YYYY-MM-DD` on the site's calendar.
    pub day: String,
    pub accept_all: u64,
    pub reject_all: u64,
    pub custom: u64,
}

/// Grant rates of one group of decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantsBy {
    pub label: String,
    pub decisions: u64,
    pub grant_rates: GrantRates,
}

/// An estimate and its 95 % interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `GET /api/consent-log`: the consent records of a period, exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsentLogQuery {
    pub site: String,
    pub from: i64,
    pub to: i64,
    /// `csv` or `jsonl`.
    #[serde(default = "jsonl")]
    pub format: String,
}

fn jsonl() -> String {
    "jsonl".into()
}

/// One consent record of the log, chained to the one before it when it
/// was stored: `seq` is its place in the site's chain (from 1), `hash` is
/// BLAKE3 of `prev_hash` and the record's fields (see
/// [`ConsentLogEntry::chained_text`]); the first record's `prev_hash` is 64
/// zeros. Changing, removing or inserting a record breaks every link after
/// it. A record erased at the visitor's request keeps its place, `seq`,
/// `prev_hash` and `hash`, with its fields emptied and `erased` set, so
/// the chain still links and the erasure shows as one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentLogEntry {
    pub seq: u64,
    pub site: String,
    pub consent_id: String,
    /// ms since the epoch, on the visitor's device.
    pub decided_at: i64,
    pub policy_version: u32,
    /// `banner` or `settings`.
    pub source: String,
    pub gpc: bool,
    pub usage: bool,
    pub errors: bool,
    pub performance: bool,
    pub marketing: bool,
    /// desktop, mobile, tablet or unknown.
    pub device: String,
    pub prev_hash: String,
    pub hash: String,
    /// Erased at the visitor's request: only its place in the chain is left.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}

impl ConsentLogEntry {
    /// The text the hash covers: the previous hash and every field but the
    /// hashes, `|`-separated, in the order of the struct.
    pub fn chained_text(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.prev_hash,
            self.seq,
            self.site,
            self.consent_id,
            self.decided_at,
            self.policy_version,
            self.source,
            self.gpc,
            self.usage,
            self.errors,
            self.performance,
            self.marketing,
            self.device
        )
    }
}

/// The CSV header of an exported consent log, in the order of the fields.
pub const CONSENT_LOG_CSV_HEADER: &str = "seq,site,consent_id,decided_at,policy_version,source,gpc,usage,errors,performance,marketing,device,prev_hash,hash,erased";
