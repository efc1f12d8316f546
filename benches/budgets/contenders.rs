//! The other tools Sonde is measured against, on the same demo page: each
//! installed from npm at a pinned version (into the tools cache, outside the
//! clone: nothing of theirs is committed), put into a copy of the demo
//! shop's home page in place of Sonde's script tag, and served from loopback
//! by a small file server that sends what the browser accepts (brotli,
//! gzip), precompressed at the highest levels, as a CDN would.
//!
//! Each page's head, and the configuration scripts it loads, are in
//! `benches/compare/`.

use std::path::{Path, PathBuf};

use tokio::process::Command;
use tower_http::services::ServeDir;

use crate::load::Page;

/// The packages and versions measured.
pub const PACKAGES: &[(&str, &str)] = &[
    ("vanilla-cookieconsent", "3.1.0"),
    ("@plausible-analytics/tracker", "0.4.6"),
    ("klaro", "0.7.22"),
    ("posthog-js", "1.449.2"),
];

/// A tool measured beside Sonde (or the page with no tool at all).
#[derive(Debug)]
pub struct Contender {
    /// Its name in the tables.
    pub label: &'static str,
    pub url: String,
    pub origin: String,
    /// URL prefixes of its resources: what its bytes count.
    pub counted: Vec<String>,
    /// A JavaScript expression, true once its banner is shown on a first
    /// visit (or once it runs, for a tool without a banner).
    pub first_ready: &'static str,
    /// True once it runs for a returning visitor, without a banner.
    pub returning_ready: &'static str,
    /// Its "accept all" button, when it asks.
    pub accept: Option<&'static str>,
    /// What its page loads, for the notes below the table.
    pub note: &'static str,
    /// Why it could not be measured, when it could not.
    pub unavailable: Option<String>,
}

impl Contender {
    pub fn page(&self) -> Page<'_> {
        Page {
            url: &self.url,
            origin: &self.origin,
            counted: &self.counted,
        }
    }
}

/// How one contender's page is made.
struct Spec {
    /// Its page (`/KEY/`), its head (`benches/compare/KEY.html`) and its
    /// configuration script, when it has one (`benches/compare/KEY.js`,
    /// served at `/tool/KEY.js`).
    key: &'static str,
    label: &'static str,
    /// Files from `node_modules`, and where they are served under `/tool/`.
    files: &'static [(&'static str, &'static str)],
    first_ready: &'static str,
    returning_ready: &'static str,
    accept: Option<&'static str>,
    note: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        key: "cookieconsent-plausible",
        label: "CookieConsent v3 + Plausible",
        files: &[
            (
                "vanilla-cookieconsent/dist/cookieconsent.umd.js",
                "cookieconsent/cookieconsent.umd.js",
            ),
            (
                "vanilla-cookieconsent/dist/cookieconsent.css",
                "cookieconsent/cookieconsent.css",
            ),
            (
                "@plausible-analytics/tracker/plausible.js",
                "plausible/plausible.js",
            ),
        ],
        first_ready: "document.documentElement.classList.contains('show--consent') && document.querySelector('#cc-main .cm')",
        returning_ready: "typeof window.plausible === 'function' && !document.documentElement.classList.contains('show--consent')",
        accept: Some("#cc-main .cm button[data-role=all]"),
        note: "`vanilla-cookieconsent` (its UMD build and stylesheet) with Sonde's four categories and wording; \
               `@plausible-analytics/tracker`, imported once usage is granted. That npm package ships Plausible's \
               tracker as an ES module only (`plausible.js`, \"the same codebase as the official script\"), not the classic \
               `script.js` of Plausible's CDN, so this is its built ES bundle.",
    },
    Spec {
        key: "klaro",
        label: "Klaro",
        files: &[("klaro/dist/klaro.js", "klaro/klaro.js")],
        first_ready: "document.querySelector('.klaro .cookie-notice')",
        returning_ready: "window.klaro && document.querySelector('.klaro') && !document.querySelector('.klaro .cookie-notice')",
        accept: Some(".klaro .cookie-notice button.cm-btn-success"),
        note: "`klaro`, `dist/klaro.js` (its stylesheet built in), with one service per Sonde category; \
               consent only, no analytics.",
    },
    Spec {
        key: "posthog",
        label: "PostHog (no banner)",
        files: &[
            ("posthog-js/dist/loader.js", "posthog/loader.js"),
            ("posthog-js/dist/array.js", "posthog/array.js"),
        ],
        first_ready: "window.posthog && window.posthog.__loaded",
        returning_ready: "window.posthog && window.posthog.__loaded",
        accept: None,
        note: "`posthog-js`: the loader it ships (`dist/loader.js`) and the `dist/array.js` it loads; \
               its API host is a loopback port nothing listens on, so its remote configuration and flags \
               requests fail (a real project downloads those on top, and may load more extensions). \
               It asks for no consent: there is no banner, and both visits load the same.",
    },
];

