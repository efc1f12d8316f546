//! `cargo xtask`: Sonde's set-up, build, run and test steps, so that a fresh
//! machine needs exactly two commands (see the README).
//!
//! Every step installs what it needs when it is missing, and nothing is
//! downloaded at build time: Trunk runs offline with the tools installed here.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod cluster;
mod embed;

const TRUNK_VERSION: &str = "0.21.14";
/// Debian's wasm-opt (108) breaks the module; the npm package's works.
const BINARYEN_VERSION: &str = "132";
/// Minifies wasm-bindgen's glue for the embeddable modules (Trunk's own
/// minifier cannot parse it); about 2 KB gzip less per module.
const TERSER_VERSION: &str = "5.51.4";
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Seconds `cargo xtask test` fuzzes the ingest parser for.
const TEST_FUZZ_SECONDS: u32 = 20;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  setup       install what building and testing need (idempotent)
  build-web   build the dashboard (Trunk) and the embeddable collector,
              banner and sonde.js loader into dist/
  run [ARGS]  build everything and start Sonde with demo data
              (ARGS go to `sonde serve`, e.g. --bind 127.0.0.1:9000)
  test        formatting, lints (native and wasm), and every test
  bench       measure the browser budgets in Chromium into BENCHMARKS.md
  bench-ingest
              measure ingest over HTTP (events/s, latency, empty and at
              10 million events) and the raw DuckDB appender into BENCHMARKS.md
  bench-queries [--100m]
              measure every dashboard query (median, p95) and the server's
              memory at 1 and 10 million events, and the same reports on
              ClickHouse (installed when missing), into BENCHMARKS.md;
              with --100m, at 10 and 100 million events instead (about two
              hours, DuckDB given 1 GB), into its growth table
  cluster up|down|status
              start (or stop, or show) ZooKeeper, ClickHouse as 2 shards x 2
              replicas and PostgreSQL on loopback, from Debian's packages
              (installed when missing), data kept in /var/tmp/sonde-cluster
  fuzz [SECONDS]
              fuzz batch parsing and validation (cargo fuzz; default 60 s)
  refresh-bots
              fetch the newest isbot patterns and crawler list into
              crates/server/data/bots/ with their commits and checksums";

