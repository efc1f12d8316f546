//! The files are read by the derive at compile time, which cannot tell
//! cargo about files that appear later (a first `cargo xtask build-web`):
//! this build script does, so a new build of the web app is compiled in.

fn main() {
    println!("cargo:rerun-if-changed=../../dist");
}
