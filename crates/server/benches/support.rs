//! What the benchmarks share: the `sonde` binary beside them, started on a
//! data directory and stopped as an operator would.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Spawns `command` (a `sonde serve …`) and reads the URL it prints.
pub fn spawn_sonde(command: &mut Command) -> (Child, String) {
    let mut child = command
        .env("SONDE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("sonde starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("sonde prints its URL");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (child, url)
}

/// Stops the server as an operator would (SIGTERM), so it commits and exits.
pub fn stop(mut server: Child) {
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
}

/// `target/debug/<name>`, beside `target/debug/examples/` where this runs.
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("this example's path");
    exe.parent()
        .and_then(Path::parent)
        .map(|debug| debug.join(name))
        .expect("a target directory")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}
