//! The query benchmark's other side: the same events in Debian's
//! `clickhouse-server` (18.16, a process of its own on loopback, started
//! here on a temporary directory), and the queries a ClickHouse-based
//! analytics product would run for the same reports. Until Sonde has a
//! ClickHouse store (issue 15), these stand for it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `clickhouse-server`, stopped and removed when dropped.
pub struct ClickHouse {
    server: Child,
    url: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

/// One report as ClickHouse answers it: its statements, run one after
/// another for each measurement, and the Sonde query it stands beside.
pub struct Equivalent {
    pub name: &'static str,
    pub sonde: &'static str,
    pub statements: Vec<String>,
}

impl ClickHouse {
    /// Starts the server, or `None` where it is not installed (`cargo
    /// xtask bench-queries` installs it).
    pub async fn start() -> Option<ClickHouse> {
        let binary = Path::new("/usr/sbin/clickhouse-server");
        if !binary.exists() {
            eprintln!("clickhouse-server is not installed: no side-by-side figures");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let root = dir.path().to_owned();
        let path = |name: &str| root.join(name).display().to_string();
        std::fs::write(
            dir.path().join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{log}</log><errorlog>{err}</errorlog><size>100M</size><count>1</count></logger>
    <http_port>{port}</http_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{data}/</path>
    <tmp_path>{tmp}/</tmp_path>
    <user_files_path>{files}/</user_files_path>
    <format_schema_path>{schemas}/</format_schema_path>
    <mark_cache_size>536870912</mark_cache_size>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
"#,
                log = path("server.log"),
                err = path("error.log"),
                data = path("data"),
                tmp = path("tmp"),
                files = path("user_files"),
                schemas = path("format_schemas"),
            ),
        )
        .expect("the config is written");
        std::fs::write(
            dir.path().join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
"#,
        )
        .expect("the users are written");
        let server = Command::new(binary)
            .arg(format!("--config-file={}", path("config.xml")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clickhouse-server starts");
        let ch = ClickHouse {
            server,
            url: format!("http://127.0.0.1:{port}/"),
            http: reqwest::Client::new(),
            dir,
        };
        let started = Instant::now();
        while ch.run("SELECT 1").await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "clickhouse-server did not answer within a minute; see {}",
                path("error.log")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(ch)
    }

    /// Runs one statement; its output as text.
    pub async fn run(&self, sql: &str) -> Result<String, String> {
        let response = self
            .http
            .post(&self.url)
            .body(sql.to_owned())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{status}: {text}"))
        }
    }

    /// Copies the events of the DuckDB file at `store` (closed) into a new
    /// `events` table ordered as a ClickHouse analytics schema orders them
    /// (site, then time; monthly partitions); the seconds it took.
    pub async fn load(&self, store: &Path) -> f64 {
        let started = Instant::now();
        self.run("DROP TABLE IF EXISTS events").await.expect("drop");
        self.run(
            "CREATE TABLE events (site String, ts UInt64, kind String, visitor_id Int64,
                session_key UInt64, path String, referrer_host Nullable(String),
                utm_source Nullable(String), name Nullable(String), value Nullable(Float64),
                t DateTime DEFAULT toDateTime(intDiv(ts, 1000)))
             ENGINE = MergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site, t)",
        )
        .await
        .expect("the events table");
        let export = self.dir.path().join("export");
        {
            let conn = duckdb::Connection::open(store).expect("the store's file");
            conn.execute_batch(&format!(
                "COPY (SELECT site, epoch_ms(ts), kind, visitor_id, session_key, path,
                              referrer_host, utm_source, name, value FROM events)
                 TO '{}' (FORMAT csv, DELIMITER '\t', HEADER false, NULLSTR '\\N',
                          FILE_SIZE_BYTES '200MB')",
                export.display()
            ))
            .expect("the events are exported");
        }
        let mut files: Vec<_> = std::fs::read_dir(&export)
            .expect("the export")
            .map(|f| f.expect("a file").path())
            .collect();
        files.sort();
        let insert = "INSERT INTO events (site, ts, kind, visitor_id, session_key, path, \
                      referrer_host, utm_source, name, value) FORMAT TabSeparated";
        for file in files {
            let body = std::fs::read(&file).expect("an exported file");
            let response = self
                .http
                .post(&self.url)
                .query(&[("query", insert)])
                .body(body)
                .send()
                .await
                .expect("ClickHouse takes the events");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(
                status.is_success(),
                "loading {}: {status} {text}",
                file.display()
            );
            std::fs::remove_file(&file).expect("the file is removed");
        }
        // Merged as it would be long after the writes.
        self.run("OPTIMIZE TABLE events FINAL")
            .await
            .expect("optimize");
        started.elapsed().as_secs_f64()
    }

    /// Each page's views in `[from, to)`, most first: the top pages Sonde's
    /// usage report lists, to show both hold the same events.
    pub async fn top_pages(&self, from: i64, to: i64) -> Vec<(String, u64)> {
        let text = self
            .run(&format!("{} FORMAT TabSeparated", top_pages_sql(from, to)))
            .await
            .expect("top pages");
        text.lines()
            .map(|line| {
                let mut fields = line.split('\t');
                let path = fields.next().unwrap_or_default().to_owned();
                let views = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                (path, views)
            })
            .collect()
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.server.id().to_string())
            .status();
        // It takes a few seconds to shut down.
        let _ = self.server.wait();
    }
}

fn range(from: i64, to: i64) -> String {
    format!("site = 'bench' AND ts >= {from} AND ts < {to}")
}

fn top_pages_sql(from: i64, to: i64) -> String {
    format!(
        "SELECT path, count() AS views, uniqExact(visitor_id) FROM events
         WHERE {} AND kind = 'page_view'
         GROUP BY path ORDER BY views DESC, path LIMIT 10",
        range(from, to)
    )
}

/// The reports ClickHouse is measured on, in `[from, to)` (UTC days, the
/// benchmark site's timezone).
pub fn equivalents(from: i64, to: i64) -> Vec<Equivalent> {
    let range = range(from, to);
    vec![
        Equivalent {
            name: "daily visitors and top pages",
            sonde: "usage, 30 days by day",
            statements: vec![
                format!(
                    "SELECT toDate(t) AS day, count(), uniqExact(visitor_id) FROM events
                     WHERE {range} AND kind = 'page_view' GROUP BY day ORDER BY day"
                ),
                top_pages_sql(from, to),
            ],
        },
        Equivalent {
            name: "4-step funnel (windowFunnel, 1 hour)",
            sonde: "funnel, 4 steps, 30 days",
            statements: vec![format!(
                "SELECT level, count() FROM (
                     SELECT session_key, windowFunnel(3600)(t,
                         kind = 'page_view' AND startsWith(path, '/products/'),
                         kind = 'page_view' AND path = '/cart',
                         kind = 'page_view' AND path = '/checkout',
                         kind = 'page_view' AND path = '/thanks') AS level
                     FROM events WHERE {range} GROUP BY session_key)
                 GROUP BY level ORDER BY level"
            )],
        },
        Equivalent {
            name: "visits by source",
            sonde: "overview, 30 days",
            statements: vec![format!(
                "SELECT source, uniqExact(visitor) AS visitors, count() AS visits FROM (
                     SELECT session_key, any(visitor_id) AS visitor,
                            argMin(ifNull(utm_source, ifNull(referrer_host, 'direct')), ts) AS source
                     FROM events WHERE {range} AND kind = 'page_view' GROUP BY session_key)
                 GROUP BY source ORDER BY visitors DESC, source"
            )],
        },
    ]
}
