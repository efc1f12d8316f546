//! The headers that tell browsers what the dashboard may do, on every
//! response: what it may load and run (a content security policy), that no
//! other site may frame it, that no referrer leaves it (dashboard URLs can
//! hold a share link's token), that types are not sniffed, and, when it is
//! reached over HTTPS, to keep to HTTPS. The embed's files are loaded by
//! customers' pages, so they say the opposite of "same origin only"
//! (`Cross-Origin-Resource-Policy: cross-origin`) and carry no page policy.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// What the responses of one server say.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    dashboard_policy: HeaderValue,
}

/// An API answer is data, never a page: it may load nothing.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
const HSTS: &str = "max-age=31536000";

impl SecurityHeaders {
    /// The dashboard's policy, allowing the inline module script Trunk puts
    /// in `index.html` (which starts the app) by its hash, and nothing else
    /// inline. WebAssembly needs `'wasm-unsafe-eval'`; charts and bars set
    /// `style` attributes, hence `style-src 'unsafe-inline'` (styles cannot
    /// run code).
    pub fn new(index_html: Option<&str>) -> Self {
        let hashes: String = index_html
            .map(inline_scripts)
            .unwrap_or_default()
            .iter()
            .map(|script| {
                let digest = Sha256::digest(script.as_bytes());
                let hash = base64::engine::general_purpose::STANDARD.encode(digest);
                format!(" 'sha256-{hash}'")
            })
            .collect();
        let policy = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        );
        SecurityHeaders {
            dashboard_policy: HeaderValue::from_str(&policy).expect("a policy is ASCII"),
        }
    }
}

/// The bodies of the `<script>` elements without a `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else {
            break;
        };
        let open = &rest[start..start + open_end];
        let body_start = start + open_end + 1;
        let Some(body_len) = rest[body_start..].find("</script>") else {
            break;
        };
        if !open.contains(" src=") {
            scripts.push(&rest[body_start..body_start + body_len]);
        }
        rest = &rest[body_start + body_len..];
    }
    scripts
}

/// Which part of the server a path belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Api,
    /// `/sonde.js` and `/sonde/…`, loaded by customers' pages.
    Embed,
    /// `/demo/…`: the demo shop, a stand-in for a customer's site.
    Demo,
    Dashboard,
}

fn part(path: &str) -> Part {
    if path == "/api" || path.starts_with("/api/") {
        Part::Api
    } else if path == "/sonde.js" || path.starts_with("/sonde/") {
        Part::Embed
    } else if path == "/demo" || path.starts_with("/demo/") {
        Part::Demo
    } else {
        Part::Dashboard
    }
}

/// The middleware: sets the headers for the request's part.
pub async fn set(
    State((app, headers)): State<(AppState, SecurityHeaders)>,
    request: Request,
    next: Next,
) -> Response {
    let part = part(request.uri().path());
    let https = super::delivery::over_https(&app, request.extensions(), request.headers());
    let mut response = next.run(request).await;
    apply(&headers, part, https, response.headers_mut());
    response
}

fn apply(policy: &SecurityHeaders, part: Part, https: bool, headers: &mut HeaderMap) {
    let mut set = |name: HeaderName, value: HeaderValue| {
        headers.entry(name).or_insert(value);
    };
    set(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    match part {
        Part::Embed => set(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ),
        Part::Demo => {}
        Part::Api | Part::Dashboard => {
            let page_policy = if part == Part::Api {
                HeaderValue::from_static(API_POLICY)
            } else {
                policy.dashboard_policy.clone()
            };
            set(header::CONTENT_SECURITY_POLICY, page_policy);
            set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            set(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            set(
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            );
        }
    }
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"<html><head>
<script type="module">
import init from '/app.js';
await init();
</script>
<script src="/other.js"></script>
</head><body></body></html>"#;

    #[test]
    fn the_dashboard_policy_allows_its_inline_start_by_hash_only() {
        let headers = SecurityHeaders::new(Some(INDEX));
        let policy = headers.dashboard_policy.to_str().unwrap();
        let script = "\nimport init from '/app.js';\nawait init();\n";
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("'unsafe-inline'"), "{scripts}");
        assert!(policy.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn each_part_gets_its_headers() {
        let policy = SecurityHeaders::new(Some(INDEX));
        let for_part = |path: &str, https: bool| {
            let mut headers = HeaderMap::new();
            apply(&policy, part(path), https, &mut headers);
            headers
        };
        let dashboard = for_part("/funnels", false);
        assert_eq!(dashboard[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(dashboard[header::REFERRER_POLICY], "no-referrer");
        assert!(dashboard.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        let api = for_part("/api/usage", true);
        assert_eq!(api[header::CONTENT_SECURITY_POLICY], API_POLICY);
        assert_eq!(api[header::STRICT_TRANSPORT_SECURITY], HSTS);
        let embed = for_part("/sonde/collector-0123.wasm", false);
        assert_eq!(embed["cross-origin-resource-policy"], "cross-origin");
        assert!(embed.get(header::CONTENT_SECURITY_POLICY).is_none());
        assert!(embed.get(header::X_FRAME_OPTIONS).is_none());
        assert_eq!(embed[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(part("/sonde.js"), Part::Embed);
        assert_eq!(part("/sondes"), Part::Dashboard);
        assert_eq!(part("/demo/cart.html"), Part::Demo);
    }
}
