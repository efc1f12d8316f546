//! Sites: who may send events, and from which origins.

use std::collections::HashMap;

/// A site instrumented with Sonde.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The public key pages send with every batch.
    pub key: String,
    /// Origins (`scheme://host[:port]`) allowed to send events; `*` allows any.
    pub origins: Vec<String>,
}

impl Site {
    /// Parses `KEY=ORIGIN[,ORIGIN...]`, the form used by the CLI and environment.
    pub fn parse(spec: &str) -> Result<Site, String> {
        let (key, origins) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=ORIGIN[,ORIGIN...], got {spec:?}"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("the site key is empty in {spec:?}"));
        }
        let origins: Vec<String> = origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Err(format!("site {key:?} has no allowed origin"));
        }
        Ok(Site {
            key: key.to_owned(),
            origins,
        })
    }

    /// Whether a browser page at `origin` may send events for this site.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }
}

/// The configured sites, by key.
#[derive(Clone, Debug, Default)]
pub struct Sites(HashMap<String, Site>);

impl Sites {
    pub fn new(sites: impl IntoIterator<Item = Site>) -> Self {
        Sites(sites.into_iter().map(|s| (s.key.clone(), s)).collect())
    }

    pub fn get(&self, key: &str) -> Option<&Site> {
        self.0.get(key)
    }

    /// Whether any site accepts `origin`; used to answer CORS preflights,
    /// which do not say which site the batch is for.
    pub fn any_allows_origin(&self, origin: &str) -> bool {
        self.0.values().any(|s| s.allows_origin(origin))
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.0.keys().cloned().collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_site_with_several_origins() {
        let site = Site::parse("shop=https://shop.example/, https://www.shop.example").unwrap();
        assert_eq!(site.key, "shop");
        assert!(site.allows_origin("https://shop.example"));
        assert!(site.allows_origin("https://www.shop.example"));
        assert!(!site.allows_origin("https://evil.example"));
    }

    #[test]
    fn refuses_a_site_without_origins_or_key() {
        assert!(Site::parse("shop").unwrap_err().contains("KEY=ORIGIN"));
        assert!(
            Site::parse("shop=")
                .unwrap_err()
                .contains("no allowed origin")
        );
        assert!(
            Site::parse("=https://a.example")
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn a_wildcard_allows_any_origin() {
        assert!(
            Site::parse("dev=*")
                .unwrap()
                .allows_origin("http://localhost:3000")
        );
    }
}
