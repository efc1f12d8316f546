//! The ingest benchmark (`cargo xtask bench-ingest`): end-to-end ingest over
//! HTTP on loopback, with durable acknowledgement, against the real `sonde`
//! binary pinned to one core, loaded by `wrk` (a maintained C load
//! generator; a Lua script makes each event id unique) on the other core.
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
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use sonde_server::store::DuckDbStore;
use support::{now_ms, sibling_binary, spawn_sonde, stop};

#[path = "on_cluster.rs"]
#[allow(dead_code)] // what only the query benchmark moves
mod on_cluster;
#[path = "support.rs"]
mod support;

const ORIGIN: &str = "https://bench.example";
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
    requests_per_sec: f64,
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
    let script = tmp.path().join("batches.lua");
    std::fs::write(&script, WRK_SCRIPT).expect("the wrk script is written");

    eprintln!("raw DuckDB appender, {APPENDER_ROWS} rows…");
    let appender_rate = appender_rate(&tmp.path().join("appender.duckdb"));
    eprintln!("  {appender_rate:.0} rows/s");

    let data_dir = tmp.path().join("data");
    let mut empty = Vec::new();
    {
        let (server, url) = start_sonde(&data_dir, &server_core);
        for batch in BATCH_SIZES {
            let run = runtime.block_on(measure(&url, batch, "empty", &script));
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
            let run = runtime.block_on(measure(&url, batch, "full", &script));
            report(&run);
            full.push(run);
        }
        stop(server);
    }

    // Sonde's cluster store, when `cargo xtask bench-ingest` names the
    // local cluster: one process, then two on the same cluster.
    let mut on_cluster = Vec::new();
    if let Some(cluster) = on_cluster::Cluster::from_env() {
        runtime.block_on(cluster.empty("bench_ingest"));
        let stores = (
            cluster.store("bench_ingest"),
            cluster.app_store("bench_ingest"),
        );
        let dir = |n: usize| tmp.path().join(format!("on-cluster-{n}"));
        let (first, first_url) = start_on_cluster(&dir(1), &stores);
        for processes in [1, 2] {
            let second = (processes == 2).then(|| start_on_cluster(&dir(2), &stores));
            let mut urls = vec![first_url.as_str()];
            urls.extend(second.as_ref().map(|(_, url)| url.as_str()));
            for batch in BATCH_SIZES {
                let tag = format!("cluster-{processes}-{batch}");
                runtime.block_on(load_spread(
                    &urls,
                    batch,
                    &format!("{tag}-warm"),
                    &script,
                    WARM_UP,
                ));
                let run = runtime.block_on(load_spread(&urls, batch, &tag, &script, RUN));
                report(&run);
                on_cluster.push((processes, run));
            }
            if let Some((second, _)) = second {
                stop(second);
            }
        }
        stop(first);
    }
    write_results(appender_rate, &empty, &full, &on_cluster, &server_core);
}

/// `sonde serve` on the cluster's stores (`--store`, `--app-store`), on
/// every core (this benchmark runs pinned to one, and its children would
/// inherit that): the cluster's servers share the machine's cores with it.
fn start_on_cluster(data_dir: &Path, (store, app_store): &(String, String)) -> (Child, String) {
    let sonde = sibling_binary("sonde");
    let mut command = if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", &format!("0-{}", machine_cores().max(1) - 1)])
            .arg(&sonde);
        c
    } else {
        Command::new(&sonde)
    };
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--rate-limit-visitor", "0"])
        .args(["--rate-limit-site", "0", "--site"])
        .arg(format!("bench={ORIGIN}"))
        .args(["--store", store, "--app-store", app_store, "--data-dir"])
        .arg(data_dir);
    spawn_sonde(&mut command)
}

/// A warm-up run, then the measured one.
/// Event ids are unique across runs (`tag`, batch size, warm-up or not):
/// a repeated id would send its whole group down the slower path for
/// retried batches.
async fn measure(url: &str, batch: usize, tag: &str, script: &Path) -> Run {
    let tag = format!("{tag}-{batch}");
    load(url, batch, &format!("{tag}-warm"), script, WARM_UP).await;
    load(url, batch, &tag, script, RUN).await
}

