//! The ingest benchmark (`cargo xtask bench-ingest`): end-to-end ingest over
//! HTTP on loopback, with durable acknowledgement, against the real `sonde`
//! binary pinned to one core, from a load generator on the other core.
//!
//! For batches of 1, 10 and 50 events it measures acknowledged events per
//! second and the p50 and p99 latency of a request; then it fills the store
//! to 10 million events and measures again. In the same run it measures the
//! raw DuckDB appender rate on this machine, so the ingest figures read as a
//! ratio of what the storage engine alone can take. Results go to
//! BENCHMARKS.md between the `ingest` markers.
//!
//! An example rather than a bench target, so it builds in the dev profile and
//! reuses DuckDB's build (see the workspace Cargo.toml).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sonde_server::store::Store;

const ORIGIN: &str = "https://bench.example";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const BATCH_SIZES: [usize; 3] = [1, 10, 50];
/// Requests in flight at once.
const CONNECTIONS: usize = 64;
const RUN: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(2);
const PREFILL: u64 = 10_000_000;
const APPENDER_ROWS: u64 = 2_000_000;

struct Run {
    batch: usize,
    events_per_sec: f64,
    requests: usize,
    p50_ms: f64,
    p99_ms: f64,
    refused: u64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let tmp = tempfile::tempdir().expect("a temp dir");
    let server_core = std::env::var("SONDE_BENCH_SERVER_CPU").unwrap_or_else(|_| "0".into());

    eprintln!("raw DuckDB appender, {APPENDER_ROWS} rows…");
    let appender_rate = appender_rate(&tmp.path().join("appender.duckdb"));
    eprintln!("  {appender_rate:.0} rows/s");

    let data_dir = tmp.path().join("data");
    let mut empty = Vec::new();
    {
        let (server, url) = start_sonde(&data_dir, &server_core);
        for batch in BATCH_SIZES {
            let run = runtime.block_on(load(&url, batch, "empty"));
            report(&run);
            empty.push(run);
        }
        stop(server);
    }

    eprintln!("filling the store to {PREFILL} events…");
    let started = Instant::now();
    prefill(&data_dir.join("sonde.duckdb"), PREFILL);
    let fill_secs = started.elapsed().as_secs_f64();
    eprintln!("  took {fill_secs:.1} s");

    let mut full = Vec::new();
    {
        let (server, url) = start_sonde(&data_dir, &server_core);
        for batch in BATCH_SIZES {
            let run = runtime.block_on(load(&url, batch, "full"));
            report(&run);
            full.push(run);
        }
        stop(server);
    }
    write_results(appender_rate, &empty, &full, &server_core);
}

fn report(run: &Run) {
    eprintln!(
        "  batch {:>2}: {:>9.0} events/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {} refused)",
        run.batch, run.events_per_sec, run.p50_ms, run.p99_ms, run.requests, run.refused
    );
}

/// Rows per second the DuckDB appender takes into a table shaped like
/// `events`, without its primary key: the storage engine's ceiling here.
fn appender_rate(path: &Path) -> f64 {
    let conn = duckdb::Connection::open(path).expect("a DuckDB file");
    conn.execute_batch(
        "CREATE TABLE raw (id VARCHAR, site VARCHAR, kind VARCHAR, ts_ms BIGINT, visitor_id BIGINT,
                           session_id VARCHAR, path VARCHAR, title VARCHAR)",
    )
    .expect("a table");
    let started = Instant::now();
    {
        let mut appender = conn.appender("raw").expect("an appender");
        let ts = now_ms();
        for i in 0..APPENDER_ROWS {
            appender
                .append_row(duckdb::params![
                    format!("raw-{i:016x}"),
                    "bench",
                    "page_view",
                    ts,
                    i as i64,
                    "session-0123456789abcdef",
                    "/products/kettle",
                    "Kettle"
                ])
                .expect("a row");
        }
        appender.flush().expect("flushed");
    }
    APPENDER_ROWS as f64 / started.elapsed().as_secs_f64()
}

