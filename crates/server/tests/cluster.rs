//! The real `sonde` binary on the local ClickHouse cluster (`cargo xtask
//! cluster up`), through faults: a replica killed with SIGKILL while
//! browsers send batches, then the Sonde process itself. Every event whose
//! batch was acknowledged must be stored, exactly once, and a browser that
//! was answered 503 must be told when to come back.
//!
//! Then two Sonde processes on one cluster and one PostgreSQL database, a
//! browser's batches and their retries spread over both: the same visitor
//! ids, the same reports, a sign-in valid on both, nothing twice.
//!
//! Ignored by a plain `cargo test`: `cargo xtask test` runs them with
//! `SONDE_TEST_CLICKHOUSE` (the servers), `SONDE_TEST_POSTGRES` (the
//! application database's server), `SONDE_CLUSTER_DIR` (their pid files)
//! and `SONDE_XTASK` (to start a killed replica again).

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

/// A running `sonde serve`: the process, its base URL and what it said
/// when it started.
struct Sonde {
    child: Child,
    url: String,
    said: String,
}

impl Sonde {
    /// Stops the process with SIGTERM, as an operator would; how it exited.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").arg(&pid).status().unwrap().success());
        self.child.wait().unwrap()
    }

    /// Kills the process with SIGKILL, as a crash would.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A failed test leaves no server behind (its output would keep the test
