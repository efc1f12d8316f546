//! The embed files and the dashboard's static files: caching by name and
//! precompressed variants.

use crate::support::*;
use reqwest::StatusCode;

/// A built web directory as the build lays it out: the loader and the
/// content-hashed files, each beside its brotli and gzip variants (their
/// content marks which one was sent).
fn built_web_dir() -> tempfile::TempDir {
    let web = tempfile::tempdir().unwrap();
    let dir = web.path();
    std::fs::create_dir_all(dir.join("sonde")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><title>Sonde</title>{}", " ".repeat(2048)),
    )
    .unwrap();
    for (name, body) in [
        ("sonde.js", b"loader".as_slice()),
        ("sonde/collector-0123456789abcdef.js", b"collector glue"),
        ("sonde/collector-0123456789abcdef.wasm", b"\0asm\x01\0\0\0"),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
        std::fs::write(dir.join(format!("{name}.br")), format!("{name} as br")).unwrap();
        std::fs::write(dir.join(format!("{name}.gz")), format!("{name} as gzip")).unwrap();
    }
    web
}

#[tokio::test]
async fn embed_files_are_cached_by_their_name_and_sent_precompressed() {
    let web = built_web_dir();
    let web_dir = web.path().to_owned();
    let app = TestApp::start_with(move |c| c.web_dir = Some(web_dir)).await;
    let loader_cache = "public, max-age=300, stale-while-revalidate=86400";
    let immutable = "public, max-age=31536000, immutable";
    for (path, accept, encoding, body, content_type, cache) in [
        (
            "/sonde.js",
            Some("gzip, deflate, br, zstd"),
            Some("br"),
            "sonde.js as br",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde.js",
            Some("gzip"),
            Some("gzip"),
            "sonde.js as gzip",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde.js",
            None,
            None,
            "loader",
            "text/javascript",
            loader_cache,
        ),
        (
            "/sonde/collector-0123456789abcdef.js",
            Some("br;q=1.0, gzip;q=0.8"),
            Some("br"),
            "sonde/collector-0123456789abcdef.js as br",
            "text/javascript",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.js",
            Some("identity"),
            None,
            "collector glue",
            "text/javascript",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            Some("gzip"),
            Some("gzip"),
            "sonde/collector-0123456789abcdef.wasm as gzip",
            "application/wasm",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            Some("br"),
            Some("br"),
            "sonde/collector-0123456789abcdef.wasm as br",
            "application/wasm",
            immutable,
        ),
        (
            "/sonde/collector-0123456789abcdef.wasm",
            None,
            None,
            "\0asm\x01\0\0\0",
            "application/wasm",
            immutable,
        ),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let res = get_with(&app, path, &headers).await;
        let what = format!("{path} with {accept:?}");
        assert_eq!(res.status(), StatusCode::OK, "{what}");
        assert_eq!(header(&res, "cache-control"), Some(cache), "{what}");
        assert_eq!(header(&res, "content-encoding"), encoding, "{what}");
        assert_eq!(header(&res, "content-type"), Some(content_type), "{what}");
        let vary: Vec<&str> = res
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            vary,
            ["accept-encoding"],
            "{what}: sent once, not compressed again"
        );
        assert_eq!(res.bytes().await.unwrap(), body.as_bytes(), "{what}");
    }
    // A name that is not there is not cached as missing.
    let res = get_with(
        &app,
        "/sonde/collector-ffffffffffffffff.js",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_ne!(header(&res, "cache-control"), Some(immutable));
    // The dashboard is as before, now compressed with brotli too.
    let res = get_with(&app, "/", &[("accept-encoding", "br")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-encoding"), Some("br"));
    assert_eq!(header(&res, "cache-control"), None);
    let res = get_with(&app, "/some/client/route", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-encoding"), Some("gzip"));
}
