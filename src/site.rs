//! The site the dashboard shows. The reader's sites are fetched once, when
//! the reader is known, and the chosen one is provided to every page as a
//! context ([`CurrentSite`]); the API client is given it with each call.

use leptos::prelude::*;
use sonde_protocol::SiteSummary;

use crate::api::{self, ClientError};

/// The site shown when the reader may see it (the demo), else the first one.
const PREFERRED_SITE: &str = "demo";

/// The site every page reports on, once the reader's sites are known.
#[derive(Clone, Copy)]
pub struct CurrentSite(LocalResource<Result<String, ClientError>>);

impl CurrentSite {
    /// Fetches the reader's sites and provides the chosen one to the
    /// components below.
    pub fn provide() {
        provide_context(CurrentSite(LocalResource::new(|| async {
            choose(&api::sites().await?)
        })));
    }

    /// The site's key; `None` while the sites are loading.
    pub fn get(&self) -> Option<Result<String, ClientError>> {
        self.0.get()
    }
}

/// The site the dashboard shows of the reader's `sites`.
fn choose(sites: &[SiteSummary]) -> Result<String, ClientError> {
    sites
        .iter()
        .find(|s| s.key == PREFERRED_SITE)
        .or(sites.first())
        .map(|s| s.key.clone())
        .ok_or_else(|| ClientError::Decode("the server has no site configured".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(key: &str) -> SiteSummary {
        SiteSummary { key: key.into() }
    }

    #[test]
    fn the_demo_is_shown_when_the_reader_may_see_it_else_the_first_site() {
        assert_eq!(choose(&[site("shop"), site("demo")]), Ok("demo".into()));
        assert_eq!(choose(&[site("shop"), site("blog")]), Ok("shop".into()));
        assert!(matches!(choose(&[]), Err(ClientError::Decode(_))));
    }
}