fn report(run: &Run) {
    eprintln!(
        "  batch {:>2}: {:>9.0} events/s, {:>6.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {} refused",
        run.batch, run.events_per_sec, run.requests_per_sec, run.p50_ms, run.p99_ms, run.refused
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
    drop(DuckDbStore::open(path).expect("the store opens"));
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
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--rate-limit-visitor", "0"])
        .args(["--rate-limit-site", "0", "--site"])
        .arg(format!("bench={ORIGIN}"))
        .arg("--data-dir")
        .arg(data_dir);
    spawn_sonde(&mut command)
}

/// Makes each request a batch of `batch` page views with ids of their own.
const WRK_SCRIPT: &str = r#"
local batch, tag, counter, prefix = 1, "run", 0, ""
local threads = 0
function setup(thread) threads = threads + 1; thread:set("prefix", tostring(threads)) end
function init(args) batch = tonumber(args[1]); tag = args[2] end
function request()
  counter = counter + 1
  local ts = string.format("%d", os.time() * 1000)
  local events = {}
  for i = 1, batch do
    events[i] = '{"id":"' .. tag .. '-' .. prefix .. '-' .. counter .. '-' .. i .. '","ts":' .. ts ..
      ',"session":"s' .. prefix .. '","kind":"page_view","url":"/products/' .. i .. '","title":"Kettle"}'
  end
  local body = '{"site":"bench","consent":{"usage":true},"events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", "/api/ingest", {
    ["content-type"] = "application/json",
    ["origin"] = "https://bench.example",
    ["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  }, body)
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f %d\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
"#;

/// Runs `wrk` for `duration` with batches of `batch` events, and reads the
/// events the server acknowledged from its own counter.
async fn load(url: &str, batch: usize, tag: &str, script: &Path, duration: Duration) -> Run {
    load_spread(&[url], batch, tag, script, duration).await
}

/// [`load`] on several servers at once (one `wrk` each, the connections
/// shared out), as a load balancer spreads browsers: the events all of
/// them stored, their requests added up, the median of their medians and
/// the worst p99.
async fn load_spread(
    urls: &[&str],
    batch: usize,
    tag: &str,
    script: &Path,
    duration: Duration,
) -> Run {
    let mut accepted_before = 0;
    for url in urls {
        accepted_before += accepted(url).await;
    }
    let connections = CONNECTIONS / urls.len();
    let results: Vec<[f64; 5]> = std::thread::scope(|s| {
        let runs: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(n, url)| {
                let tag = format!("{tag}-{n}");
                s.spawn(move || wrk(url, connections, batch, &tag, script, duration))
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("wrk ran"))
            .collect()
    });
    let mut accepted_after = 0;
    for url in urls {
        accepted_after += accepted(url).await;
    }
    let seconds = results.iter().map(|r| r[1]).fold(0.0, f64::max) / 1e6;
    let mut p50s: Vec<f64> = results.iter().map(|r| r[2]).collect();
    p50s.sort_by(f64::total_cmp);
    Run {
        batch,
        events_per_sec: (accepted_after - accepted_before) as f64 / seconds,
        requests_per_sec: results.iter().map(|r| r[0]).sum::<f64>() / seconds,
        p50_ms: p50s[p50s.len() / 2],
        p99_ms: results.iter().map(|r| r[3]).fold(0.0, f64::max),
        refused: results.iter().map(|r| r[4] as u64).sum(),
    }
}

/// One `wrk` run: requests, microseconds, p50 and p99 in ms, and requests
/// not answered 2xx.
fn wrk(
    url: &str,
    connections: usize,
    batch: usize,
    tag: &str,
    script: &Path,
    duration: Duration,
) -> [f64; 5] {
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs()),
        ])
        .arg("-s")
        .arg(script)
        .arg(url)
        .args(["--", &batch.to_string(), tag])
        .output()
        .expect("wrk runs (`cargo xtask bench-ingest` installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result from wrk: {stdout}"));
    let fields: Vec<f64> = result
        .split_whitespace()
        .map(|f| f.parse().expect("a number"))
        .collect();
    fields[..]
        .try_into()
        .unwrap_or_else(|_| panic!("unexpected wrk result {result:?}"))
}

/// The machine's cores (this process is pinned to one: not its own).
fn machine_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo").map_or(0, |info| {
        info.lines().filter(|l| l.starts_with("processor")).count()
    })
}

/// Events the server has stored so far (its `/metrics` counter).
async fn accepted(url: &str) -> u64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .and_then(|r| r.error_for_status())
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix("sonde_events_accepted_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the accepted-events counter")
}

fn write_results(
    appender_rate: f64,
    empty: &[Run],
    full: &[Run],
    on_cluster: &[(usize, Run)],
    core: &str,
) {
    let mut section = String::new();
    let _ = writeln!(
        section,
        "## Ingest over HTTP (`cargo xtask bench-ingest`)\n\n\
         Measured {} on this machine ({} cores): the `sonde` binary (dev profile, its own \
         code at opt-level 2) pinned to core {core} with `taskset`, `wrk` on the other core \
         with {CONNECTIONS} connections, loopback HTTP/1.1 keep-alive, JSON bodies of page \
         views with unique ids, every event acknowledged only after its commit. Events/s \
         counts what the server stored (its own counter); latency is per request, from \
         wrk. {}-second runs after a {}-second warm-up.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        machine_cores(),
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
                run.requests_per_sec,
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
    if on_cluster.is_empty() {
        let _ = writeln!(
            section,
            "\nThe local cluster was not named: no figures on Sonde's cluster store this run."
        );
    } else {
        let _ = writeln!(
            section,
            "\n### On the cluster\n\n\
             In the same run, Sonde on the local cluster (`cargo xtask cluster up`: ClickHouse \
             18.16 as 2 shards × 2 replicas, ZooKeeper and PostgreSQL, all on this machine's \
             {} cores with Sonde and `wrk`, nothing pinned), an empty database: one process, \
             then two on the same stores with `wrk`'s connections split between them (as \
             behind a load balancer). Every event acknowledged only once a quorum of its \
             shard's replicas has it. Events/s: what the processes stored, added up; p50 is \
             the median of the processes', p99 the worst.\n\n\
             | Sonde processes | events per batch | events/s | requests/s | p50 | p99 | refused |\n\
             |---|---|---|---|---|---|---|",
            machine_cores(),
        );
        for (processes, run) in on_cluster {
            let _ = writeln!(
                section,
                "| {processes} | {} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {} |",
                run.batch,
                run.events_per_sec,
                run.requests_per_sec,
                run.p50_ms,
                run.p99_ms,
                run.refused
            );
        }
    }
    // The checkout `cargo xtask bench-ingest` runs for (the path compiled in
    // may be another clone's when clones share a target directory).
    let root = std::env::var_os("SONDE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let path = root.join("BENCHMARKS.md");
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
