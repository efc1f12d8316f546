//! The embeddable build: the collector and the banner, Rust compiled to
//! wasm for size, their glue, the loader that names them, and a report of
//! where their bytes go.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{command, output, path_str, step, target_dir, version_matches};

/// The modules of the embed: (package, crate, file name).
const MODULES: [(&str, &str, &str); 2] = [
    ("sonde-collector", "sonde_collector", "collector"),
    ("sonde-banner", "sonde_banner", "banner"),
];

/// Debian's matched Rust set that can rebuild the standard library for
/// size (`-Zbuild-std`): the rustup toolchain here has no library sources.
/// It builds the embed only; everything else stays on the stable toolchain.
const RUSTC: &str = "/usr/bin/rustc";
const CARGO: &str = "/usr/bin/cargo";
const LIBRARY_SOURCES: &str = "/usr/lib/rustlib/src/rust/library";
pub const DEBIAN_PACKAGES: [&str; 6] = [
    "rustc-web",
    "cargo-web",
    "libstd-rust-web-dev",
    "rust-web-src",
    "rust-web-llvm",
    // rust-web-llvm's `rust-lld` links wasm through lld-22.
    "lld-22",
];
/// The flags the embed is built with, each measured (BENCHMARKS.md): no
/// panic machinery, no panic locations, no `Debug` formatting.
const RUSTFLAGS: &str =
    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none";

pub fn toolchain_ready() -> bool {
    version_matches(RUSTC, &["--version"], "rustc 1.9")
        && Path::new(CARGO).exists()
        && Path::new(LIBRARY_SOURCES).join("std").exists()
        && Path::new("/usr/bin/rust-lld").exists()
}

/// The embeddable build a customer's site loads: `dist/sonde.js` (the
/// loader, at a fixed URL) and, in `dist/sonde/`, the collector and the
/// banner as separate wasm modules with wasm-bindgen's ES-module glue, each
/// named by a hash of its content (so they can be cached for a year) and
/// each with gzip and brotli copies. Run after Trunk, which empties `dist/`.
pub fn build(root: &Path) -> Result<()> {
    let started = Instant::now();
    let target = target_dir()?.join("embed");
    let out = root.join("dist/sonde");
    std::fs::create_dir_all(&out)?;
    let mut names = Vec::new();
    // One cargo run per module, so their features are not unified.
    for (package, crate_name, module) in MODULES {
        let status = command(CARGO)?
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "--package",
                package,
                "--lib",
                "-Zbuild-std=std,panic_abort",
                "-Zbuild-std-features=optimize_for_size",
                "--target-dir",
                path_str(&target)?,
            ])
            .env("RUSTC", RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTFLAGS", RUSTFLAGS)
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .status()
            .context("cannot run Debian's cargo (cargo xtask setup installs it)")?;
        if !status.success() {
            bail!("building {package} for the embed failed");
        }
        let wasm = target.join(format!("wasm32-unknown-unknown/release/{crate_name}.wasm"));
        let staging = target.join("bindgen").join(module);
        std::fs::create_dir_all(&staging)?;
        step(
            "wasm-bindgen",
            &[
                "--target",
                "web",
                "--no-typescript",
                "--out-dir",
                path_str(&staging)?,
                "--out-name",
                module,
                path_str(&wasm)?,
            ],
        )?;
        let glue = staging.join(format!("{module}.js"));
        step(
            "terser",
            &[
                path_str(&glue)?,
                "--module",
                "--compress",
                "--mangle",
                "--output",
                path_str(&glue)?,
            ],
        )?;
        let bg = staging.join(format!("{module}_bg.wasm"));
        // With its names, for `size_report`.
        std::fs::copy(&bg, staging.join(format!("{module}_named.wasm")))?;
        step(
            "wasm-opt",
            &[
                "-Oz",
                "--strip-debug",
                "--strip-producers",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                path_str(&bg)?,
                "-o",
                path_str(&bg)?,
            ],
        )?;
        let glue = std::fs::read(&glue)?;
        let bg = std::fs::read(&bg)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&glue);
        hasher.update(&bg);
        let name = format!("{module}-{}", &hasher.finalize().to_hex()[..16]);
        publish(&out.join(format!("{name}.js")), &glue)?;
        publish(&out.join(format!("{name}.wasm")), &bg)?;
        names.push((module, name));
    }
    // The loader names the files of this build; its documentation stays in
    // its source.
    let loader_min = target.join("sonde.min.js");
    step(
        "terser",
        &[
            path_str(&root.join("crates/collector/js/sonde.js"))?,
            "--compress",
            "--mangle",
            "--comments",
            "false",
            "--output",
            path_str(&loader_min)?,
        ],
    )?;
    let mut loader = std::fs::read_to_string(&loader_min)?;
    for (module, name) in &names {
        let placeholder = format!("__SONDE_{}__", module.to_uppercase());
        if !loader.contains(&placeholder) {
            bail!("sonde.js does not name {placeholder}");
        }
        loader = loader.replace(&placeholder, name);
    }
    publish(&root.join("dist/sonde.js"), loader.as_bytes())?;
    eprintln!(
        "xtask: embeddable collector and banner built into dist/sonde/ in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// Writes `bytes` to `path`, with `path.gz` and `path.br` beside it, which
/// the server sends to browsers that accept them.
fn publish(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    std::fs::write(path, bytes)?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes)?;
    std::fs::write(with_suffix(path, "gz"), gzip.finish()?)?;
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut brotli, &params)?;
    std::fs::write(with_suffix(path, "br"), brotli)?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

