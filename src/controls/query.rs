//! The URL's query as the controls change it: one key set or removed, and
//! the keys that travel from page to page. Pure, so tested natively.

use leptos_router::params::ParamsMap;
use sonde_protocol::Filters;

/// `value` as JavaScript's `encodeURIComponent` writes it: every byte of
/// its UTF-8 percent-encoded but letters, digits and `-_.!~*'()`.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `path` with the URL's query, `key` set to `value` (or removed with
/// `None`), everything else kept.
pub fn href(path: &str, query: &ParamsMap, key: &str, value: Option<&str>) -> String {
    href_from(path, pairs(query), key, value)
}

/// The URL parameters that travel from page to page: the range, the
/// comparison, the filters, the site and a share link's token.
pub fn carried(query: &ParamsMap) -> String {
    carried_from(pairs(query))
}

/// A query's pairs, in order, a key once per value.
fn pairs(query: &ParamsMap) -> Vec<(&str, &str)> {
    query.into_iter().map(|(k, v)| (k.as_ref(), v)).collect()
}

fn href_from(path: &str, query: Vec<(&str, &str)>, key: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = query.into_iter().filter(|(k, _)| *k != key).collect();
    if let Some(v) = value {
        pairs.push((key, v));
    }
    pairs.sort();
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn carried_from(query: Vec<(&str, &str)>) -> String {
    let mut pairs: Vec<String> = ["range", "share", "site", "versus"]
        .into_iter()
        .chain(Filters::KEYS)
        .filter_map(|key| {
            // The last value of a repeated key, as `ParamsMap::get` reads it.
            query
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .filter(|(_, v)| !v.is_empty())
                .map(|(_, v)| format!("{key}={}", encode_component(v)))
        })
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ParamsMap` decodes what it is given with the browser's
    // `decodeURIComponent`, so these tests give the pairs directly.

    #[test]
    fn values_are_encoded_as_encode_uri_component_does() {
        assert_eq!(encode_component("news.example"), "news.example");
        assert_eq!(encode_component("/a b?c=d&e"), "%2Fa%20b%3Fc%3Dd%26e");
        assert_eq!(encode_component("it's (ok)!~*"), "it's%20(ok)!~*");
        assert_eq!(encode_component("café"), "caf%C3%A9");
        assert_eq!(encode_component("#+%"), "%23%2B%25");
    }

    #[test]
    fn choosing_a_value_keeps_the_rest_of_the_view() {
        let q = vec![("range", "7d"), ("device", "mobile")];
        assert_eq!(
            href_from("/", q.clone(), "source", Some("news.example")),
            "/?device=mobile&range=7d&source=news.example"
        );
        assert_eq!(
            href_from("/errors", q, "device", Some("desktop")),
            "/errors?device=desktop&range=7d",
            "a key is replaced, not repeated"
        );
    }

    #[test]
    fn removing_a_filter_keeps_the_others_and_the_last_leaves_the_bare_path() {
        let q = vec![("source", "a b"), ("device", "mobile")];
        assert_eq!(
            href_from("/funnels", q, "device", None),
            "/funnels?source=a%20b"
        );
        assert_eq!(
            href_from("/funnels", vec![("device", "mobile")], "device", None),
            "/funnels"
        );
    }

    #[test]
    fn the_range_filters_and_share_token_travel_and_nothing_else() {
        let q = vec![
            ("range", "24h"),
            ("versus", "year_before"),
            ("share", "tok"),
            ("campaign", "spring sale"),
            ("id", "funnel-1"),
            ("goal", "g1"),
            ("page", ""),
        ];
        assert_eq!(
            carried_from(q),
            "?campaign=spring%20sale&range=24h&share=tok&versus=year_before"
        );
        assert_eq!(carried_from(vec![("id", "funnel-1")]), "");
    }
}
