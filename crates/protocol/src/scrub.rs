//! Removing personal data from what the browser sees before it is sent, and
//! again at ingest: one implementation, so both sides apply the same rules.
//!
//! A URL keeps its path and its `utm_*` parameters; every other query
//! parameter and the fragment are dropped, since they routinely carry e-mail
//! addresses, search terms, tokens and ids.

/// Reduces a URL (absolute, or a path) to its path and its `utm_*` parameters.
pub fn page_url(url: &str) -> String {
    let without_origin = match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        None => url,
    };
    let without_fragment = without_origin.split('#').next().unwrap_or_default();
    let (path, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let path = if path.is_empty() { "/" } else { path };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.starts_with("utm_"))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Reduces a referrer (a URL, or already a bare host) to its host, the only
/// part kept without the `marketing` grant. `None` when there is no host.
pub fn referrer_host(referrer: &str) -> Option<String> {
    let rest = referrer
        .split_once("://")
        .map_or(referrer, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    // Drop any credentials, then the port.
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    let plausible = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']'));
    plausible.then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_path_and_utm_parameters_only() {
        assert_eq!(
            page_url(
                "https://shop.example/cart?email=a@b.c&utm_source=news&id=42&utm_medium=mail#top"
            ),
            "/cart?utm_source=news&utm_medium=mail"
        );
    }

    #[test]
    fn drops_the_fragment_and_other_parameters_from_paths() {
        assert_eq!(page_url("/search?q=my+name#results"), "/search");
        assert_eq!(page_url("/"), "/");
    }

    #[test]
    fn an_origin_without_a_path_is_the_root() {
        assert_eq!(page_url("https://shop.example"), "/");
        assert_eq!(page_url("https://shop.example?token=abc"), "/");
        assert_eq!(page_url(""), "/");
    }

    #[test]
    fn a_referrer_is_reduced_to_its_host() {
        assert_eq!(
            referrer_host("https://user:pw@News.Example:8443/a/b?x=1").as_deref(),
            Some("news.example")
        );
        assert_eq!(referrer_host(""), None);
        assert_eq!(
            referrer_host("News.Example").as_deref(),
            Some("news.example")
        );
        assert_eq!(referrer_host("not a host"), None);
    }
}
