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
        // `?site=` (as alerts and e-mails link) picks the site when the
        // reader may see it.
        let wanted = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
            .and_then(|q| q.get("site"));
        provide_context(CurrentSite(LocalResource::new(move || {
            let wanted = wanted.clone();
            async move { choose(&api::sites().await?, wanted.as_deref()) }
        })));
    }

    /// The site's key; `None` while the sites are loading.
    pub fn get(&self) -> Option<Result<String, ClientError>> {
        self.0.get()
    }
}

/// The site the dashboard shows of the reader's `sites`: the one `wanted`
/// when it is among them.
fn choose(sites: &[SiteSummary], wanted: Option<&str>) -> Result<String, ClientError> {
    sites
        .iter()
        .find(|s| Some(s.key.as_str()) == wanted)
        .or_else(|| sites.iter().find(|s| s.key == PREFERRED_SITE))
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
        assert_eq!(
            choose(&[site("shop"), site("demo")], None),
            Ok("demo".into())
        );
        assert_eq!(
            choose(&[site("shop"), site("blog")], None),
            Ok("shop".into())
        );
        assert!(matches!(choose(&[], None), Err(ClientError::Decode(_))));
    }

    #[test]
    fn a_site_named_in_the_url_is_shown_when_the_reader_may_see_it() {
        let sites = [site("shop"), site("demo")];
        assert_eq!(choose(&sites, Some("shop")), Ok("shop".into()));
        assert_eq!(choose(&sites, Some("secret")), Ok("demo".into()));
    }
}