fn main() -> Result<()> {
    let mut args = env::args().skip(1);
    let command = args.next().unwrap_or_default();
    // `cargo xtask run -- --bind …`: the separator is for us, not for sonde.
    let rest: Vec<String> = args.skip_while(|a| a == "--").collect();
    let root = workspace_root();
    env::set_current_dir(&root)?;
    match command.as_str() {
        "setup" => setup(&root, Needs::Everything),
        "build-web" => {
            setup(&root, Needs::Build)?;
            build_web(&root)
        }
        "run" => run(&root, &rest),
        "test" => test(&root),
        "bench" => bench(&root),
        "bench-ingest" => bench_ingest(&root),
        "bench-queries" => match rest.as_slice() {
            [] => bench_queries(&root, false),
            [flag] if flag == "--100m" => bench_queries(&root, true),
            _ => bail!("bench-queries takes only --100m\n\n{USAGE}"),
        },
        "refresh-bots" => refresh_bots(&root),
        "cluster" => {
            cluster::cluster(&rest)?;
            if rest == ["up"] {
                // Sonde itself, on the cluster, serving the dashboard.
                setup(&root, Needs::Build)?;
                build_web(&root)?;
                step("cargo", &["build", WORKSPACE, "--bin", "sonde"])?;
                cluster::start_sonde(&target_dir()?.join("debug/sonde"), &root.join("dist"))?;
            }
            Ok(())
        }
        "fuzz" => {
            let seconds = match rest.first() {
                Some(s) => s.parse().context("fuzz takes a number of seconds")?,
                None => 60,
            };
            fuzz(&root, seconds)
        }
        "help" | "--help" | "-h" | "" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// The checkout this runs for. Read at run time (`cargo run` sets it):
/// clones sharing one target directory share one xtask binary, so the path
/// compiled in may be another clone's.
fn workspace_root() -> PathBuf {
    env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Build,
    Everything,
}

/// Where npm-installed tools go: outside the clone, shared between clones.
fn tools_dir() -> PathBuf {
    env::var_os("SONDE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/sonde/tools"))
}

fn home() -> PathBuf {
    env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// PATH with the npm-installed tools first, for Trunk to find wasm-opt.
fn tool_path() -> Result<std::ffi::OsString> {
    let mut paths = vec![
        tools_dir().join("node_modules/.bin"),
        home().join(".cargo/bin"),
    ];
    paths.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    Ok(env::join_paths(paths)?)
}

fn setup(root: &Path, needs: Needs) -> Result<()> {
    let started = Instant::now();
    let installed_targets =
        output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed_targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        step("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    if !version_matches("trunk", &["--version"], TRUNK_VERSION) {
        step(
            "cargo",
            &["install", "trunk", "--version", TRUNK_VERSION, "--locked"],
        )?;
    }
    let bindgen = wasm_bindgen_version(root)?;
    // The CLI brings wasm-bindgen-test-runner too, for the component tests.
    if !version_matches("wasm-bindgen", &["--version"], &bindgen)
        || !version_matches("wasm-bindgen-test-runner", &["--version"], &bindgen)
    {
        // Not --locked: one of its locked dependencies is gone from the registry.
        step(
            "cargo",
            &["install", "wasm-bindgen-cli", "--version", &bindgen],
        )?;
    }
    let wasm_opt = tools_dir().join("node_modules/.bin/wasm-opt");
    let terser = tools_dir().join("node_modules/.bin/terser");
    if !version_matches(
        wasm_opt.to_str().unwrap_or_default(),
        &["--version"],
        &format!("version {BINARYEN_VERSION}"),
    ) || !version_matches(
        terser.to_str().unwrap_or_default(),
        &["--version"],
        TERSER_VERSION,
    ) {
        std::fs::create_dir_all(tools_dir())?;
        let prefix = tools_dir();
        step(
            "npm",
            &[
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                prefix.to_str().unwrap_or("."),
                &format!("binaryen@{BINARYEN_VERSION}"),
                &format!("terser@{TERSER_VERSION}"),
            ],
        )?;
    }
    if !embed::toolchain_ready() {
        apt_install(&embed::DEBIAN_PACKAGES)?;
    }
    if needs == Needs::Everything
        && (output("chromium", &["--version"]).is_err()
            || output("chromedriver", &["--version"]).is_err())
    {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    // The mail server the alert and digest tests send to (aiosmtpd).
    if needs == Needs::Everything && output(SMTP_PYTHON, &["-c", "import aiosmtpd"]).is_err() {
        apt_install(&["python3-aiosmtpd"])?;
    }
    eprintln!("xtask: set-up checked in {:.1?}", started.elapsed());
    Ok(())
}

/// Debian's Python, which has Debian's `python3-aiosmtpd` (the tests'
/// SMTP server, `SONDE_TEST_SMTP_PYTHON`).
const SMTP_PYTHON: &str = "/usr/bin/python3";

/// Installs Debian packages (with sudo unless root).
fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo = if output("id", &["-u"]).unwrap_or_default().trim() == "0" {
        vec![]
    } else {
        vec!["sudo"]
    };
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd: Vec<&str> = sudo.clone();
        cmd.push("apt-get");
        cmd.extend_from_slice(args);
        step(cmd[0], &cmd[1..])
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q"];
    install.extend_from_slice(packages);
    apt(&install)
}

fn build_web(root: &Path) -> Result<()> {
    let started = Instant::now();
    let status = command("trunk")?
        .args(["build", "--release", "--offline"])
        .current_dir(root)
        .status()
        .context("cannot run trunk (try `cargo xtask setup`)")?;
    if !status.success() {
        bail!("trunk build failed");
    }
    eprintln!(
        "xtask: web app built into dist/ in {:.1?}",
        started.elapsed()
    );
    embed::build(root)
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("path is not UTF-8")
}

fn run(root: &Path, args: &[String]) -> Result<()> {
    setup(root, Needs::Build)?;
    build_web(root)?;
    // `--workspace` keeps feature resolution identical to `xtask test`, so
    // DuckDB's C++ build is shared instead of done twice (see WORKSPACE).
    step("cargo", &["build", WORKSPACE, "--bin", "sonde"])?;
    let sonde = target_dir()?.join("debug/sonde");
    let mut serve = vec!["serve".to_owned(), "--web-dir".into(), "dist".into()];
    serve.extend(args.iter().cloned());
    let serve: Vec<&str> = serve.iter().map(String::as_str).collect();
    step(sonde.to_str().context("target dir is not UTF-8")?, &serve)
}

/// Every native cargo command selects the whole workspace. Cargo unifies
/// features over the selected packages; selecting fewer (`-p sonde-server`)
/// changes the features of libduckdb-sys's build dependencies, which
/// rebuilds DuckDB's C++ from scratch (15+ minutes on two cores).
const WORKSPACE: &str = "--workspace";

fn target_dir() -> Result<PathBuf> {
    let out = command("cargo")?
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let dir = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(dir))
}

fn test(root: &Path) -> Result<()> {
    let started = Instant::now();
    setup(root, Needs::Everything)?;
    step("cargo", &["fmt", "--all", "--", "--check"])?;
    step(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step(
        "cargo",
        &[
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "--package",
            "sonde-web",
            "--package",
            "sonde-protocol",
            "--package",
            "sonde-collector",
            "--package",
            "sonde-banner",
            // Not the budgets example: it drives a browser from the host.
            "--lib",
            "--bins",
            "--tests",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    build_web(root)?;
    step("cargo", &["test", WORKSPACE])?;
    cluster_tests()?;
    component_tests()?;
    fuzz(root, TEST_FUZZ_SECONDS)?;
    eprintln!(
        "xtask: all checks and tests passed in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// The tests that need the ClickHouse cluster (ignored by a plain `cargo
/// test`): the local cluster is started for them when it is not running,
/// and stopped after if it was started here.
fn cluster_tests() -> Result<()> {
    let started = cluster::up_for_tests()?;
    let xtask = std::env::current_exe().context("cannot tell where xtask is")?;
    let runs: [(&[&str], &[&str]); 7] = [
        // The stores against the cluster, and against DuckDB.
        (&["--lib", "store::clickhouse"], &[]),
        (&["--lib", "store::postgres"], &[]),
        (&["--lib", "store::alerts"], &[]),
        (&["--lib", "store::digests"], &[]),
        (&["--lib", "store::saved"], &[]),
        // Moving the embedded store's data to the cluster and back.
        (&["--lib", "transfer::"], &[]),
        // The `sonde` binary on the cluster, one test at a time: the fault
        // test takes a replica away from every other.
        (&["--test", "cluster"], &["--test-threads=1"]),
    ];
    let mut failed = None;
    for (run, harness) in runs {
        let mut args = vec!["test", WORKSPACE];
        args.extend_from_slice(run);
        args.extend(["--", "--include-ignored"]);
        args.extend_from_slice(harness);
        eprintln!("xtask: cargo {}", args.join(" "));
        let status = command("cargo")?
            .args(&args)
            .env("SONDE_TEST_CLICKHOUSE", cluster::clickhouse_urls())
            .env("SONDE_TEST_POSTGRES", cluster::postgres_address("sonde"))
            .env("SONDE_CLUSTER_DIR", cluster::cluster_dir())
            .env("SONDE_XTASK", &xtask)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            failed = Some(status);
            break;
        }
    }
    if started {
        cluster::down_after_tests()?;
    }
    if let Some(status) = failed {
        bail!("the cluster tests failed ({status})");
    }
    Ok(())
}

/// The dashboard's component tests (`tests/components.rs`): built for wasm
/// and run by wasm-bindgen-test-runner in headless Chromium, through the
/// chromedriver the browser tests use.
fn component_tests() -> Result<()> {
    let args = [
        "test",
        "--target",
        "wasm32-unknown-unknown",
        "--package",
        "sonde-web",
        "--test",
        "components",
    ];
    eprintln!("xtask: cargo {}", args.join(" "));
    let started = Instant::now();
    let driver = env::var("SONDE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let status = command("cargo")?
        .args(args)
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", driver)
        .status()
        .context("cannot run cargo test for wasm")?;
    if !status.success() {
        bail!("the component tests failed ({status})");
    }
    eprintln!("xtask: done in {:.1?}", started.elapsed());
    Ok(())
}

/// The budgets benchmark (`benches/budgets.rs`), on a fresh build.
fn bench(root: &Path) -> Result<()> {
    setup(root, Needs::Everything)?;
    build_web(root)?;
    embed::size_report(root)?;
    step("cargo", &["build", WORKSPACE, "--examples"])?;
    let budgets = target_dir()?.join("debug/examples/budgets");
    step_in(root, path_str(&budgets)?, &[], &[])
}

/// Fuzzes the ingest body parser and validation (`fuzz/`) for `seconds`,
/// from the seeds and what earlier runs found (`fuzz/corpus`, not kept in
/// git). A crash fails the run and leaves its input in `fuzz/artifacts`.
fn fuzz(root: &Path, seconds: u32) -> Result<()> {
    if !version_matches("cargo", &["fuzz", "--version"], CARGO_FUZZ_VERSION) {
        step(
            "cargo",
            &[
                "install",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
                "--locked",
            ],
        )?;
    }
    let dir = root.join("fuzz");
    std::fs::create_dir_all(dir.join("corpus/ingest_batch"))?;
    let target = target_dir()?.join("fuzz");
    let max_time = format!("-max_total_time={seconds}");
    let args = [
        "fuzz",
        "run",
        "ingest_batch",
        "--sanitizer",
        "none",
        "--target-dir",
        path_str(&target)?,
        "corpus/ingest_batch",
        "seeds/ingest_batch",
        "--",
        &max_time,
    ];
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = command("cargo")?
        .args(args)
        .current_dir(&dir)
        // cargo-fuzz instruments with flags rustc accepts only on nightly;
        // this machine has the stable toolchain only.
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .context("cannot run cargo fuzz")?;
    if !status.success() {
        bail!("the fuzzer failed; its input is in fuzz/artifacts/ingest_batch");
    }
    Ok(())
}

/// The ingest benchmark (`crates/server/benches/ingest.rs`): the server on
/// core 0, the load generator on core 1, when `taskset` can pin them.
fn bench_ingest(root: &Path) -> Result<()> {
    if output("wrk", &["--version"]).is_err() && !Path::new("/usr/bin/wrk").exists() {
        apt_install(&["wrk"])?;
    }
    step(
        "cargo",
        &["build", WORKSPACE, "--examples", "--bin", "sonde"],
    )?;
    let ingest = target_dir()?.join("debug/examples/ingest");
    // Sonde's own cluster store on the local cluster, in the same run.
    let started = cluster::up_for_tests()?;
    let servers = cluster::clickhouse_urls();
    let postgres = cluster::postgres_address("");
    let env = [
        ("SONDE_BENCH_CLUSTER_CLICKHOUSE", servers.as_str()),
        (
            "SONDE_BENCH_CLUSTER_POSTGRES",
            postgres.trim_end_matches('/'),
        ),
    ];
    let run = if Path::new("/usr/bin/taskset").exists() {
        step_in(root, "taskset", &["-c", "1", path_str(&ingest)?], &env)
    } else {
        step_in(root, path_str(&ingest)?, &[], &env)
    };
    if started {
        cluster::down_after_tests()?;
    }
    run
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen")
}

/// A command for a child process, without the variables `cargo run` set for
/// xtask itself. They describe xtask's package, not the build, and leaking
/// `CARGO_MANIFEST_DIR` into child cargo runs reruns build scripts that watch
/// it (ring's), which rebuilds DuckDB's C++ on every new clone path.
fn command(program: &str) -> Result<Command> {
    let mut cmd = Command::new(program);
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd.env("PATH", tool_path()?);
    Ok(cmd)
}

fn version_matches(program: &str, args: &[&str], version: &str) -> bool {
    output(program, args).is_ok_and(|out| out.contains(version))
}

fn output(program: &str, args: &[&str]) -> Result<String> {
    let out = command(program)?.args(args).output()?;
    if !out.status.success() {
        bail!("{program} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The upstream lists behind the bot filter: (repository, file, where it is
/// kept, its licence file there).
const BOT_LISTS: [(&str, &str, &str); 2] = [
    ("omrilotan/isbot", "src/patterns.json", "patterns"),
    (
        "monperrus/crawler-user-agents",
        "crawler-user-agents.json",
        "crawler-user-agents",
    ),
];

/// Fetches each bot list's newest commit on its default branch, and writes
/// the file with a `.VERSION` naming the commit and the file's checksum
/// (the server's tests check that the two agree). Review the diff, run the
/// tests (the crawler and browser corpora), and commit.
fn refresh_bots(root: &Path) -> Result<()> {
    let dir = root.join("crates/server/data/bots");
    for (repo, file, name) in BOT_LISTS {
        let commit = output(
            "curl",
            &[
                "-fsSL",
                "-H",
                "Accept: application/vnd.github.sha",
                &format!("https://api.github.com/repos/{repo}/commits/HEAD"),
            ],
        )
        .with_context(|| format!("cannot reach GitHub for {repo}"))?;
        let commit = commit.trim();
        let json = dir.join(format!("{name}.json"));
        step(
            "curl",
            &[
                "-fsSL",
                "-o",
                path_str(&json)?,
                &format!("https://raw.githubusercontent.com/{repo}/{commit}/{file}"),
            ],
        )?;
        let sha256 = output("sha256sum", &[path_str(&json)?])?;
        let sha256 = sha256.split_whitespace().next().unwrap_or_default();
        std::fs::write(
            dir.join(format!("{name}.VERSION")),
            format!(
                "upstream_repo: https://github.com/{repo}\nfile_path: {file}\ncommit: {commit}\n\
                 fetched: {}\nsha256: {sha256}\nlicense: see {name}.LICENSE\n",
                output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])?.trim()
            ),
        )?;
        eprintln!("xtask: {repo} {file} at {commit}");
    }
    Ok(())
}

/// The dashboard query benchmark (`crates/server/benches/queries.rs`).
fn bench_queries(root: &Path, growth: bool) -> Result<()> {
    // The other side of the comparison (see `benches/clickhouse.rs`); the
    // growth run leaves it out.
    if !growth && !Path::new("/usr/sbin/clickhouse-server").exists() {
        apt_install(&["clickhouse-server"])?;
    }
    step(
        "cargo",
        &["build", WORKSPACE, "--examples", "--bin", "sonde"],
    )?;
    let queries = target_dir()?.join("debug/examples/queries");
    // Rolling up a day of 3.3 million events needs more than DuckDB's
    // default 256 MB (BENCHMARKS.md, growth).
    let growth: &[(&str, &str)] = if growth {
        &[
            ("SONDE_BENCH_GROWTH", "1"),
            ("SONDE_STORE_MEMORY_MB", "1024"),
        ]
    } else {
        &[]
    };
    if !growth.is_empty() {
        return step_in(root, path_str(&queries)?, &[], growth);
    }
    // Sonde's own cluster store on the local cluster, in the same run.
    let started = cluster::up_for_tests()?;
    let servers = cluster::clickhouse_urls();
    let postgres = cluster::postgres_address("");
    let run = step_in(
        root,
        path_str(&queries)?,
        &[],
        &[
            ("SONDE_BENCH_CLUSTER_CLICKHOUSE", servers.as_str()),
            (
                "SONDE_BENCH_CLUSTER_POSTGRES",
                postgres.trim_end_matches('/'),
            ),
        ],
    );
    if started {
        cluster::down_after_tests()?;
    }
    run
}

/// Runs a benchmark for the checkout at `root` (`SONDE_ROOT`): the
/// benchmarks write their results into its BENCHMARKS.md.
fn step_in(root: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    eprintln!("xtask: {program} {}", args.join(" "));
    let status = command(program)?
        .args(args)
        .envs(env.iter().copied())
        .env("SONDE_ROOT", root)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn step(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("xtask: {program} {}", args.join(" "));
    let started = Instant::now();
    let status = command(program)?
        .args(args)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    eprintln!("xtask: done in {:.1?}", started.elapsed());
    Ok(())
}
