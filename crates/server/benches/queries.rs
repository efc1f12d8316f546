//! The dashboard query benchmark (`cargo xtask bench-queries`): every
//! dashboard query over HTTP against the real `sonde` binary, signed in, on
//! an embedded store of 1 million and of 10 million events spread over 30
//! days (sessions of eight events: page views down a four-step checkout,
//! custom events, web vitals and some errors, campaigns on some landings),
//! with a saved four-step funnel and a goal. Each query runs 3 times to
//! warm up and 20 times measured; the median and p95 go to BENCHMARKS.md
//! between the `queries` markers, with the server's resident memory.
//!
//! An example rather than a bench target, so it builds in the dev profile and
//! reuses DuckDB's build (see the workspace Cargo.toml).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde_protocol::funnel::{FunnelDefinition, FunnelUnit, SavedFunnel, Step};
use sonde_protocol::goal::{Goal, SavedGoal};
use sonde_server::store::{DuckDbStore, SavedStore};
use support::{now_ms, sibling_binary, spawn_sonde, stop};

#[path = "clickhouse.rs"]
mod clickhouse;
#[path = "on_cluster.rs"]
mod on_cluster;
#[path = "support.rs"]
mod support;

const SIZES: [u64; 2] = [1_000_000, 10_000_000];
/// `cargo xtask bench-queries --100m`: how each query grows from 10 to 100
/// million events, in a run of its own (filling 100 million events takes
/// a while), without ClickHouse.
const GROWTH_SIZES: [u64; 2] = [10_000_000, 100_000_000];
const WARM_UP: usize = 3;
const RUNS: usize = 20;
/// On the cluster, whose reports take seconds on this machine (all of it
/// on 2 cores), fewer: a run of every query at 20 each would take an hour.
const CLUSTER_RUNS: Runs = Runs {
    warm_up: 1,
    measured: 10,
};
/// The sizes measured on the cluster too, unless `SONDE_BENCH_CLUSTER_SIZES`
/// says otherwise.
const CLUSTER_SIZES: [u64; 2] = [1_000_000, 10_000_000];

/// How often a query runs before it is timed, and timed.
#[derive(Clone, Copy)]
struct Runs {
    warm_up: usize,
    measured: usize,
}

const RUNS_ON_FILE: Runs = Runs {
    warm_up: WARM_UP,
    measured: RUNS,
};
const DAY: i64 = 86_400_000;
const PASSWORD: &str = "benchmark password";

struct Measured {
    query: &'static str,
    median_ms: f64,
    p95_ms: f64,
    /// The server's peak resident memory once this query had run, MiB.
    peak_mib: Option<f64>,
}

struct AtSize {
    events: u64,
    /// `None` for a store kept from an earlier run.
    fill_secs: Option<f64>,
    /// Seconds `sonde rollup` took to count the days not rolled up yet.
    rollup_secs: f64,
    measured: Vec<Measured>,
    rss_mib: f64,
    peak_mib: f64,
    clickhouse: Option<SideBySide>,
    cluster: Option<OnCluster>,
}

