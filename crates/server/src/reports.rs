//! What each dashboard report means, apart from any store and from HTTP:
//! the definitions and arithmetic of every report (ratios, tie order,
//! small-group suppression, top-N, percentiles, funnel following), in pure
//! Rust, tested natively. A store answers with counts and rows only; each
//! module says, under "What a store provides", exactly which rows, in what
//! order and with what ties, because every engine (DuckDB today, ClickHouse
//! next) must meet the same contract.
//!
//! Nothing here does I/O or knows about HTTP: a module here imports only
//! the protocol crate and its siblings. The store imports this module's row
//! types, never the other way round.

pub mod alerts;
pub mod buckets;
pub mod consent;
pub mod consent_log;
pub mod conversions;
pub mod errors;
pub mod events;
pub mod funnel;
pub mod imported;
pub mod overview;
pub mod performance;
pub mod small_groups;
pub mod usage;

use sonde_protocol::{Filters, Versus};

/// What a report covers: a site's events in `[from, to)`, of the sessions
/// the filters select (all of them without filters; see
/// [`sonde_protocol::filters`]).
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub site: &'a str,
    pub from: i64,
    pub to: i64,
    pub filters: &'a Filters,
    /// Only sessions with an error in the period (the errors report follows
    /// them through the funnels without following every session).
    pub with_errors: bool,
}

static NO_FILTERS: Filters = Filters {
    page: None,
    entry_page: None,
    source: None,
    medium: None,
    campaign: None,
    referrer: None,
    browser: None,
    os: None,
    device: None,
};

impl<'a> Scope<'a> {
    pub fn new(site: &'a str, from: i64, to: i64, filters: &'a Filters) -> Self {
        Scope {
            site,
            from,
            to,
            filters,
            with_errors: false,
        }
    }

    /// Only the sessions with an error in the period.
    pub fn with_errors(self) -> Self {
        Scope {
            with_errors: true,
            ..self
        }
    }

    /// Every session of the site in `[from, to)`.
    pub fn unfiltered(site: &'a str, from: i64, to: i64) -> Self {
        Scope::new(site, from, to, &NO_FILTERS)
    }

    /// The period of the same length just before, with the same filters.
    pub fn previous(self) -> Self {
        self.versus(Versus::Previous)
    }

    /// The period `versus` compares this one with, with the same filters.
    pub fn versus(self, versus: Versus) -> Self {
        let (from, to) = versus.period(self.from, self.to);
        Scope { from, to, ..self }
    }
}
