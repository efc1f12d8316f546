//! Security headers on the dashboard and the API; the embed stays loadable
//! from any site.

use crate::support::*;
use base64::Engine;
use reqwest::StatusCode;
use sha2::Digest;

const START: &str = "\nimport init from '/app.js';\nawait init();\n";

/// A server with a web app: an `index.html` with one inline start script
/// and the embed's files.
async fn with_web_app(
    configure: impl FnOnce(&mut sonde_server::Config),
) -> (TestApp, tempfile::TempDir) {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        format!("<html><head><script type=\"module\">{START}</script></head><body></body></html>"),
    )
    .unwrap();
    std::fs::write(web.path().join("sonde.js"), "/* loader */").unwrap();
    std::fs::create_dir(web.path().join("sonde")).unwrap();
    std::fs::write(
        web.path().join("sonde/collector-0123.js"),
        "/* collector */",
    )
    .unwrap();
    let dir = web.path().to_owned();
    let app = TestApp::start_with(|c| {
        c.web_dir = Some(dir);
        configure(c);
    })
    .await;
    (app, web)
}

#[tokio::test]
async fn the_dashboard_runs_only_its_own_code_and_cannot_be_framed() {
    let (app, _web) = with_web_app(|_| {}).await;
    let res = get_with(&app, "/funnels", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = header(&res, "content-security-policy")
        .expect("a policy")
        .to_owned();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(START));
    let scripts = policy
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert_eq!(
        scripts.trim(),
        format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'"),
        "the inline start script by its hash, nothing else inline: {policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(header(&res, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&res, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
    assert_eq!(
        header(&res, "strict-transport-security"),
        None,
        "plain HTTP"
    );

    let api = get_with(&app, "/api/session", &[]).await;
    assert_eq!(
        header(&api, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    assert_eq!(header(&api, "x-content-type-options"), Some("nosniff"));
    // An error answer carries them too.
    let missing = get_with(&app, "/api/nothing-here", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, "x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn the_embed_stays_loadable_from_any_site() {
    let (app, _web) = with_web_app(|_| {}).await;
    for path in ["/sonde.js", "/sonde/collector-0123.js"] {
        let res = get_with(&app, path, &[("origin", "https://elsewhere.example")]).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&res, "cross-origin-resource-policy"),
            Some("cross-origin"),
            "{path}"
        );
        assert_eq!(
            header(&res, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        for page_only in [
            "content-security-policy",
            "x-frame-options",
            "cross-origin-opener-policy",
        ] {
            assert_eq!(header(&res, page_only), None, "{path} has {page_only}");
        }
    }
}

#[tokio::test]
async fn hsts_is_sent_when_a_trusted_proxy_says_https() {
    let (app, _web) =
        with_web_app(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let res = get_with(&app, "/", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(
        header(&res, "strict-transport-security"),
        Some("max-age=31536000")
    );
    let plain = get_with(&app, "/", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(header(&plain, "strict-transport-security"), None);

    // From a peer that is not a trusted proxy the header means nothing.
    let (direct, _web) = with_web_app(|_| {}).await;
    let res = get_with(&direct, "/", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(header(&res, "strict-transport-security"), None);
}