/// runner's pipes open).
impl Drop for Sonde {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sonde serve` on the cluster, its application data in
/// `app_store` (a PostgreSQL address) or else in `data_dir`.
fn start_sonde(data_dir: &Path, database: &str, app_store: Option<&str>) -> Sonde {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sonde"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--rate-limit-visitor", "0"])
        .args(["--rate-limit-site", "0", "--site"])
        .arg(format!("shop={ORIGIN}"))
        .arg("--store")
        .arg(store_address(database))
        .arg("--data-dir")
        .arg(data_dir)
        .env("SONDE_LOG", "error")
        .stdout(Stdio::piped());
    if let Some(app_store) = app_store {
        command.arg("--app-store").arg(app_store);
    }
    let mut child = command.spawn().expect("the sonde binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("sonde prints its URL");
    // The rest of what it said came in the same write.
    let said = line.clone() + &String::from_utf8_lossy(reader.buffer());
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Sonde { child, url, said }
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
    let mut sonde = start_sonde(&data_dir, &database, None);
    let url = Arc::new(Mutex::new(sonde.url.clone()));
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
    sonde.kill();
    let mut sonde = start_sonde(&data_dir, &database, None);
    *url.lock().unwrap() = sonde.url.clone();
    let before = deliveries.acked_batches.load(Ordering::SeqCst);
    wait_for_batches(&deliveries, before + 60, Duration::from_secs(60));
    stop.store(true, Ordering::SeqCst);
    for b in browsers {
        b.join().unwrap();
    }
    sonde.kill();

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

/// A new, empty database `name` on the cluster's PostgreSQL; its address.
fn fresh_app_database(name: &str) -> String {
    let address = std::env::var("SONDE_TEST_POSTGRES")
        .expect("SONDE_TEST_POSTGRES names the cluster's PostgreSQL: run `cargo xtask test`");
    let mut admin = postgres::Client::connect(&address, postgres::NoTls).unwrap();
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&statement).unwrap();
    }
    let (base, _) = address.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Sends a batch of page views `ids` of session `session` to `url`; its
/// receipt.
fn send(http: &ureq::Agent, url: &str, session: &str, ids: &[String], ts: i64) -> IngestReceipt {
    let events: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "ts": ts, "kind": "page_view", "url": format!("/{}", id.len() % 3),
                   "session": session})
        })
        .collect();
    let body = json!({"site": "shop", "consent": {"usage": true}, "events": events});
    let mut answer = http
        .post(format!("{url}/api/ingest"))
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .header("user-agent", UA)
        .send(body.to_string())
        .expect("sonde answers");
    let text = answer.body_mut().read_to_string().unwrap();
    assert!(answer.status().is_success(), "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Two Sonde processes on one cluster, their application data in one
/// PostgreSQL database, as behind a load balancer: a browser's batches go
/// to either, a retry to the other one (regrouped with the next batch, or
/// at the same moment as the first try). Both give the browser one
/// visitor id, store every event once, answer every report the same, and
/// honour a sign-in made on the other.
#[test]
#[ignore = "needs the local cluster: `cargo xtask test` runs it"]
fn two_processes_give_one_visitor_id_the_same_reports_and_nothing_twice() {
    let database = format!("two_{}", std::process::id());
    let app_store = fresh_app_database(&format!("sonde_two_{}", std::process::id()));
    let tmp = tempfile::tempdir().unwrap();
    let a = start_sonde(&tmp.path().join("a"), &database, Some(&app_store));
    let b = start_sonde(&tmp.path().join("b"), &database, Some(&app_store));
    let urls = [a.url.clone(), b.url.clone()];
    let http = agent();

    // The first process made the admin; the second found it there.
    let password = a
        .said
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no admin password in {:?}", a.said))
        .to_owned();
    assert!(!b.said.contains("password"), "{}", b.said);

    let ts = now_ms() - 60_000;
    let mut sent = Vec::new();
    for batch in 0..30 {
        let ids: Vec<String> = (0..10).map(|i| format!("b{batch}-e{i}")).collect();
        let session = format!("s{}", batch % 4);
        let (to, retry_to) = (&urls[batch % 2], &urls[(batch + 1) % 2]);
        let receipt = send(&http, to, &session, &ids, ts + batch as i64);
        assert_eq!(receipt.accepted, 10);
        match batch % 3 {
            // The answer was lost: the browser sends the batch again, to
            // the other process.
            0 => assert_eq!(
                send(&http, retry_to, &session, &ids, ts + batch as i64).duplicates,
                10
            ),
            // Again, regrouped: half of it with new events.
            1 => {
                let mut regrouped = ids[5..].to_vec();
                regrouped.extend((0..5).map(|i| format!("b{batch}-late{i}")));
                let receipt = send(&http, retry_to, &session, &regrouped, ts + batch as i64);
                assert_eq!((receipt.accepted, receipt.duplicates), (5, 5));
                // The other half went with the first try.
                sent.extend(regrouped.split_off(5));
            }
            // Both tries at once, one to each process.
            _ => {
                let ids = ids
                    .iter()
                    .map(|id| format!("{id}-raced"))
                    .collect::<Vec<_>>();
                let tries: Vec<_> = urls
                    .iter()
                    .map(|url| {
                        let (url, ids, session) = (url.clone(), ids.clone(), session.clone());
                        std::thread::spawn(move || send(&agent(), &url, &session, &ids, ts))
                    })
                    .collect();
                for t in tries {
                    let receipt = t.join().unwrap();
                    assert_eq!(receipt.accepted + receipt.duplicates, 10);
                }
                sent.extend(ids);
            }
        }
        sent.extend(ids);
    }

    // Every event once, as every report reads them (the table's final
    // rows: two tries that raced may write a row twice before the
    // replicas merge them, never to be counted twice).
    let stored = clickhouse(&format!(
        "SELECT id, count() FROM {database}.events FINAL WHERE site = 'shop' GROUP BY id
         FORMAT TabSeparated"
    ));
    let counts: Vec<(&str, &str)> = stored
        .lines()
        .map(|l| l.split_once('\t').unwrap())
        .collect();
    assert!(
        counts.iter().all(|(_, n)| *n == "1"),
        "stored twice: {stored}"
    );
    let stored_ids: HashSet<&str> = counts.iter().map(|(id, _)| *id).collect();
    let sent_ids: HashSet<&str> = sent.iter().map(String::as_str).collect();
    assert_eq!(stored_ids, sent_ids);
    // One browser, one visitor id, whichever process answered.
    let visitors = clickhouse(&format!(
        "SELECT uniqExact(visitor_id) FROM {database}.events FINAL WHERE site = 'shop'"
    ));
    assert_eq!(visitors.trim(), "1");

    // Signed in on the first process, every report read from both.
    let mut signed_in = http
        .post(format!("{}/api/session", urls[0]))
        .header("content-type", "application/json")
        .header("origin", urls[0].as_str())
        .send(json!({"username": "admin", "password": password}).to_string())
        .unwrap();
    assert!(
        signed_in.status().is_success(),
        "{}",
        signed_in.body_mut().read_to_string().unwrap()
    );
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let range = format!("site=shop&from={}&to={}", ts - 3_600_000, now_ms() + 1);
    let mut answers: Vec<Vec<String>> = Vec::new();
    for url in &urls {
        let mut of_this = Vec::new();
        for path in [
            "usage",
            "overview",
            "consent-report",
            "errors",
            "performance",
        ] {
            let mut answer = http
                .get(format!("{url}/api/{path}?{range}"))
                .header("cookie", cookie.as_str())
                .call()
                .unwrap();
            let status = answer.status();
            let text = answer.body_mut().read_to_string().unwrap();
            assert!(status.is_success(), "{url} /api/{path}: {status} {text}");
            of_this.push(text);
        }
        answers.push(of_this);
    }
    assert_eq!(answers[0], answers[1], "the processes answer differently");
    let overview: serde_json::Value = serde_json::from_str(&answers[0][1]).unwrap();
    assert_eq!(overview["current"]["visitors"], 1, "{overview}");
    assert_eq!(
        overview["current"]["pageviews"].as_u64(),
        Some(sent.len() as u64),
        "{overview}"
    );

    // The operator's tooling reads both (the store's size asks every
    // server and PostgreSQL).
    for url in &urls {
        let mut metrics = http.get(format!("{url}/metrics")).call().unwrap();
        let text = metrics.body_mut().read_to_string().unwrap();
        assert!(text.contains("sonde_events_accepted_total"), "{text}");
    }

    // Stopped as an operator stops them, they close their stores cleanly.
    for mut sonde in [a, b] {
        let exit = sonde.terminate();
        assert!(exit.success(), "{exit}");
    }
    clickhouse(&format!(
        "DROP DATABASE IF EXISTS {database} ON CLUSTER sonde"
    ));
}
