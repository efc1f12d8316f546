//! The built web app (`dist/`: the dashboard, the demo shop, and the embed
//! with its precompressed variants), compiled into whatever links this
//! crate, so the `sonde` binary serves everything without a directory
//! beside it. A crate of its own so that a new build of the web app
//! recompiles this and the server that depends on it, and nothing else.
//!
//! Built before `cargo xtask build-web` has run, it holds no files, and the
//! server says so when it starts.

/// The files of `dist/`, by their path in it (`index.html`,
/// `sonde/collector-….wasm.br`).
#[derive(rust_embed::Embed)]
#[folder = "../../dist"]
#[allow_missing = true]
pub struct Dist;

/// One file: its bytes and the SHA-256 of them.
pub fn get(path: &str) -> Option<(std::borrow::Cow<'static, [u8]>, [u8; 32])> {
    <Dist as rust_embed::Embed>::get(path).map(|f| (f.data, f.metadata.sha256_hash()))
}

/// Whether the web app was built when this was compiled.
pub fn is_empty() -> bool {
    <Dist as rust_embed::Embed>::get("index.html").is_none()
}
