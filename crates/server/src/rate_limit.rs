//! Rate limits on ingest, per visitor and per site, with the `governor`
//! crate (GCRA): one runaway browser cannot crowd out a site's other
//! visitors, and one flooded site cannot crowd out the others. A refused
//! request is answered 429 with `Retry-After`, which the collector honours
//! by backing off.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Seconds' worth of requests a key may send at once before the rate applies.
const BURST_SECONDS: u32 = 10;

/// Sustained requests per second; 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_visitor: u32,
    pub per_site: u32,
}

#[derive(Debug)]
pub struct RateLimits {
    /// Keyed by the visitor id, which is already specific to its site.
    visitors: Option<DefaultKeyedRateLimiter<i64>>,
    sites: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = rate.saturating_mul(NonZeroU32::new(BURST_SECONDS).expect("not zero"));
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl RateLimits {
    pub fn new(limits: Limits) -> Self {
        RateLimits {
            visitors: limiter(limits.per_visitor),
            sites: limiter(limits.per_site),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `site` must wait before sending again.
    pub fn check_site(&self, site: &str) -> Result<(), Duration> {
        let Some(sites) = &self.sites else {
            return Ok(());
        };
        sites
            .check_key(&site.to_owned())
            .map_err(|until| until.wait_time_from(self.clock.now()))
    }

    /// `Err(wait)` when this visitor must wait before sending again.
    pub fn check_visitor(&self, visitor: i64) -> Result<(), Duration> {
        let Some(visitors) = &self.visitors else {
            return Ok(());
        };
        visitors
            .check_key(&visitor)
            .map_err(|until| until.wait_time_from(self.clock.now()))
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
        });
        for _ in 0..BURST_SECONDS {
            assert_eq!(limits.check_site("shop"), Ok(()));
        }
        assert!(limits.check_site("shop").is_err());
        assert_eq!(limits.check_site("blog"), Ok(()));
    }
}