/// Sonde on the cluster's store, on the same events: the seconds moving
/// them there took, whether its reports answered as the file's did, each
/// query measured, and the server's memory.
struct OnCluster {
    load_secs: f64,
    same_answers: Vec<(&'static str, bool)>,
    measured: Vec<Measured>,
    peak_mib: f64,
}

/// ClickHouse on the same events: the seconds loading them took, and each
/// equivalent report measured as Sonde's are.
struct SideBySide {
    load_secs: f64,
    measured: Vec<(clickhouse::Equivalent, Measured)>,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let tmp = tempfile::tempdir().expect("a temp dir");
    // While tuning: `SONDE_BENCH_SIZES=10000000 SONDE_BENCH_QUERIES=usage`
    // measures a part (`usage|errors`: the queries whose name contains
    // either) and leaves BENCHMARKS.md alone, and
    // `SONDE_BENCH_CLICKHOUSE=no` leaves ClickHouse out.
    let growth = std::env::var_os("SONDE_BENCH_GROWTH").is_some();
    let clickhouse = match std::env::var("SONDE_BENCH_CLICKHOUSE").as_deref() {
        _ if growth => None,
        Ok("no") => None,
        _ => runtime.block_on(clickhouse::ClickHouse::start()),
    };
    // Sonde's own cluster store, when `cargo xtask bench-queries` names the
    // local cluster.
    let cluster = if growth {
        None
    } else {
        on_cluster::Cluster::from_env()
    };
    let whole = if growth { GROWTH_SIZES } else { SIZES };
    let sizes: Vec<u64> = std::env::var("SONDE_BENCH_SIZES").map_or(whole.to_vec(), |s| {
        s.split(',').filter_map(|n| n.trim().parse().ok()).collect()
    });
    let partial = sizes != whole || std::env::var_os("SONDE_BENCH_QUERIES").is_some();
    let mut results = Vec::new();
    for size in sizes {
        // `SONDE_BENCH_KEEP=DIR` keeps the filled stores there for the next
        // run of the same day (UTC).
        let kept = std::env::var_os("SONDE_BENCH_KEEP").map(PathBuf::from);
        let data_dir = kept
            .as_deref()
            .unwrap_or(tmp.path())
            .join(format!("store-{size}"));
        let stamp = data_dir.join("filled-at");
        std::fs::create_dir_all(&data_dir).expect("a data dir");
        let started = Instant::now();
        let mut fill_secs = None;
        // A kept store is filled again once its last day is over: on a
        // live site today's events are not rolled up yet, and the queries
        // must meet that part too.
        let same_day = |filled_at: i64| filled_at / DAY == now_ms() / DAY;
        let now = match std::fs::read_to_string(&stamp)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(filled_at) if kept.is_some() && same_day(filled_at) => filled_at,
            _ => {
                if data_dir.join("sonde.duckdb").exists() {
                    std::fs::remove_dir_all(&data_dir).expect("the old store goes");
                    std::fs::create_dir_all(&data_dir).expect("a data dir");
                }
                eprintln!("filling a store with {size} events…");
                // Events up to the last minute of today (UTC): the whole of
                // the last day is counted from the events, the worst case of
                // a live site, just before its midnight.
                let now = now_ms() / DAY * DAY + DAY - 60_000;
                fill(&data_dir.join("sonde.duckdb"), size, now);
                std::fs::write(&stamp, now.to_string()).expect("the fill time is kept");
                let secs = started.elapsed().as_secs_f64();
                eprintln!("  took {secs:.1} s");
                fill_secs = Some(secs);
                now
            }
        };
        add_admin(&data_dir);
        let rollup_secs = roll_up(&data_dir);
        let load_secs = clickhouse.as_ref().map(|ch| {
            eprintln!("loading the same events into ClickHouse…");
            let secs = runtime.block_on(ch.load(&data_dir.join("sonde.duckdb")));
            eprintln!("  took {secs:.1} s");
            secs
        });
        // Moved while no server holds the file.
        let cluster_sizes: Vec<u64> = std::env::var("SONDE_BENCH_CLUSTER_SIZES")
            .map_or(CLUSTER_SIZES.to_vec(), |s| {
                s.split(',').filter_map(|n| n.trim().parse().ok()).collect()
            });
        let on_cluster_too = cluster.as_ref().filter(|_| cluster_sizes.contains(&size));
        let moved = on_cluster_too.map(|cluster| {
            let database = format!("bench_{size}");
            eprintln!("moving the same store to the cluster…");
            let load_secs = runtime.block_on(cluster.load(&data_dir, &database));
            eprintln!("  took {load_secs:.1} s");
            (cluster, database, load_secs)
        });
        let (server, url) = start_sonde(&data_dir, None);
        let http = runtime.block_on(sign_in(&url));
        let measured = runtime.block_on(measure_all(&http, &url, now, server.id(), RUNS_ON_FILE));
        let (rss_mib, peak_mib) = memory(server.id());
        let on_cluster = moved.map(|(cluster, database, load_secs)| {
            let stores = (cluster.store(&database), cluster.app_store(&database));
            let (on, on_url) = start_sonde(&data_dir.join("on-cluster"), Some(&stores));
            let on_http = runtime.block_on(sign_in(&on_url));
            let same_answers = runtime.block_on(compare(&http, &url, &on_http, &on_url, now));
            eprintln!("  the same answers: {same_answers:?}");
            let measured =
                runtime.block_on(measure_all(&on_http, &on_url, now, on.id(), CLUSTER_RUNS));
            let (_, peak_mib) = memory(on.id());
            OnCluster {
                load_secs,
                same_answers,
                measured,
                peak_mib,
            }
        });
        let clickhouse = clickhouse.as_ref().zip(load_secs).map(|(ch, load_secs)| {
            let measured = runtime.block_on(measure_clickhouse(ch, &http, &url, now));
            SideBySide {
                load_secs,
                measured,
            }
        });
        drop(server);
        results.push(AtSize {
            events: size,
            fill_secs,
            rollup_secs,
            measured,
            rss_mib,
            peak_mib,
            clickhouse,
            cluster: on_cluster,
        });
    }
    match (partial, growth) {
        (true, _) => {}
        (false, false) => write_results(&results),
        (false, true) => write_growth(&results),
    }
}