const TWIGGY_VERSION: &str = "0.8.0";
const REPORT_START: &str = "<!-- embed-size:start (written by `cargo xtask bench`) -->";
const REPORT_END: &str = "<!-- embed-size:end -->";

/// Where each module's bytes go, by crate and by item (`twiggy top` on the
/// module before wasm-opt, which keeps the names), into BENCHMARKS.md.
pub fn size_report(root: &Path) -> Result<()> {
    if !version_matches("twiggy", &["--version"], TWIGGY_VERSION) {
        step(
            "cargo",
            &["install", "twiggy", "--version", TWIGGY_VERSION, "--locked"],
        )?;
    }
    let staging = target_dir()?.join("embed/bindgen");
    let mut report = String::new();
    report.push_str(REPORT_START);
    report.push_str("\n## Where the embed's bytes go (`cargo xtask bench`)\n\n");
    report.push_str(
        "`twiggy top` on each module as wasm-bindgen leaves it (names kept; wasm-opt then \
         shrinks it a little further). Bytes before compression.\n",
    );
    for (_, _, module) in MODULES {
        let named = staging.join(module).join(format!("{module}_named.wasm"));
        let json = output(
            "twiggy",
            &["top", "-n", "100000", "--format", "json", path_str(&named)?],
        )?;
        let items: Vec<(String, u64)> = serde_json::from_str::<Vec<serde_json::Value>>(&json)?
            .iter()
            .filter_map(|item| {
                Some((
                    item["name"].as_str()?.to_owned(),
                    item["shallow_size"].as_u64()?,
                ))
            })
            .filter(|(name, _)| !name.contains("function names"))
            .collect();
        let total: u64 = items.iter().map(|(_, size)| size).sum();
        let mut by_crate: Vec<(String, u64)> = Vec::new();
        for (name, size) in &items {
            let owner = owner(name);
            match by_crate.iter_mut().find(|(c, _)| *c == owner) {
                Some((_, sum)) => *sum += size,
                None => by_crate.push((owner, *size)),
            }
        }
        by_crate.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
        report.push_str(&format!(
            "\n### {module} ({total} bytes of code and data)\n\n| crate | bytes | share |\n|---|---|---|\n"
        ));
        for (owner, size) in by_crate.iter().take(10) {
            let share = *size as f64 * 100.0 / total.max(1) as f64;
            report.push_str(&format!("| {owner} | {size} | {share:.1} % |\n"));
        }
        report.push_str("\n| largest items | bytes |\n|---|---|\n");
        for (name, size) in items.iter().take(12) {
            report.push_str(&format!("| `{}` | {size} |\n", short_name(name)));
        }
    }
    report.push_str(REPORT_END);
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let updated = match (existing.find(REPORT_START), existing.find(REPORT_END)) {
        (Some(a), Some(b)) => format!(
            "{}{report}{}",
            &existing[..a],
            &existing[b + REPORT_END.len()..]
        ),
        _ => format!("{}\n\n{report}\n", existing.trim_end()),
    };
    std::fs::write(&path, updated)?;
    eprintln!("xtask: where the embed's bytes go, written to BENCHMARKS.md");
    Ok(())
}

/// The crate an item belongs to (`sonde_collector`, `alloc`, …), or what
/// it is (`data`, `wasm-bindgen glue`).
fn owner(name: &str) -> String {
    let name = name.trim_start_matches('<');
    if name.starts_with("data segment") {
        return "data (strings, tables)".into();
    }
    if name.starts_with("import ") || name.starts_with("export ") || name.starts_with("__") {
        return "wasm-bindgen exports, imports and tables".into();
    }
    match name.find(['[', ':']) {
        Some(end)
            if end > 0
                && name[..end]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            name[..end].to_owned()
        }
        // `<[u8]>::…`, `<&mut F>::…`: generic code of core and alloc.
        Some(_) if name.contains("::") => "core and alloc (generic)".into(),
        _ => "wasm-bindgen exports, imports and tables".into(),
    }
}

/// An item's name without crate hashes, cut to a readable length.
fn short_name(name: &str) -> String {
    let mut out = String::new();
    let mut in_hash = false;
    for c in name.chars() {
        match c {
            '[' => in_hash = true,
            ']' if in_hash => in_hash = false,
            _ if in_hash => {}
            '|' => out.push('/'),
            _ => out.push(c),
        }
    }
    if out.chars().count() > 100 {
        out = out.chars().take(100).collect::<String>() + "…";
    }
    out
}
