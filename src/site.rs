//! The site the dashboard shows. The reader's sites are fetched once, when
//! the reader is known, and the chosen one is provided to every page as a
//! context ([`CurrentSite`]); the API client is given it with each call.
//! A reader of more than one site switches with [`SiteSwitcher`].

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};
use sonde_protocol::SiteSummary;

use crate::api::{self, ClientError};
use crate::controls::query::href;

/// The site shown when the reader may see it (the demo), else the first one.
const PREFERRED_SITE: &str = "demo";

/// The site every page reports on, once the reader's sites are known.
#[derive(Clone, Copy)]
pub struct CurrentSite(LocalResource<Result<ReaderSites, ClientError>>);

/// The sites the reader may see, and the one shown.
#[derive(Clone, Debug, PartialEq)]
struct ReaderSites {
    shown: String,
    all: Vec<String>,
}

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
            async move {
                let sites = api::sites().await?;
                Ok(ReaderSites {
                    shown: choose(&sites, wanted.as_deref())?,
                    all: sites.into_iter().map(|s| s.key).collect(),
                })
            }
        })));
    }

    /// The site's key; `None` while the sites are loading.
    pub fn get(&self) -> Option<Result<String, ClientError>> {
        self.0.get().map(|sites| sites.map(|s| s.shown))
    }

    /// Every site the reader may see, by key; empty while loading.
    fn all(&self) -> Vec<String> {
        self.0
            .get()
            .and_then(Result::ok)
            .map(|s| s.all)
            .unwrap_or_default()
    }
}

/// The site shown, to choose another of the reader's: shown only to a
/// reader of more than one site. Choosing opens the same page and view on
/// the other site (the whole app starts again on it, as with `?site=`).
#[component]
pub fn SiteSwitcher() -> impl IntoView {
    let site = expect_context::<CurrentSite>();
    let location = use_location();
    let query = use_query_map();
    let switch = move |ev: leptos::ev::Event| {
        let key = event_target_value(&ev);
        let to = href(
            &location.pathname.get_untracked(),
            &query.read_untracked(),
            "site",
            Some(&key),
        );
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_href(&to);
        }
    };
    move || {
        let all = site.all();
        let shown = site.get().and_then(Result::ok).unwrap_or_default();
        (all.len() > 1).then(|| {
            view! {
                <label class="site-switcher">
                    "Site "
                    <select name="site" on:change=switch>
                        {all
                            .into_iter()
                            .map(|key| {
                                let selected = key == shown;
                                view! { <option value=key.clone() selected=selected>{key.clone()}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
            }
        })
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