/// Adds `count` page views to the store at `path`, generated in SQL, spread
/// over the last week (as a site's recent traffic would be).
fn prefill(path: &Path, count: u64) {
    drop(Store::open(path).expect("the store opens"));
    let conn = duckdb::Connection::open(path).expect("the store's file");
    conn.execute_batch(&format!(
        "INSERT INTO events (id, site, kind, category, ts, visitor_id, session_id, path, title, browser, os, device)
         SELECT 'fill-' || i, 'bench', 'page_view', 'usage',
                now()::TIMESTAMP - to_milliseconds(i % (7 * 86400000)),
                (hash(i // 5) >> 1)::BIGINT, 'fill-session-' || (i // 5),
                '/products/' || (i % 500), 'Product', 'Firefox', 'Linux', 'desktop'
         FROM range({count}) t(i)"
    ))
    .expect("the store fills");
}

fn start_sonde(data_dir: &Path, core: &str) -> (Child, String) {
    let sonde = sibling_binary("sonde");
    let mut command = if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", core]).arg(&sonde);
        c
    } else {
        Command::new(&sonde)
    };
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--rate-limit-visitor", "0"])
        .args(["--rate-limit-site", "0", "--site"])
        .arg(format!("bench={ORIGIN}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("SONDE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", sonde.display()));
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
fn stop(mut server: Child) {
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
}

/// `target/debug/<name>`, beside `target/debug/examples/` where this runs.
fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("this example's path");
    exe.parent()
        .and_then(Path::parent)
        .map(|debug| debug.join(name))
        .expect("a target directory")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// Sends batches of `batch` events from [`CONNECTIONS`] concurrent clients
/// for [`RUN`] after a warm-up, and measures what was acknowledged.
async fn load(url: &str, batch: usize, tag: &str) -> Run {
    let http = reqwest::Client::builder()
        .user_agent(UA)
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("a client");
    let endpoint = format!("{url}/api/ingest");
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|worker| {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            let (measuring, stop) = (Arc::clone(&measuring), Arc::clone(&stop));
            let (acked, refused) = (Arc::clone(&acked), Arc::clone(&refused));
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = batch_json(&tag, batch, worker, sent);
                    sent += 1;
                    let started = Instant::now();
                    let response = http
                        .post(&endpoint)
                        .header("content-type", "application/json")
                        .header("origin", ORIGIN)
                        .body(body)
                        .send()
                        .await;
                    let ok = match response {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if measuring.load(Ordering::Relaxed) {
                        if ok {
                            latencies.push(started.elapsed());
                            acked.fetch_add(batch as u64, Ordering::Relaxed);
                        } else {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    measuring.store(true, Ordering::SeqCst);
    let started = Instant::now();
    tokio::time::sleep(RUN).await;
    measuring.store(false, Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    let events = acked.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("a worker"));
    }
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Run {
        batch,
        events_per_sec: events as f64 / elapsed,
        requests: latencies.len(),
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        refused: refused.load(Ordering::SeqCst),
    }
}

/// A batch as a collector sends it: page views with unique ids.
fn batch_json(tag: &str, batch: usize, worker: usize, n: u64) -> String {
    let ts = now_ms();
    let mut body = String::with_capacity(64 + batch * 160);
    body.push_str(r#"{"site":"bench","consent":{"usage":true},"events":["#);
    for i in 0..batch {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"id":"{tag}-{worker}-{n}-{i}","ts":{ts},"session":"s{worker}","kind":"page_view","url":"/products/{i}","title":"Kettle"}}"#
        );
    }
    body.push_str("]}");
    body
}

fn write_results(appender_rate: f64, empty: &[Run], full: &[Run], core: &str) {
    let mut section = String::new();
    let _ = writeln!(
        section,
        "## Ingest over HTTP (`cargo xtask bench-ingest`)\n\n\
         Measured {} on this machine ({} cores): the `sonde` binary pinned to core {core} \
         (`taskset`), a load generator in this process with {CONNECTIONS} requests in flight, \
         loopback HTTP/1.1, JSON bodies, every event acknowledged only after its commit. \
         {}-second runs after a {}-second warm-up.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        // This process is pinned to one core; count the machine's.
        std::fs::read_to_string("/proc/cpuinfo").map_or(0, |info| info
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()),
        RUN.as_secs(),
        WARM_UP.as_secs(),
    );
    let _ = writeln!(
        section,
        "| store | events per batch | events/s | requests/s | p50 | p99 | refused |\n|---|---|---|---|---|---|---|"
    );
    for (store, runs) in [("empty", empty), ("10 million events", full)] {
        for run in runs {
            let _ = writeln!(
                section,
                "| {store} | {} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {} |",
                run.batch,
                run.events_per_sec,
                run.requests as f64 / RUN.as_secs_f64(),
                run.p50_ms,
                run.p99_ms,
                run.refused
            );
        }
    }
    let best = empty
        .iter()
        .chain(full)
        .map(|r| r.events_per_sec)
        .fold(0.0, f64::max);
    let _ = writeln!(
        section,
        "\nRaw DuckDB appender on the same machine, same run: {appender_rate:.0} rows/s \
         (one thread, no primary key). The best ingest figure above is {:.1}% of it; \
         the goal is 100,000 events/s.",
        100.0 * best / appender_rate
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = ("<!-- ingest:start", "<!-- ingest:end -->");
    let block =
        format!("<!-- ingest:start (written by `cargo xtask bench-ingest`) -->\n{section}{end}");
    let updated = match (current.find(start), current.find(end)) {
        (Some(a), Some(b)) => format!("{}{block}{}", &current[..a], &current[b + end.len()..]),
        _ => format!("{current}\n{block}\n"),
    };
    std::fs::write(&path, updated).expect("BENCHMARKS.md is writable");
    eprintln!("results written to {}", path.display());
}
