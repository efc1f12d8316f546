//! The real `sonde` binary on the local ClickHouse cluster (`cargo xtask
//! cluster up`), through faults: a replica killed with SIGKILL while
//! browsers send batches, then the Sonde process itself. Every event whose
//! batch was acknowledged must be stored, exactly once, and a browser that
//! was answered 503 must be told when to come back.
//!
//! Ignored by a plain `cargo test`: `cargo xtask test` runs it with
//! `SONDE_TEST_CLICKHOUSE` (the servers), `SONDE_CLUSTER_DIR` (their pid
//! files) and `SONDE_XTASK` (to start a killed replica again).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sonde_protocol::IngestReceipt;

const ORIGIN: &str = "https://shop.example";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const EVENTS_PER_BATCH: usize = 20;

/// The cluster's servers, by shard then replica.
fn servers() -> Vec<String> {
    let urls = std::env::var("SONDE_TEST_CLICKHOUSE")
        .expect("SONDE_TEST_CLICKHOUSE names the cluster's servers: run `cargo xtask test`");
    urls.split(',')
        .map(|u| u.trim_end_matches('/').to_owned())
        .collect()
}

/// The store address of `database` on the local cluster.
fn store_address(database: &str) -> String {
    let hosts: Vec<String> = servers()
        .iter()
        .map(|u| u.trim_start_matches("http://").to_owned())
        .collect();
    let shards: Vec<String> = hosts.chunks(2).map(|s| s.join(",")).collect();
    format!("clickhouse://{}/{database}?cluster=sonde", shards.join(";"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn clickhouse(sql: &str) -> String {
    let mut response = agent()
        .post(&servers()[0])
        .send(sql)
        .expect("ClickHouse answers");
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap();
    assert!(status.is_success(), "{sql}: {text}");
    text
}

/// Starts `sonde serve` on the cluster and returns it with its base URL.
fn start_sonde(data_dir: &Path, database: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--rate-limit-visitor", "0"])
        .args(["--rate-limit-site", "0", "--site"])
        .arg(format!("shop={ORIGIN}"))
        .arg("--store")
        .arg(store_address(database))
        .arg("--data-dir")
        .arg(data_dir)
        .env("SONDE_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sonde binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What the browsers saw.
#[derive(Default)]
struct Deliveries {
    acked: Mutex<Vec<String>>,
    acked_batches: AtomicUsize,
    /// 503s, each with a `Retry-After`.
    unavailable: AtomicUsize,
    /// Answers that were neither a success nor a 503.
    other: Mutex<Vec<String>>,
}

/// A browser: sends batches to the server named in `url`, each resent
/// until it is acknowledged (as the embed's queue does), until `stop`.
fn browser(
    client: usize,
    url: Arc<Mutex<String>>,
    deliveries: Arc<Deliveries>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let http = agent();
        for batch in 0.. {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let ids: Vec<String> = (0..EVENTS_PER_BATCH)
                .map(|i| format!("c{client}-b{batch}-e{i}"))
                .collect();
            let ts = now_ms();
            let events: Vec<_> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    json!({"id": id, "ts": ts, "kind": "page_view", "url": format!("/p{i}"),
                           "session": format!("c{client}-s{}", batch % 7)})
                })
                .collect();
            let body = json!({"site": "shop", "consent": {"usage": true}, "events": events});
            loop {
                let target = url.lock().unwrap().clone();
                let sent = http
                    .post(format!("{target}/api/ingest"))
                    .header("content-type", "application/json")
                    .header("origin", ORIGIN)
                    .header("user-agent", UA)
                    .send(body.to_string());
                match sent {
                    Ok(mut r) if r.status().is_success() => {
                        let text = r.body_mut().read_to_string().unwrap();
                        let receipt: IngestReceipt = serde_json::from_str(&text).unwrap();
                        assert_eq!(receipt.accepted + receipt.duplicates, EVENTS_PER_BATCH);
                        deliveries.acked.lock().unwrap().extend(ids);
                        deliveries.acked_batches.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    Ok(r) if r.status() == 503 => {
                        assert!(r.headers().contains_key("retry-after"), "{r:?}");
                        deliveries.unavailable.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    Ok(mut r) => {
                        let status = r.status();
                        let text = r.body_mut().read_to_string().unwrap_or_default();
                        deliveries
                            .other
                            .lock()
                            .unwrap()
                            .push(format!("{status}: {text}"));
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    // The server is gone (killed): try again, as a browser
                    // keeps the batch for later.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
        }
    })
}

fn wait_for_batches(deliveries: &Deliveries, at_least: usize, within: Duration) {
    let started = Instant::now();
    while deliveries.acked_batches.load(Ordering::SeqCst) < at_least {
        assert!(
            started.elapsed() < within,
            "only {} batches acknowledged in {within:?}",
            deliveries.acked_batches.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a ClickHouse server of the local cluster with SIGKILL.
fn kill_replica(name: &str) {
    let dir = std::env::var("SONDE_CLUSTER_DIR").expect("SONDE_CLUSTER_DIR is set");
    let pid = std::fs::read_to_string(Path::new(&dir).join(name).join("pid"))
        .expect("the replica's pid file");
    let killed = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Starts what is not running of the local cluster (not its Sonde).
fn cluster_up() {
    let xtask = std::env::var("SONDE_XTASK").expect("SONDE_XTASK is set");
    let up = Command::new(xtask)
        .args(["cluster", "up", "--without-sonde"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(up.success());
}

#[test]
#[ignore = "needs the local cluster: `cargo xtask test` runs it"]
fn acknowledged_events_survive_a_killed_replica_and_a_killed_sonde_exactly_once() {
    let database = format!("faults_{}", std::process::id());
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let (mut sonde, first_url) = start_sonde(&data_dir, &database);
    let url = Arc::new(Mutex::new(first_url));
    let deliveries = Arc::new(Deliveries::default());
    let stop = Arc::new(AtomicBool::new(false));
    let browsers: Vec<_> = (0..3)
        .map(|client| {
            browser(
                client,
                Arc::clone(&url),
                Arc::clone(&deliveries),
                Arc::clone(&stop),
            )
        })
        .collect();

    wait_for_batches(&deliveries, 60, Duration::from_secs(60));
    // A replica of shard 1 killed while batches arrive: its shard has no
    // quorum until it is back.
    kill_replica("clickhouse-s1r2");
    std::thread::sleep(Duration::from_secs(12));
    let during_outage = deliveries.acked_batches.load(Ordering::SeqCst);
    cluster_up();
    wait_for_batches(&deliveries, during_outage + 60, Duration::from_secs(120));

    // The Sonde process killed in the middle of the stream, then started
    // again on the same data directory.
    sonde.kill().unwrap();
    sonde.wait().unwrap();
    let (mut sonde, second_url) = start_sonde(&data_dir, &database);
    *url.lock().unwrap() = second_url;
    let before = deliveries.acked_batches.load(Ordering::SeqCst);
    wait_for_batches(&deliveries, before + 60, Duration::from_secs(60));
    stop.store(true, Ordering::SeqCst);
    for b in browsers {
        b.join().unwrap();
    }
    sonde.kill().unwrap();
    sonde.wait().unwrap();

    let other = deliveries.other.lock().unwrap();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert!(
        deliveries.unavailable.load(Ordering::SeqCst) > 0,
        "a shard without its quorum answered 503"
    );
    let acked: HashSet<String> = deliveries.acked.lock().unwrap().drain(..).collect();
    let stored = clickhouse(&format!(
        "SELECT id, count() FROM {database}.events WHERE site = 'shop' GROUP BY id
         FORMAT TabSeparated"
    ));
    let mut ids = HashSet::new();
    let mut repeated = Vec::new();
    for line in stored.lines() {
        let (id, n) = line.split_once('\t').unwrap();
        if n != "1" {
            repeated.push(line.to_owned());
        }
        ids.insert(id.to_owned());
    }
    assert!(repeated.is_empty(), "stored more than once: {repeated:?}");
    let lost: Vec<&String> = acked.difference(&ids).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events were lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
    eprintln!(
        "{} events acknowledged, {} stored, {} answers 503 while a replica was down",
        acked.len(),
        ids.len(),
        deliveries.unavailable.load(Ordering::SeqCst)
    );
    clickhouse(&format!(
        "DROP DATABASE IF EXISTS {database} ON CLUSTER sonde"
    ));
}
