//! The real `sonde` binary, as an operator runs it.
//!
//! Durability: it is killed with SIGKILL while several clients send batches,
//! then restarted on the same data directory; every event whose batch was
//! acknowledged must be stored, exactly once. And `sonde site`, which
//! manages sites while the server is stopped.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sonde_protocol::IngestReceipt;

const ORIGIN: &str = "https://shop.example";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CLIENTS: usize = 4;
const EVENTS_PER_BATCH: usize = 20;
/// Acknowledged batches to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 300;

/// Starts `sonde serve` on an ephemeral port and returns it with its base URL.
fn start_sonde(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--bind", "127.0.0.1:0", "--demo", "false"])
        // All clients share one address and user agent: one visitor.
        .args([
            "--seed-demo",
            "false",
            "--rate-limit-visitor",
            "0",
            "--site",
        ])
        .arg(format!("shop={ORIGIN}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("SONDE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sonde binary starts");
    let url = url_of(&mut child);
    (child, url)
}

/// The URL a started `sonde serve` prints first.
fn url_of(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("sonde prints its URL");
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_survives_a_kill_9_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let (mut sonde, url) = start_sonde(&data_dir);
    let http = reqwest::Client::builder().user_agent(UA).build().unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let acked_batches = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (http, url) = (http.clone(), url.clone());
            let (acked, acked_batches) = (Arc::clone(&acked), Arc::clone(&acked_batches));
            tokio::spawn(async move {
                for batch in 0.. {
                    let ids: Vec<String> = (0..EVENTS_PER_BATCH)
                        .map(|i| format!("c{client}-b{batch}-e{i}"))
                        .collect();
                    let events: Vec<_> = ids
                        .iter()
                        .map(
                            |id| json!({"id": id, "ts": now_ms(), "kind": "page_view", "url": "/"}),
                        )
                        .collect();
                    let body =
                        json!({"site": "shop", "consent": {"usage": true}, "events": events});
                    let sent = http
                        .post(format!("{url}/api/ingest"))
                        .header("content-type", "application/json")
                        .header("origin", ORIGIN)
                        .body(body.to_string())
                        .send()
                        .await;
                    // The server is gone: this client is done.
                    let Ok(response) = sent else { return };
                    if !response.status().is_success() {
                        continue;
                    }
                    let Ok(receipt) = response.json::<IngestReceipt>().await else {
                        return;
                    };
                    assert_eq!(receipt.accepted + receipt.duplicates, EVENTS_PER_BATCH);
                    acked.lock().unwrap().extend(ids);
                    acked_batches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        })
        .collect();

    while acked_batches.load(std::sync::atomic::Ordering::SeqCst) < ACKED_BEFORE_KILL {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL, in the middle of the stream: no shutdown, no flush.
    sonde.kill().unwrap();
    sonde.wait().unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().drain(..).collect();
    assert!(acked.len() >= ACKED_BEFORE_KILL * EVENTS_PER_BATCH);

    // The restarted server recovers the store and serves again.
    let (mut sonde, url) = start_sonde(&data_dir);
    let health = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert!(health.status().is_success());
    sonde.kill().unwrap();
    sonde.wait().unwrap();

    let db = duckdb::Connection::open(data_dir.join("sonde.duckdb")).unwrap();
    let mut stmt = db
        .prepare("SELECT id, count(*) FROM events WHERE site = 'shop' GROUP BY id")
        .unwrap();
    let stored: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let repeated: Vec<&(String, i64)> = stored.iter().filter(|(_, n)| *n != 1).collect();
    assert!(repeated.is_empty(), "stored more than once: {repeated:?}");
    let stored: HashSet<String> = stored.into_iter().map(|(id, _)| id).collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events were lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
    eprintln!(
        "acknowledged {} events before the kill; {} stored after the restart",
        acked.len(),
        stored.len()
    );
}

#[test]
fn sites_set_with_the_cli_are_listed_and_validated() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let sonde = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sonde"))
            .arg("site")
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .unwrap()
    };
    let added = sonde(&[
        "put",
        "blog",
        "--origin",
        "https://blog.example/",
        "--timezone",
        "Europe/Paris",
        "--retain-errors",
        "14",
    ]);
    assert!(added.status.success(), "{added:?}");
    let refused = sonde(&["put", "blog", "--timezone", "Atlantis/Capital"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Atlantis/Capital"));
    let listed = sonde(&["list"]);
    let site: sonde_protocol::SiteSettings =
        serde_json::from_slice(listed.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(site.origins, ["https://blog.example"]);
    assert_eq!(site.timezone, "Europe/Paris");
    assert_eq!(site.retention.errors, 14);
    assert!(site.banner.is_empty(), "no wording of its own yet");

    // The banner's wording: a bad policy link is refused by name, a good
    // one kept with the rest, and "" goes back to the built-in text.
    let refused = sonde(&["put", "blog", "--policy-url", "/privacy"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("banner.policy_url"),
        "{refused:?}"
    );
    let worded = sonde(&[
        "put",
        "blog",
        "--banner-title",
        "Cookies? None. Counting? Ask.",
        "--banner-text",
        "We count visits if you let us.",
        "--policy-url",
        "https://blog.example/privacy",
    ]);
    assert!(worded.status.success(), "{worded:?}");
    let cleared = sonde(&["put", "blog", "--banner-text", ""]);
    assert!(cleared.status.success(), "{cleared:?}");
    let listed = sonde(&["list"]);
    let site: sonde_protocol::SiteSettings =
        serde_json::from_slice(listed.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(
        site.banner,
        sonde_protocol::BannerSettings {
            title: Some("Cookies? None. Counting? Ask.".into()),
            text: None,
            policy_url: Some("https://blog.example/privacy".into()),
        }
    );
    assert_eq!(site.retention.errors, 14, "the other settings stay");
    assert!(sonde(&["remove", "blog"]).status.success());
    assert!(!sonde(&["remove", "blog"]).status.success());
}

#[tokio::test]
async fn the_visitors_ip_address_is_neither_logged_nor_stored() {
    // The server listens on one loopback address and the browser comes from
    // another, so the visitor's address cannot hide behind the server's own.
    const VISITOR_IP: &str = "127.0.0.3";
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--bind", "127.0.0.2:0", "--demo", "false"])
        .args(["--seed-demo", "false", "--site"])
        .arg(format!("shop={ORIGIN}"))
        .arg("--data-dir")
        .arg(&data_dir)
        // Every log line of every module, at the most verbose level.
        .env("SONDE_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let http = reqwest::Client::builder()
        .user_agent(UA)
        .local_address(VISITOR_IP.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{url}{path}"))
            .header("content-type", "text/plain")
            .header("origin", ORIGIN)
            .body(body.to_string())
            .send()
    };
    let event =
        json!({"id": "ip-1", "ts": now_ms(), "kind": "page_view", "url": "/", "session": "tab-9"});
    let ok = post(
        "/api/ingest",
        json!({"site": "shop", "consent": {"usage": true}, "events": [event]}),
    )
    .await
    .unwrap();
    assert!(ok.status().is_success());
    let refused = post("/api/ingest", json!({"site": "nope"})).await.unwrap();
    assert!(refused.status().is_client_error());
    let erased = post("/api/erase", json!({"site": "shop", "sessions": ["tab-9"]}))
        .await
        .unwrap();
    assert!(erased.status().is_success());
    // A graceful stop, so every log line is written.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("erased a visitor's data"),
        "the logs were captured: {logs}"
    );
    assert!(!logs.contains(VISITOR_IP), "the IP is in the logs:\n{logs}");
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(VISITOR_IP));
    }
}

#[tokio::test]
async fn a_stored_consent_record_changed_or_removed_is_found_by_verify_consent_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let (mut child, url) = start_sonde(&data_dir);
    let http = reqwest::Client::builder().user_agent(UA).build().unwrap();
    let now = now_ms();
    for (i, id) in ["c0ffee01", "c0ffee02", "c0ffee03", "c0ffee04"]
        .iter()
        .enumerate()
    {
        let res = http
            .post(format!("{url}/api/consent"))
            .header("origin", ORIGIN)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(
                json!({"site": "shop", "consent_id": id,
                       "grants": {"usage": true, "errors": false, "performance": true, "marketing": false},
                       "policy_version": 1, "gpc": false, "source": "banner", "decided_at": now + i as i64})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The visitor behind the last record asks for it to be erased.
    let res = http
        .post(format!("{url}/api/erase"))
        .header("origin", ORIGIN)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(json!({"site": "shop", "consent_id": "c0ffee04"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();

    let verify = || {
        let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args(["verify-consent-log", "--data-dir"])
            .arg(&data_dir)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, said) = verify();
    assert!(ok, "{said}");
    assert!(
        said.contains("shop: 4 records (1 erased at the visitor's request), the chain is intact"),
        "{said}"
    );

    let file = data_dir.join("sonde.duckdb");
    let tamper = |sql: &str| {
        let db = duckdb::Connection::open(&file).unwrap();
        db.execute_batch(sql).unwrap();
    };
    // A grant changed after the fact.
    tamper("UPDATE consents SET usage = false WHERE consent_id = 'c0ffee02'");
    let (ok, said) = verify();
    assert!(!ok);
    assert!(said.contains("shop: record 2 was changed"), "{said}");
    tamper("UPDATE consents SET usage = true WHERE consent_id = 'c0ffee02'");
    assert!(verify().0, "restored");
    // A record removed without a trace.
    tamper("DELETE FROM consents WHERE consent_id = 'c0ffee02'");
    let (ok, said) = verify();
    assert!(!ok);
    assert!(
        said.contains("shop: record 2 does not follow the one before it"),
        "{said}"
    );
}

#[tokio::test]
async fn a_copied_binary_serves_the_dashboard_the_demo_and_the_embed_on_its_own() {
    // The binary alone, copied somewhere without the build beside it.
    let tmp = tempfile::tempdir().unwrap();
    let copied = tmp.path().join("sonde");
    std::fs::copy(env!("CARGO_BIN_EXE_sonde"), &copied).unwrap();
    let mut child = Command::new(&copied)
        .args(["serve", "--bind", "127.0.0.1:0", "--seed-demo", "false"])
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .current_dir(tmp.path())
        .env("SONDE_LOG", "warn")
        .env_remove("SONDE_WEB_DIR")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = url_of(&mut child);
    let http = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        http.get(format!("{url}{path}"))
            .header("accept-encoding", accept)
            .send()
    };
    let page = get("/funnels", "identity").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("'sha256-"),
        "the start script's hash, read from the compiled-in index.html"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<script type=\"module\">") && html.contains("_bg.wasm"),
        "the built dashboard (run `cargo xtask build-web` before building): {html}"
    );
    let loader = get("/sonde.js", "br").await.unwrap();
    assert_eq!(loader.status(), 200);
    assert_eq!(loader.headers()["content-encoding"], "br");
    let demo = get("/demo/", "identity").await.unwrap();
    assert_eq!(demo.status(), 200);
    assert!(
        demo.text().await.unwrap().contains("/sonde.js"),
        "the demo shop loads the embed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `sonde import-plausible` reads Plausible's zip as it downloads, says
/// what it kept and left out, and refuses a site it does not have.
#[test]
fn a_plausible_zip_is_imported_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plausible");
    let zipped = tmp.path().join("plausible-export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
    let mut names: Vec<_> = std::fs::read_dir(&fixture)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap();

    let sonde = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .unwrap()
    };
    let added = sonde(&["site", "put", "shop", "--origin", ORIGIN]);
    assert!(added.status.success(), "{added:?}");
    let zip_arg = zipped.to_str().unwrap();
    let imported = sonde(&["import-plausible", "--site", "shop", zip_arg]);
    assert!(imported.status.success(), "{imported:?}");
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(
        said.contains(
            "left out imported_browsers_20251103_20251109.csv: Sonde has no report of it"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "imported 7 days of shop from Plausible CE, 2025-11-03 to 2025-11-09: 797 visitors, 2440 page views"
        ),
        "{said}"
    );

    let unknown = sonde(&["import-plausible", "--site", "blog", zip_arg]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("there is no site \"blog\""),
        "{unknown:?}"
    );
}
