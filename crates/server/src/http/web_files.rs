//! Serves the web app compiled into the binary (see the `sonde-web-files`
//! crate) as a directory would be served: the dashboard with `index.html`
//! for client-side routes, the demo shop, and the embed's files with their
//! caching and precompressed variants. `--web-dir` serves a directory
//! instead ([`super::embed`]), for development.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::embed::{HASHED_CACHE, LOADER_CACHE};
pub use crate::config::{WebFile as File, WebFileLookup as Lookup};

/// Which part of the web app a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// `/sonde.js`: revalidated after five minutes.
    Loader,
    /// `/sonde/…`: named by their content, cached for a year.
    Hashed,
    /// The dashboard and the demo shop.
    App,
}

/// `GET` of any path the API does not take.
pub async fn serve(lookup: Lookup, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let part = if path == "sonde.js" {
        Part::Loader
    } else if path.starts_with("sonde/") {
        Part::Hashed
    } else {
        Part::App
    };
    let wanted = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    // The dashboard and the demo: a directory's index.html, and for any
    // other path the dashboard's (a client-side route), as a directory
    // served with `index.html` as its fallback would.
    let candidates = match part {
        Part::App => vec![
            wanted.clone(),
            format!("{wanted}/index.html"),
            "index.html".to_owned(),
        ],
        Part::Loader | Part::Hashed => vec![wanted],
    };
    let Some((name, file)) = candidates
        .into_iter()
        .find_map(|name| lookup(&name).map(|file| (name, file)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (encoding, (bytes, sha256)) = match part {
        Part::App => (None, file),
        Part::Loader | Part::Hashed => {
            precompressed(lookup, &name, &headers).unwrap_or((None, file))
        }
    };
    let etag = format!(
        "\"{}\"",
        sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = mime_guess::from_path(&name).first_or_octet_stream();
        let mut response = Response::new(Body::from(bytes));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(mime.as_ref()).expect("a MIME type is a header value"),
        );
        if let Some(encoding) = encoding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    match part {
        Part::Loader => {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(LOADER_CACHE),
            );
        }
        Part::Hashed => {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(HASHED_CACHE),
            );
        }
        Part::App => {}
    }
    if part != Part::App {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The brotli or gzip variant of `name` the client takes, brotli first.
fn precompressed(
    lookup: Lookup,
    name: &str,
    headers: &HeaderMap,
) -> Option<(Option<&'static str>, File)> {
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|coding| !coding.contains("q=0") || coding.contains("q=0."))
        .map(|coding| {
            coding
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| accepted.iter().any(|a| a == coding))
        .find_map(|(coding, extension)| {
            lookup(&format!("{name}.{extension}")).map(|file| (Some(coding), file))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A built web app, as `dist/` lays it out.
    fn lookup(path: &str) -> Option<File> {
        let bytes: &'static [u8] = match path {
            "index.html" => b"<title>Sonde</title>",
            "demo/index.html" => b"<title>Demo shop</title>",
            "sonde.js" => b"loader",
            "sonde.js.br" => b"loader as br",
            "sonde.js.gz" => b"loader as gzip",
            "sonde/collector-0123.wasm" => b"\0asm",
            _ => return None,
        };
        Some((Cow::Borrowed(bytes), [path.len() as u8; 32]))
    }

    async fn get(path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let response = serve(lookup, path.parse().unwrap(), map).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn the_loader_goes_precompressed_as_the_client_takes_it() {
        let (status, headers, body) = get("/sonde.js", &[("accept-encoding", "gzip, br")]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "loader as br"));
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(headers[header::CONTENT_TYPE], "text/javascript");
        assert_eq!(headers[header::CACHE_CONTROL], LOADER_CACHE);
        assert_eq!(headers[header::VARY], "accept-encoding");
        let (_, headers, body) = get("/sonde.js", &[("accept-encoding", "gzip, br;q=0")]).await;
        assert_eq!(
            (
                headers[header::CONTENT_ENCODING].to_str().unwrap(),
                body.as_str()
            ),
            ("gzip", "loader as gzip")
        );
        let (_, headers, body) = get("/sonde.js", &[]).await;
        assert_eq!(body, "loader");
        assert!(headers.get(header::CONTENT_ENCODING).is_none());

        // Asked again with its tag: unchanged, no body.
        let tag = headers[header::ETAG].to_str().unwrap().to_owned();
        let (status, _, body) = get("/sonde.js", &[("if-none-match", &tag)]).await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    }

    #[tokio::test]
    async fn hashed_files_are_immutable_and_a_missing_one_is_not_the_dashboard() {
        let (status, headers, _) = get("/sonde/collector-0123.wasm", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[header::CACHE_CONTROL], HASHED_CACHE);
        let (status, _, _) = get("/sonde/collector-ffff.wasm", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_dashboards_routes_and_the_demo_shop_load() {
        for route in ["/", "/funnels", "/errors?site=demo"] {
            let (status, headers, body) = get(route, &[]).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::OK, "<title>Sonde</title>"),
                "{route}"
            );
            assert_eq!(headers[header::CONTENT_TYPE], "text/html");
        }
        for demo in ["/demo/", "/demo"] {
            let (_, _, body) = get(demo, &[]).await;
            assert_eq!(body, "<title>Demo shop</title>", "{demo}");
        }
    }
}
