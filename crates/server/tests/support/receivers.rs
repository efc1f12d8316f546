//! What alerts and digests are delivered to in the tests: a real SMTP
//! server process (Debian's aiosmtpd, writing each message to a Maildir)
//! and a real HTTP receiver on a socket of the test process, keeping every
//! request it is sent.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

/// `python3 -m aiosmtpd` on a free loopback port; stopped when dropped.
pub struct MailServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl MailServer {
    pub fn start() -> MailServer {
        let python =
            std::env::var("SONDE_TEST_SMTP_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        let tmp = tempfile::tempdir().unwrap();
        let maildir = tmp.path().join("mail");
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {python} -m aiosmtpd (apt install python3-aiosmtpd): {e}")
            });
        let server = MailServer {
            child,
            port,
            maildir,
            _tmp: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, as its text with the
    /// quoted-printable body decoded.
    pub fn messages(&self) -> Vec<String> {
        self.raw_messages()
            .iter()
            .map(|raw| {
                let text =
                    quoted_printable::decode(raw, quoted_printable::ParseMode::Robust).unwrap();
                String::from_utf8_lossy(&text).into_owned()
            })
            .collect()
    }

    /// Every message received so far, oldest first, as it arrived.
    pub fn raw_messages(&self) -> Vec<Vec<u8>> {
        let dir = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files
            .iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect()
    }

    /// Waits up to 30 s for at least `count` messages.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        wait_until(|| {
            let m = self.messages();
            (m.len() >= count).then_some(m)
        })
        .await
        .unwrap_or_else(|| panic!("{count} e-mails did not arrive: {:?}", self.messages()))
    }

    pub fn maildir(&self) -> &Path {
        &self.maildir
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(t) = check() {
            return Some(t);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// An HTTP server answering every POST with `status` and keeping it.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<StatusCode>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            status: Arc::new(Mutex::new(StatusCode::OK)),
        };
        let app = Router::new()
            .fallback(
                |State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                    r.received.lock().unwrap().push(Received {
                        path: uri.path().to_owned(),
                        headers,
                        body,
                    });
                    *r.status.lock().unwrap()
                },
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// From now on, answer with `status` (a receiver that is down: 503).
    pub fn answer(&self, status: StatusCode) {
        *self.status.lock().unwrap() = status;
    }

    /// What was sent to `path` so far.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits up to 30 s for at least `count` requests to `path`.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        wait_until(|| {
            let got = self.at(path);
            (got.len() >= count).then_some(got)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "{count} requests to {path} did not arrive: {:?}",
                self.at(path)
            )
        })
    }
}