/// The pages, served from a new loopback server.
#[derive(Debug)]
pub struct Compare {
    /// The page alone, then each contender. A contender that cannot be
    /// installed or set up comes with the reason in `unavailable`; the page
    /// alone always works.
    pub contenders: Vec<Contender>,
    /// An empty page, to open between loads.
    pub blank: String,
}

pub async fn prepare(root: &Path) -> Compare {
    let tools = tools_dir();
    let site = tools.join("site");
    let _ = std::fs::remove_dir_all(&site);
    let installed = install(&tools).await;
    let template = std::fs::read_to_string(root.join("public/demo/index.html"))
        .expect("the demo shop's home page");
    let dead_host = format!("http://127.0.0.1:{}", unused_port());

    // The demo shop's own files, which every page shares.
    copy_files(&root.join("public/demo"), &site.join("demo")).expect("copy the demo shop's files");
    write(&site.join("baseline/index.html"), &page(&template, "")).unwrap();
    write(
        &site.join("blank.html"),
        "<!doctype html><title>Between loads</title>\n",
    )
    .unwrap();
    let mut problems: Vec<Option<String>> = SPECS
        .iter()
        .map(|spec| match &installed {
            Ok(node_modules) => {
                set_up(root, node_modules, &site, &template, &dead_host, spec).err()
            }
            Err(e) => Some(e.clone()),
        })
        .collect();
    if let Err(e) = precompress(&site).await {
        for problem in problems.iter_mut().filter(|p| p.is_none()) {
            *problem = Some(e.clone());
        }
    }

    let origin = serve(site).await;
    let mut all = vec![Contender {
        label: "the page alone",
        url: format!("{origin}/baseline/"),
        origin: origin.clone(),
        counted: Vec::new(),
        first_ready: "document.readyState === 'complete'",
        returning_ready: "document.readyState === 'complete'",
        accept: None,
        note: "the demo shop's home page with no tool: what the other rows' times are measured against.",
        unavailable: None,
    }];
    for (spec, unavailable) in SPECS.iter().zip(problems) {
        all.push(Contender {
            label: spec.label,
            url: format!("{origin}/{}/", spec.key),
            origin: origin.clone(),
            counted: vec![format!("{origin}/tool/")],
            first_ready: spec.first_ready,
            returning_ready: spec.returning_ready,
            accept: spec.accept,
            note: spec.note,
            unavailable,
        });
    }
    Compare {
        contenders: all,
        blank: format!("{origin}/blank.html"),
    }
}

/// `compare` in the tools directory `cargo xtask` installs into
/// (`SONDE_TOOLS_DIR`, by default `~/.cache/sonde/tools`).
fn tools_dir() -> PathBuf {
    let tools = std::env::var_os("SONDE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map_or_else(std::env::temp_dir, PathBuf::from)
                .join(".cache/sonde/tools")
        });
    tools.join("compare")
}

