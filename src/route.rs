//! The dashboard's pages, named once: the router matches them and the
//! navigation links to them, so a path and its link cannot drift apart.

use leptos_router::{PartialPathMatch, PathSegment, PossibleRouteMatch, StaticSegment};

/// A page of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Overview,
    Funnels,
    Conversions,
    Events,
    Errors,
    Performance,
    Consent,
    Annotations,
    Alerts,
    Digests,
    ApiKeys,
    People,
}

impl Page {
    /// Every page, in the order of the navigation.
    pub const ALL: [Page; 12] = [
        Page::Overview,
        Page::Funnels,
        Page::Conversions,
        Page::Events,
        Page::Errors,
        Page::Performance,
        Page::Consent,
        Page::Annotations,
        Page::Alerts,
        Page::Digests,
        Page::ApiKeys,
        Page::People,
    ];

    /// Where the page is (`/funnels`).
    pub fn path(self) -> &'static str {
        match self {
            Page::Overview => "/",
            Page::Funnels => "/funnels",
            Page::Conversions => "/conversions",
            Page::Events => "/events",
            Page::Errors => "/errors",
            Page::Performance => "/performance",
            Page::Consent => "/consent",
            Page::Annotations => "/annotations",
            Page::Alerts => "/alerts",
            Page::Digests => "/digests",
            Page::ApiKeys => "/api-keys",
            Page::People => "/people",
        }
    }

    /// The page's name, in the navigation and as its heading.
    pub fn label(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Funnels => "Funnels",
            Page::Conversions => "Conversions",
            Page::Events => "Events",
            Page::Errors => "Errors",
            Page::Performance => "Performance",
            Page::Consent => "Consent",
            Page::Annotations => "Annotations",
            Page::Alerts => "Alerts",
            Page::Digests => "Digests",
            Page::ApiKeys => "API keys",
            Page::People => "People",
        }
    }

    /// Whether only people signed in may open it (a share link shows
    /// reports, not the site's internal settings).
    pub fn needs_account(self) -> bool {
        matches!(
            self,
            Page::Alerts | Page::Digests | Page::ApiKeys | Page::People
        )
    }

    /// Whether only admins may open it (it lists people's addresses, or
    /// makes keys or people).
    pub fn needs_admin(self) -> bool {
        matches!(self, Page::Digests | Page::ApiKeys | Page::People)
    }
}

/// A page is its own route: `<Route path=Page::Funnels …/>`.
impl PossibleRouteMatch for Page {
    fn optional(&self) -> bool {
        false
    }

    fn test<'a>(&self, path: &'a str) -> Option<PartialPathMatch<'a>> {
        match self {
            // The root is the empty segment list, as `path!("/")` writes it.
            Page::Overview => ().test(path),
            page => StaticSegment(page.path()).test(path),
        }
    }

    fn generate_path(&self, path: &mut Vec<PathSegment>) {
        match self {
            Page::Overview => ().generate_path(path),
            page => StaticSegment(page.path()).generate_path(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pages whose route matches all of `path`.
    fn matching(path: &str) -> Vec<Page> {
        Page::ALL
            .into_iter()
            .filter(|page| {
                page.test(path)
                    .is_some_and(|m| m.remaining().is_empty() || m.remaining() == "/")
            })
            .collect()
    }

    #[test]
    fn each_page_is_reached_at_its_own_path_and_only_there() {
        for page in Page::ALL {
            assert_eq!(matching(page.path()), [page], "{}", page.path());
        }
        assert_eq!(matching("/funnelsx"), []);
        assert_eq!(matching("/nowhere"), []);
    }

    #[test]
    fn pages_have_distinct_paths_and_names() {
        for a in Page::ALL {
            for b in Page::ALL {
                if a != b {
                    assert_ne!(a.path(), b.path());
                    assert_ne!(a.label(), b.label());
                }
            }
        }
    }
}
