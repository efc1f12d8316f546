//! Rate limits, with the `governor` crate (GCRA). Ingest is limited per
//! visitor and per site: one runaway browser cannot crowd out a site's
//! other visitors, and one flooded site cannot crowd out the others. The
//! other public endpoints (consent, erase, banner settings) are limited per
//! client address, and sign-in per client address besides the lockout of
//! an account, so one client cannot try passwords across accounts. A client
//! is known by a keyed hash of its address ([`crate::visitor::client_key`]),
//! never the address. A refused request is answered 429 with
//! `Retry-After`, which the collector honours by backing off.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Seconds' worth of requests a key may send at once before the rate applies.
const BURST_SECONDS: u32 = 10;

/// Sustained rates; 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Ingest requests per second of one visitor.
    pub per_visitor: u32,
    /// Ingest requests per second of one site.
    pub per_site: u32,
    /// Consent, erase and banner requests per second of one client.
    pub per_client: u32,
    /// Sign-in attempts per minute of one client.
    pub sign_ins_per_minute: u32,
}

#[derive(Debug)]
pub struct RateLimits {
    /// Keyed by the visitor id, which is already specific to its site.
    visitors: Option<DefaultKeyedRateLimiter<i64>>,
    sites: Option<DefaultKeyedRateLimiter<String>>,
    /// Keyed by the client key.
    clients: Option<DefaultKeyedRateLimiter<u64>>,
    sign_ins: Option<DefaultKeyedRateLimiter<u64>>,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = rate.saturating_mul(NonZeroU32::new(BURST_SECONDS).expect("not zero"));
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// `per_minute` a minute, all of them at once if need be.
fn per_minute<K: std::hash::Hash + Eq + Clone>(
    per_minute: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_minute)?;
    Some(RateLimiter::keyed(Quota::per_minute(rate)))
}

/// `Err(wait)` when `key` must wait before its next request.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
    clock: &DefaultClock,
) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter
        .check_key(key)
        .map_err(|until| until.wait_time_from(clock.now()))
}

impl RateLimits {
    pub fn new(limits: Limits) -> Self {
        RateLimits {
            visitors: limiter(limits.per_visitor),
            sites: limiter(limits.per_site),
            clients: limiter(limits.per_client),
            sign_ins: per_minute(limits.sign_ins_per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when this client must wait before its next consent,
    /// erase or banner request.
    pub fn check_client(&self, client: u64) -> Result<(), Duration> {
        check(&self.clients, &client, &self.clock)
    }

    /// `Err(wait)` when this client must wait before trying to sign in
    /// again.
    pub fn check_sign_in(&self, client: u64) -> Result<(), Duration> {
        check(&self.sign_ins, &client, &self.clock)
    }

    /// `Err(wait)` when `site` must wait before sending again.
    pub fn check_site(&self, site: &str) -> Result<(), Duration> {
        check(&self.sites, &site.to_owned(), &self.clock)
    }

    /// `Err(wait)` when this visitor must wait before sending again.
    pub fn check_visitor(&self, visitor: i64) -> Result<(), Duration> {
        check(&self.visitors, &visitor, &self.clock)
    }

    /// Forgets keys whose allowance is full again, so memory follows the
    /// active visitors rather than every visitor ever seen.
    pub fn forget_idle(&self) {
        if let Some(visitors) = &self.visitors {
            visitors.retain_recent();
            visitors.shrink_to_fit();
        }
        if let Some(sites) = &self.sites {
            sites.retain_recent();
        }
        for clients in [&self.clients, &self.sign_ins].into_iter().flatten() {
            clients.retain_recent();
            clients.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_gets_a_burst_then_must_wait_while_others_go_on() {
        let limits = RateLimits::new(Limits {
            per_visitor: 2,
            per_site: 0,
            per_client: 0,
            sign_ins_per_minute: 0,
        });
        for _ in 0..2 * BURST_SECONDS {
            assert_eq!(limits.check_visitor(1), Ok(()));
        }
        let wait = limits.check_visitor(1).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
        assert_eq!(limits.check_visitor(2), Ok(()), "another visitor");
        assert_eq!(limits.check_site("shop"), Ok(()), "no site limit");
    }

    #[test]
    fn a_site_limit_holds_across_its_visitors() {
        let limits = RateLimits::new(Limits {
            per_visitor: 0,
            per_site: 1,
            per_client: 0,
            sign_ins_per_minute: 0,
        });
        for _ in 0..BURST_SECONDS {
            assert_eq!(limits.check_site("shop"), Ok(()));
        }
        assert!(limits.check_site("shop").is_err());
        assert_eq!(limits.check_site("blog"), Ok(()));
    }

    #[test]
    fn sign_ins_are_counted_per_minute_per_client() {
        let limits = RateLimits::new(Limits {
            per_visitor: 0,
            per_site: 0,
            per_client: 0,
            sign_ins_per_minute: 3,
        });
        for _ in 0..3 {
            assert_eq!(limits.check_sign_in(7), Ok(()));
        }
        let wait = limits.check_sign_in(7).unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20));
        assert_eq!(limits.check_sign_in(8), Ok(()), "another client");
        assert_eq!(limits.check_client(7), Ok(()), "no client limit");
    }
}