/// Installs [`PACKAGES`] into `dir` unless they are there at those
/// versions; returns its `node_modules`.
async fn install(dir: &Path) -> Result<PathBuf, String> {
    let node_modules = dir.join("node_modules");
    let installed = |name: &str, version: &str| {
        std::fs::read_to_string(node_modules.join(name).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|package| package["version"] == version)
    };
    if PACKAGES.iter().all(|(n, v)| installed(n, v)) {
        return Ok(node_modules);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let specs: Vec<String> = PACKAGES.iter().map(|(n, v)| format!("{n}@{v}")).collect();
    eprintln!("budgets: npm install {} (once)", specs.join(" "));
    let out = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(dir)
        .args([
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--save-exact",
            "--loglevel=error",
        ])
        .args(&specs)
        .output()
        .await
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("npm install failed: {last}"));
    }
    match PACKAGES.iter().find(|(n, v)| !installed(n, v)) {
        Some((n, v)) => Err(format!("npm did not install {n}@{v}")),
        None => Ok(node_modules),
    }
}

/// Writes a contender's page and copies its files into `site`.
fn set_up(
    root: &Path,
    node_modules: &Path,
    site: &Path,
    template: &str,
    dead_host: &str,
    spec: &Spec,
) -> Result<(), String> {
    let compare = root.join("benches/compare");
    for (from, to) in spec.files {
        copy(&node_modules.join(from), &site.join("tool").join(to))?;
    }
    let config = compare.join(format!("{}.js", spec.key));
    if config.is_file() {
        copy(&config, &site.join(format!("tool/{}.js", spec.key)))?;
    }
    let head_file = compare.join(format!("{}.html", spec.key));
    let head = std::fs::read_to_string(&head_file)
        .map_err(|e| format!("cannot read {}: {e}", head_file.display()))?;
    let head = head.replace("{{DEAD_HOST}}", dead_host);
    write(
        &site.join(format!("{}/index.html", spec.key)),
        &page(template, &head),
    )
}

/// The demo page with `head` in place of Sonde's script tag, indented as
/// the tag was (nothing in its place for an empty `head`).
fn page(template: &str, head: &str) -> String {
    let tag = template
        .lines()
        .find(|l| l.contains("src=\"/sonde.js\""))
        .expect("the demo page loads /sonde.js");
    let indent = &tag[..tag.len() - tag.trim_start().len()];
    let head: String = head
        .lines()
        .map(|line| format!("{indent}{line}\n"))
        .collect();
    template.replacen(&format!("{tag}\n"), &head, 1)
}

/// Writes `NAME.gz` (level 9) and `NAME.br` (quality 11) beside each text
/// file under `site`, with Node's zlib (Node is here for npm anyway).
async fn precompress(site: &Path) -> Result<(), String> {
    const SCRIPT: &str = "
        const fs = require('fs'), path = require('path'), zlib = require('zlib');
        const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).forEach(entry => {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) return walk(file);
            if (!/\\.(html|js|css|json)$/.test(file)) return;
            const data = fs.readFileSync(file);
            fs.writeFileSync(file + '.gz', zlib.gzipSync(data, { level: 9 }));
            fs.writeFileSync(file + '.br', zlib.brotliCompressSync(data, { params: {
                [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
                [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
                [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
            } }));
        });
        walk(process.argv[1]);";
    let out = Command::new("node")
        .arg("-e")
        .arg(SCRIPT)
        .arg(site)
        .output()
        .await
        .map_err(|e| format!("cannot run node to precompress: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "precompressing failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Serves `site` on a loopback port for the rest of the run; returns its
/// origin. `POST /api/event` (where Plausible sends) answers and keeps
/// nothing.
async fn serve(site: PathBuf) -> String {
    let app = axum::Router::new()
        .route(
            "/api/event",
            axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }),
        )
        .fallback_service(ServeDir::new(site).precompressed_br().precompressed_gzip());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

/// A loopback port nothing listens on (PostHog's API host: what it sends
/// is refused).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {}: {e}", from.display()))
}

/// The files directly in `from` (not its folders) into `to`.
fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            copy(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