/// Sessions of eight events over the 30 days before `now`.
fn fill(path: &Path, count: u64, now: i64) {
    let store = DuckDbStore::open(path).expect("the store opens");
    let page = |path: &str| Step::Page { path: path.into() };
    store
        .put_funnel(&SavedFunnel {
            id: "checkout".into(),
            site: "bench".into(),
            funnel: FunnelDefinition {
                name: "Checkout".into(),
                steps: vec![
                    page("/products/*"),
                    page("/cart"),
                    page("/checkout"),
                    page("/thanks"),
                ],
                window_ms: 3_600_000,
                unit: FunnelUnit::Session,
            },
            updated_at: now,
        })
        .expect("a saved funnel");
    store
        .put_goal(&SavedGoal {
            id: "purchase".into(),
            site: "bench".into(),
            goal: Goal {
                name: "Purchase".into(),
                target: Step::Event {
                    name: "purchase".into(),
                    property: None,
                    value: None,
                },
                value: None,
            },
            updated_at: now,
        })
        .expect("a saved goal");
    drop(store);
    let conn = duckdb::Connection::open(path).expect("the store's file");
    // s: the session, p: the event's place in it. Sessions start one after
    // another over the 30 days, whatever their number, and are stored in
    // the order they happened, as a running server stores them. A session's
    // id is 32 hex digits, as the collector's are; the session and path
    // keys are left for the server to fill in when it opens the file.
    let span = 30 * DAY;
    let step = span / (count as i64 / 8).max(1);
    conn.execute_batch(&format!(
        "INSERT INTO events (id, site, kind, category, ts, visitor_id, session_id, path,
                             referrer_host, utm_source, utm_medium, utm_campaign, name, value,
                             error_message, error_stack, browser, os, device)
         SELECT 'e' || i, 'bench',
            CASE WHEN p < 4 OR (p = 7 AND s % 20 <> 0) THEN 'page_view'
                 WHEN p = 4 THEN 'custom' WHEN p IN (5, 6) THEN 'vital' ELSE 'error' END,
            CASE WHEN p IN (5, 6) THEN 'performance' WHEN p = 7 AND s % 20 = 0 THEN 'errors' ELSE 'usage' END,
            epoch_ms({now}::BIGINT - {span}::BIGINT + s * {step}::BIGINT - 60000 + p * 5000),
            (hash(s // 2) >> 1)::BIGINT, md5(s::VARCHAR),
            CASE p WHEN 0 THEN (CASE WHEN s % 4 = 0 THEN '/' ELSE '/products/' || (s % 50) END)
                   WHEN 1 THEN '/products/' || (s % 50)
                   WHEN 2 THEN (CASE WHEN s % 3 = 0 THEN '/about' ELSE '/cart' END)
                   WHEN 3 THEN (CASE WHEN s % 5 < 2 THEN '/checkout' ELSE '/pricing' END)
                   WHEN 7 THEN (CASE WHEN s % 10 = 0 THEN '/thanks' ELSE '/blog/' || (s % 200) END)
                   ELSE '/products/' || (s % 50) END,
            CASE WHEN p = 0 AND s % 3 = 0 THEN 'www.google.com' WHEN p = 0 AND s % 7 = 0 THEN 'news.ycombinator.com' END,
            CASE WHEN p = 0 AND s % 6 = 1 THEN 'newsletter' END,
            CASE WHEN p = 0 AND s % 6 = 1 THEN 'email' END,
            CASE WHEN p = 0 AND s % 6 = 1 THEN 'winter_sale' END,
            CASE WHEN p = 4 THEN (CASE WHEN s % 10 = 0 THEN 'purchase' ELSE 'add_to_cart' END)
                 WHEN p = 5 THEN 'lcp' WHEN p = 6 THEN 'inp' END,
            CASE WHEN p = 4 AND s % 10 = 0 THEN 49.0
                 WHEN p = 5 THEN 800 + (hash(i) % 4000) WHEN p = 6 THEN 50 + (hash(i) % 600) END,
            CASE WHEN p = 7 AND s % 20 = 0 THEN 'TypeError: cart ' || (s % 97) || ' is undefined' END,
            CASE WHEN p = 7 AND s % 20 = 0 THEN 'render@/checkout.js:' || (s % 9) || ':3' END,
            CASE s % 3 WHEN 0 THEN 'Chrome' WHEN 1 THEN 'Safari' ELSE 'Firefox' END,
            CASE s % 3 WHEN 0 THEN 'Windows 10' WHEN 1 THEN 'iPhone' ELSE 'Linux' END,
            CASE s % 3 WHEN 1 THEN 'mobile' ELSE 'desktop' END
         FROM (SELECT i, i // 8 AS s, i % 8 AS p FROM range({count}) t(i))"
    ))
    .expect("the store fills");
    conn.execute_batch(&format!(
        "INSERT INTO consents (site, consent_id, decided_at, received_at, policy_version, source, gpc,
                               usage, errors, performance, marketing, device)
         SELECT 'bench', 'c' || i, epoch_ms({now}::BIGINT - (i * 7919) % (30 * {DAY}::BIGINT)), now(), 1, 'banner',
                i % 12 = 0, i % 4 <> 0, i % 4 <> 0, i % 3 = 0, i % 5 = 0,
                CASE i % 3 WHEN 1 THEN 'mobile' ELSE 'desktop' END
         FROM range({}) t(i)",
        count / 8
    ))
    .expect("consents fill");
    // Each record its place in the site's chain, as the server gives it,
    // so that the store moves to the cluster as a real one does. The
    // hashes stand in for the chain's (a hash is of the record before it,
    // which SQL over a million rows at once cannot follow): no benchmark
    // verifies the chain.
    conn.execute_batch(
        "UPDATE consents SET chain_seq = r.n, prev_hash = sha256((r.n - 1)::VARCHAR),
                             hash = sha256(r.n::VARCHAR)
         FROM (SELECT consent_id, decided_at,
                      row_number() OVER (ORDER BY decided_at, consent_id) AS n
               FROM consents WHERE site = 'bench') r
         WHERE consents.consent_id = r.consent_id AND consents.decided_at = r.decided_at;
         INSERT INTO consent_chain
         SELECT 'bench', max(chain_seq), sha256(max(chain_seq)::VARCHAR) FROM consents
         WHERE site = 'bench'
         ON CONFLICT DO UPDATE SET seq = excluded.seq, hash = excluded.hash;",
    )
    .expect("consents are chained");
}

fn add_admin(data_dir: &Path) {
    let mut child = Command::new(sibling_binary("sonde"))
        .args(["user", "put", "bench", "--role", "admin", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sonde user put");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("the password is written");
    assert!(child.wait().expect("sonde user put ends").success());
}

/// Rolls up the finished days as a running server would in the background
/// (`sonde rollup`), so the queries meet the store as it is once the
/// server has caught up; the seconds it took.
fn roll_up(data_dir: &Path) -> f64 {
    // The site first, as `serve --site` keeps it: its timezone says its days.
    let status = Command::new(sibling_binary("sonde"))
        .args([
            "site",
            "put",
            "bench",
            "--origin",
            "https://bench.example",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::null())
        .status()
        .expect("sonde site put");
    assert!(status.success(), "sonde site put");
    let started = Instant::now();
    let out = Command::new(sibling_binary("sonde"))
        .args(["rollup", "--data-dir"])
        .arg(data_dir)
        .stderr(Stdio::null())
        .output()
        .expect("sonde rollup");
    assert!(out.status.success(), "sonde rollup");
    let secs = started.elapsed().as_secs_f64();
    eprintln!("  {}", String::from_utf8_lossy(&out.stdout).trim());
    secs
}

async fn sign_in(url: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a client");
    let signed_in = http
        .post(format!("{url}/api/session"))
        .json(&json!({"username": "bench", "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert!(signed_in.status().is_success(), "the bench admin signs in");
    http
}

/// The 30 days the reports cover: whole UTC days, the last one today's.
fn month(now: i64) -> (i64, i64) {
    let to = (now / DAY + 1) * DAY;
    (to - 30 * DAY, to)
}

async fn measure_all(
    http: &reqwest::Client,
    url: &str,
    now: i64,
    server: u32,
    runs: Runs,
) -> Vec<Measured> {
    let (month, to) = month(now);
    let day = now - DAY;
    let range = format!("site=bench&from={month}&to={to}");
    let funnel = json!({"site": "bench", "from": month, "to": to, "funnel": {
        "name": "Checkout", "window_ms": 3_600_000, "unit": "session", "steps": [
            {"type": "page", "path": "/products/*"}, {"type": "page", "path": "/cart"},
            {"type": "page", "path": "/checkout"}, {"type": "page", "path": "/thanks"}]}});
    let mut by_source = funnel.clone();
    by_source["breakdown"] = json!("source");
    let mut compared = funnel.clone();
    compared["compare"] = json!(true);
    // Eight steps down the same checkout, the last ones reached by the
    // visits that bought.
    let page = |path: &str| json!({"type": "page", "path": path});
    let eight = json!({"site": "bench", "from": month, "to": to, "funnel": {
        "name": "Long checkout", "window_ms": 3_600_000, "unit": "session", "steps": [
            page("/*"), page("/products/*"), page("/products/*"), page("/cart"),
            page("/checkout"), {"type": "event", "name": "purchase"}, page("/thanks"),
            page("/*")]}});
    let queries: Vec<(&'static str, String, Option<Value>)> = vec![
        (
            "usage, 30 days by day",
            format!("/api/usage?{range}&granularity=day"),
            None,
        ),
        (
            "usage, 24 hours by hour",
            format!("/api/usage?site=bench&from={day}&to={now}&granularity=hour"),
            None,
        ),
        ("overview, 30 days", format!("/api/overview?{range}"), None),
        (
            "overview, 30 days, filtered by source",
            format!("/api/overview?{range}&source=www.google.com"),
            None,
        ),
        (
            "funnel, 4 steps, 30 days",
            "/api/funnel".into(),
            Some(funnel),
        ),
        (
            "funnel, 4 steps, by source",
            "/api/funnel".into(),
            Some(by_source),
        ),
        (
            "funnel, 4 steps, compared with the 30 days before",
            "/api/funnel".into(),
            Some(compared),
        ),
        (
            "funnel, 8 steps, 30 days",
            "/api/funnel".into(),
            Some(eight),
        ),
        (
            "conversions, 30 days",
            format!("/api/conversions?{range}&goal=purchase&granularity=day"),
            None,
        ),
        ("errors, 30 days", format!("/api/errors?{range}"), None),
        (
            "performance, 30 days",
            format!("/api/performance?{range}&goal=purchase"),
            None,
        ),
        (
            "consent report, 30 days",
            format!("/api/consent-report?{range}"),
            None,
        ),
        (
            "realtime, the last 30 minutes",
            "/api/realtime?site=bench".into(),
            None,
        ),
    ];
    let only = std::env::var("SONDE_BENCH_QUERIES").unwrap_or_default();
    let mut measured = Vec::new();
    for (name, path, body) in queries {
        if !only.split('|').any(|part| name.contains(part)) {
            continue;
        }
        let mut m = measure(name, runs, async || {
            let request = match &body {
                Some(body) => http.post(format!("{url}{path}")).json(body),
                None => http.get(format!("{url}{path}")),
            };
            let response = request.send().await.expect("the query answers");
            let status = response.status();
            let text = response.text().await.expect("a body");
            assert!(status.is_success(), "{name}: {status} {text}");
        })
        .await;
        let (rss, peak) = memory(server);
        eprintln!("    the server's memory after it: {rss:.0} MiB resident, peak {peak:.0} MiB");
        m.peak_mib = Some(peak);
        measured.push(m);
    }
    measured
}

/// Whether the reports of the two servers answer the same, each.
async fn compare(
    http: &reqwest::Client,
    url: &str,
    other_http: &reqwest::Client,
    other_url: &str,
    now: i64,
) -> Vec<(&'static str, bool)> {
    let (month, to) = month(now);
    let range = format!("site=bench&from={month}&to={to}");
    let mut same = Vec::new();
    for (name, path) in [
        ("usage", format!("/api/usage?{range}&granularity=day")),
        ("overview", format!("/api/overview?{range}")),
        ("errors", format!("/api/errors?{range}")),
        ("performance", format!("/api/performance?{range}")),
        ("consent report", format!("/api/consent-report?{range}")),
    ] {
        let answer = async |http: &reqwest::Client, url: &str| {
            let response = http
                .get(format!("{url}{path}"))
                .send()
                .await
                .expect("an answer");
            serde_json::from_str::<Value>(&response.text().await.expect("a body")).expect("JSON")
        };
        same.push((
            name,
            answer(http, url).await == answer(other_http, other_url).await,
        ));
    }
    same
}

/// Times `run`: `runs.warm_up` runs, then `runs.measured` measured.
async fn measure(name: &'static str, runs: Runs, mut run: impl AsyncFnMut()) -> Measured {
    let Runs { warm_up, measured } = runs;
    let mut times = Vec::new();
    for i in 0..warm_up + measured {
        let started = Instant::now();
        run().await;
        if i >= warm_up {
            times.push(started.elapsed());
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let m = Measured {
        query: name,
        median_ms: ms(times[measured / 2]),
        p95_ms: ms(times[(measured * 95).div_ceil(100) - 1]),
        peak_mib: None,
    };
    eprintln!(
        "  {name}: median {:.1} ms, p95 {:.1} ms",
        m.median_ms, m.p95_ms
    );
    m
}

/// ClickHouse's equivalents of the reports, measured as Sonde's are, after
/// checking that both hold the same events: the same top pages with the
/// same views.
async fn measure_clickhouse(
    ch: &clickhouse::ClickHouse,
    http: &reqwest::Client,
    url: &str,
    now: i64,
) -> Vec<(clickhouse::Equivalent, Measured)> {
    let (from, to) = month(now);
    let usage: Value = http
        .get(format!(
            "{url}/api/usage?site=bench&from={from}&to={to}&granularity=day"
        ))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("the usage report")
        .json()
        .await
        .expect("a usage report");
    let sonde_pages: Vec<(String, u64)> = usage["top_pages"]
        .as_array()
        .expect("top pages")
        .iter()
        .map(|p| {
            let path = p["path"].as_str().unwrap_or_default().to_owned();
            (path, p["pageviews"].as_u64().unwrap_or(0))
        })
        .collect();
    assert_eq!(
        ch.top_pages(from, to).await,
        sonde_pages,
        "ClickHouse and Sonde hold the same page views"
    );
    eprintln!("ClickHouse, the same reports:");
    let mut measured = Vec::new();
    for equivalent in clickhouse::equivalents(from, to) {
        let m = measure(equivalent.name, RUNS_ON_FILE, async || {
            for sql in &equivalent.statements {
                ch.run(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        })
        .await;
        measured.push((equivalent, m));
    }
    measured
}

/// Resident and peak resident memory of a process, MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A `sonde serve` stopped when dropped, also when a query panics: left
/// running, it would hold the kept store and fail the next run.
struct Server(Option<Child>);

impl Server {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            stop(child);
        }
    }
}

/// `sonde serve` on `data_dir`, or with `stores` (a `--store` and an
/// `--app-store` address) on the cluster.
fn start_sonde(data_dir: &Path, stores: Option<&(String, String)>) -> (Server, String) {
    let mut command = Command::new(sibling_binary("sonde"));
    if let Some((store, app_store)) = stores {
        command
            .env("SONDE_STORE", store)
            .env("SONDE_APP_STORE", app_store);
    }
    command
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--demo",
            "false",
            "--seed-demo",
            "false",
        ])
        .args(["--site", "bench=https://bench.example", "--data-dir"])
        .arg(data_dir);
    let (child, url) = spawn_sonde(&mut command);
    (Server(Some(child)), url)
}

/// The cluster table: each query on the DuckDB file and on the cluster,
/// and the ratio of their medians.
fn on_the_cluster(section: &mut String, results: &[AtSize]) {
    if results.iter().all(|r| r.cluster.is_none()) {
        let _ = writeln!(
            section,
            "\nThe local cluster was not named: no figures on Sonde's cluster store this run."
        );
        return;
    }
    let _ = writeln!(
        section,
        "\n### On the cluster\n\n\
         In the same run, the same store moved to the local cluster (`cargo xtask cluster \
         up`: ClickHouse 18.16 as 2 shards × 2 replicas, ZooKeeper and PostgreSQL, all on \
         this machine's 2 cores beside Sonde): the application's data with `sonde export \
         --without-events` and `sonde import`, the events as CSV into the cluster's \
         `events`, the replicas synced and merged. A second `sonde serve` on `--store \
         clickhouse://…` and `--app-store postgres://…` was queried as the first. The \
         cluster store computes every report from the events (no rollup), reading `FINAL` \
         and leaving out erased events. The ratio is the cluster's median over the \
         file's. On the cluster each query ran {} times to warm up and {} times measured \
         (its reports take seconds here: 23 runs of every query would take about an \
         hour), and only at the sizes below.\n",
        CLUSTER_RUNS.warm_up, CLUSTER_RUNS.measured
    );
    for r in results {
        let Some(c) = &r.cluster else { continue };
        let same: Vec<String> = c
            .same_answers
            .iter()
            .map(|(name, same)| format!("{name} {}", if *same { "the same" } else { "DIFFERENT" }))
            .collect();
        let _ = writeln!(
            section,
            "At {} events: moved in {:.0} s; the answers of both servers, compared as JSON \
             before timing: {}; the cluster server's peak memory {:.0} MiB.\n",
            r.events,
            c.load_secs,
            same.join(", "),
            c.peak_mib
        );
    }
    let _ = writeln!(
        section,
        "| query | events | DuckDB median / p95 | cluster median / p95 | ratio |\n\
         |---|---|---|---|---|"
    );
    for r in results {
        let Some(c) = &r.cluster else { continue };
        for (ours, theirs) in r.measured.iter().zip(&c.measured) {
            let _ = writeln!(
                section,
                "| {} | {} M | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} |",
                ours.query,
                r.events / 1_000_000,
                ours.median_ms,
                ours.p95_ms,
                theirs.median_ms,
                theirs.p95_ms,
                theirs.median_ms / ours.median_ms
            );
        }
    }
}

/// The ClickHouse table: each equivalent report beside the Sonde query it
/// stands for, and the ratio of their medians.
fn side_by_side(section: &mut String, results: &[AtSize]) {
    if results.iter().all(|r| r.clickhouse.is_none()) {
        let _ = writeln!(
            section,
            "\nClickHouse was not installed: no side-by-side figures this run."
        );
        return;
    }
    let loads: Vec<String> = results
        .iter()
        .filter_map(|r| {
            let ch = r.clickhouse.as_ref()?;
            Some(format!("{} events in {:.0} s", r.events, ch.load_secs))
        })
        .collect();
    let _ = writeln!(
        section,
        "\n### Side by side with ClickHouse\n\n\
         In the same run, the same events copied into Debian's `clickhouse-server` 18.16 \
         (a MergeTree ordered by site and time, monthly partitions, merged; loaded: {}), \
         on the same machine, queried over loopback HTTP one query at a time as Sonde is. \
         Before timing, the run checks that both hold the same events (the same top pages \
         with the same views). ClickHouse computes each report from the events; Sonde \
         reads its rollup for finished days. The ratio is Sonde's median over \
         ClickHouse's (below 1: Sonde is faster). Until Sonde has a ClickHouse store \
         (issue 15), these queries stand for it.\n\n\
         | ClickHouse query | Sonde query | events | Sonde median / p95 | ClickHouse median / p95 | ratio |\n\
         |---|---|---|---|---|---|",
        loads.join(", ")
    );
    for r in results {
        let Some(ch) = &r.clickhouse else { continue };
        for (equivalent, theirs) in &ch.measured {
            let Some(ours) = r.measured.iter().find(|m| m.query == equivalent.sonde) else {
                continue;
            };
            let _ = writeln!(
                section,
                "| {} | {} | {} M | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.2} |",
                equivalent.name,
                equivalent.sonde,
                r.events / 1_000_000,
                ours.median_ms,
                ours.p95_ms,
                theirs.median_ms,
                theirs.p95_ms,
                ours.median_ms / theirs.median_ms
            );
        }
    }
}

fn write_results(results: &[AtSize]) {
    let mut section = String::new();
    let _ = writeln!(
        section,
        "## Dashboard queries (`cargo xtask bench-queries`)\n\n\
         Measured {} on this machine: the `sonde` binary (dev profile, its own code at \
         opt-level 2, DuckDB optimised) on both cores, queried over loopback HTTP by a \
         signed-in client, one query at a time; {WARM_UP} warm-up runs, then {RUNS} measured. \
         The stores hold sessions of eight events over 30 days (page views down a four-step \
         checkout, custom events, two web vitals, an error in one session in twenty), the \
         last of them today's, to its last minute: the 29 days before are rolled up, today \
         is counted from the events, as on a live site just before midnight. \
         Budgets (p95 at 10 million events): every report within 100 ms (aim 50 ms), a \
         funnel of 8 steps within 300 ms; the server's peak memory within 500 MB.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
    );
    let _ = writeln!(
        section,
        "| query | 1 M median | 1 M p95 | 10 M median | 10 M p95 | 10 M peak memory after |\n\
         |---|---|---|---|---|---|"
    );
    if let [small, large] = results {
        for (a, b) in small.measured.iter().zip(&large.measured) {
            let _ = writeln!(
                section,
                "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} MiB |",
                a.query,
                a.median_ms,
                a.p95_ms,
                b.median_ms,
                b.p95_ms,
                b.peak_mib.unwrap_or_default()
            );
        }
    }
    stores(&mut section, results);
    on_the_cluster(&mut section, results);
    side_by_side(&mut section, results);
    fill_in_benchmarks("queries", "cargo xtask bench-queries", &section);
}

/// The growth table: each query at 10 and 100 million events, measured in
/// the same run, and the ratio of their medians.
fn write_growth(results: &[AtSize]) {
    let [smaller, larger] = results else {
        return;
    };
    let mut section = String::new();
    let _ = writeln!(
        section,
        "## Growth to 100 million events (`cargo xtask bench-queries --100m`)\n\n\
         Measured {} on this machine, as the table above but in a run of its own: \
         stores of 10 and of 100 million events (the same sessions, ten times as many \
         of them over the same 30 days), the 29 finished days rolled up. The growth is \
         the ratio of the medians: 10 means the query takes ten times as long on ten \
         times the events, 1 that it does not grow with them.\n\n\
         | query | 10 M median | 10 M p95 | 100 M median | 100 M p95 | growth | 100 M peak memory after |\n\
         |---|---|---|---|---|---|---|",
        chrono::Utc::now().format("%Y-%m-%d"),
    );
    for (a, b) in smaller.measured.iter().zip(&larger.measured) {
        let _ = writeln!(
            section,
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} | {:.0} MiB |",
            a.query,
            a.median_ms,
            a.p95_ms,
            b.median_ms,
            b.p95_ms,
            b.median_ms / a.median_ms,
            b.peak_mib.unwrap_or_default()
        );
    }
    stores(&mut section, results);
    fill_in_benchmarks("growth", "cargo xtask bench-queries --100m", &section);
}

/// A line per store: how it was filled and rolled up, and the server's
/// memory over its queries.
fn stores(section: &mut String, results: &[AtSize]) {
    for r in results {
        let filled = r
            .fill_secs
            .map_or("a store kept from an earlier run".to_owned(), |s| {
                format!("filled in {s:.0} s")
            });
        let _ = writeln!(
            section,
            "\nAt {} events ({filled}; `sonde rollup` counted its days in {:.1} s): the server's resident memory after the queries {:.0} MiB, peak {:.0} MiB.",
            r.events, r.rollup_secs, r.rss_mib, r.peak_mib
        );
    }
}

/// Puts `section` between the `marker` comments of BENCHMARKS.md, or at its
/// end the first time.
fn fill_in_benchmarks(marker: &str, command: &str, section: &str) {
    let root = std::env::var_os("SONDE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let path = root.join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let start = format!("<!-- {marker}:start");
    let end = format!("<!-- {marker}:end -->");
    let block = format!("{start} (written by `{command}`) -->\n{section}{end}");
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) => format!("{}{block}{}", &current[..a], &current[b + end.len()..]),
        _ => format!("{current}\n{block}\n"),
    };
    std::fs::write(&path, updated).expect("BENCHMARKS.md is writable");
    eprintln!("results written to {}", path.display());
}
