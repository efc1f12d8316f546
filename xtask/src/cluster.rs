//! `cargo xtask cluster up|down|status`: the distributed set-up Sonde runs
//! on past one machine, started on loopback from Debian's packages:
//! ZooKeeper, ClickHouse as 2 shards × 2 replicas (cluster `sonde`), and
//! PostgreSQL for application data.
//!
//! Each part is a process of its own with its own directory under
//! [`cluster_dir`], started detached so that it outlives this command, and
//! stopped by its pid (ClickHouse takes several seconds to shut down, so
//! `down` waits). Ports are fixed, so that a configuration naming the
//! cluster stays valid across `down` and `up`; the data stays too, until
//! the directory is removed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// ZooKeeper's client port.
pub const ZOOKEEPER_PORT: u16 = 19181;
/// PostgreSQL's port.
pub const POSTGRES_PORT: u16 = 15432;
const SHARDS: u16 = 2;
const REPLICAS: u16 = 2;
const ZOOKEEPER_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// One ClickHouse server: a replica of a shard (both counted from 1).
#[derive(Clone, Copy)]
struct Replica {
    shard: u16,
    replica: u16,
}

impl Replica {
    fn all() -> impl Iterator<Item = Replica> {
        (1..=SHARDS).flat_map(|shard| (1..=REPLICAS).map(move |replica| Replica { shard, replica }))
    }

    fn index(self) -> u16 {
        (self.shard - 1) * REPLICAS + (self.replica - 1)
    }

    fn name(self) -> String {
        format!("clickhouse-s{}r{}", self.shard, self.replica)
    }

    fn http_port(self) -> u16 {
        18120 + self.index()
    }

    fn tcp_port(self) -> u16 {
        19100 + self.index()
    }

    fn interserver_port(self) -> u16 {
        19110 + self.index()
    }
}

/// Where the cluster keeps its processes' data, configuration and logs:
/// `SONDE_CLUSTER_DIR`, else `/var/tmp/sonde-cluster` (outside the home
/// directory, which PostgreSQL's own user may not enter when this runs as
/// root).
pub fn cluster_dir() -> PathBuf {
    std::env::var_os("SONDE_CLUSTER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/sonde-cluster"))
}

/// `cargo xtask cluster <up [--without-sonde]|down|status>`.
pub fn cluster(args: &[String]) -> Result<()> {
    let dir = cluster_dir();
    match args {
        [command] if command == "up" => up(&dir),
        // Only the cluster, not its Sonde: for the tests, which start their own.
        [command, flag] if command == "up" && flag == "--without-sonde" => up(&dir),
        [command] if command == "down" => down(&dir),
        [command] if command == "status" => {
            print!("{}", status(&dir));
            Ok(())
        }
        _ => bail!("cluster takes up [--without-sonde], down or status"),
    }
}

/// For the tests: starts the cluster unless every part already answers,
/// and says whether it did (so that the tests stop only what they
/// started).
pub fn up_for_tests() -> Result<bool> {
    let dir = cluster_dir();
    let running = zookeeper_ok()
        && postgres_ok()
        && Replica::all().all(|replica| clickhouse_query(replica, "SELECT 1").is_ok());
    if running {
        return Ok(false);
    }
    up(&dir)?;
    Ok(true)
}

/// Stops the cluster (see [`up_for_tests`]).
pub fn down_after_tests() -> Result<()> {
    down(&cluster_dir())
}

/// The Sonde processes of `cargo xtask cluster up`, by the port each
/// listens on: two, as behind a load balancer, sharing the cluster's events
/// and PostgreSQL's application data.
pub const SONDE_PORTS: [u16; 2] = [18080, 18081];

/// The database the cluster's Sonde keeps its events in (on ClickHouse)
/// and its application data in (on PostgreSQL).
const SONDE_DATABASE: &str = "sonde";

/// The store address of `database` on the local cluster (see the README,
/// "Past one machine").
pub fn store_address(database: &str) -> String {
    let shards: Vec<String> = (1..=SHARDS)
        .map(|shard| {
            (1..=REPLICAS)
                .map(|replica| format!("127.0.0.1:{}", Replica { shard, replica }.http_port()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    format!("clickhouse://{}/{database}?cluster=sonde", shards.join(";"))
}

/// Where Sonde process `n` (from 1) keeps its logs and pid.
fn sonde_home(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("sonde-{n}"))
}

/// Starts the Sonde processes (the binary at `sonde`, serving the web app
/// in `web`) that are not running, each waited for until it answers. The
/// first delivers the demo site's four weeks of traffic on its first start
/// (before it answers); the second starts after it, on the same stores.
pub fn start_sonde(sonde: &Path, web: &Path) -> Result<()> {
    let store = store_address(SONDE_DATABASE);
    let app_store = postgres_address(SONDE_DATABASE);
    for (n, port) in (1..).zip(SONDE_PORTS) {
        let home = sonde_home(&cluster_dir(), n);
        if pid_of(&home).is_none() {
            std::fs::create_dir_all(&home)?;
            let bind = format!("127.0.0.1:{port}");
            // Only what a process keeps for itself: nothing of the sites'.
            let data = home.join("data");
            let seed_demo = if n == 1 { "true" } else { "false" };
            let args: Vec<&std::ffi::OsStr> = vec![
                "serve".as_ref(),
                "--bind".as_ref(),
                bind.as_ref(),
                "--store".as_ref(),
                store.as_ref(),
                "--app-store".as_ref(),
                app_store.as_ref(),
                "--data-dir".as_ref(),
                data.as_os_str(),
                "--web-dir".as_ref(),
                web.as_os_str(),
                "--seed-demo".as_ref(),
                seed_demo.as_ref(),
            ];
            spawn_detached(
                &home,
                sonde.to_str().context("the binary's path is not UTF-8")?,
                &args,
            )?;
        }
        wait_for_sonde(&home, n, port)?;
    }
    print!("{}", status(&cluster_dir()));
    Ok(())
}

/// The address of database `database` on the cluster's PostgreSQL.
pub fn postgres_address(database: &str) -> String {
    format!("postgres://sonde@127.0.0.1:{POSTGRES_PORT}/{database}")
}

/// Every ClickHouse server's HTTP address, by shard then replica, comma
/// separated (what the cluster tests read in `SONDE_TEST_CLICKHOUSE`).
pub fn clickhouse_urls() -> String {
    Replica::all()
        .map(|replica| format!("http://127.0.0.1:{}/", replica.http_port()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Starts every part that is not running, and waits until each answers.
fn up(dir: &Path) -> Result<()> {
    install()?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let started = Instant::now();
    start_zookeeper(dir)?;
    for replica in Replica::all() {
        start_clickhouse(dir, replica)?;
    }
    for replica in Replica::all() {
        wait_for_clickhouse(dir, replica)?;
    }
    // Each server knows the whole cluster and reaches ZooKeeper.
    for replica in Replica::all() {
        let replicas = clickhouse_query(
            replica,
            "SELECT count() FROM system.clusters WHERE cluster = 'sonde'",
        )?;
        if replicas.trim() != (SHARDS * REPLICAS).to_string() {
            bail!(
                "{} sees {replicas:?} replicas in cluster sonde",
                replica.name()
            );
        }
        // A server that ran while ZooKeeper was away takes a moment to
        // open a new session once it is back.
        wait_for(
            &format!("{}'s ZooKeeper session", replica.name()),
            Duration::from_secs(60),
            || {
                clickhouse_query(
                    replica,
                    "SELECT count() FROM system.zookeeper WHERE path = '/'",
                )
                .is_ok()
            },
        )?;
    }
    start_postgres(dir)?;
    eprintln!(
        "xtask: cluster up in {:.1?} ({})",
        started.elapsed(),
        dir.display()
    );
    print!("{}", status(dir));
    Ok(())
}

/// Stops every part, ClickHouse first (it flushes to ZooKeeper on the way
/// down), and waits for each to exit.
fn down(dir: &Path) -> Result<()> {
    for n in 1..=SONDE_PORTS.len() {
        stop_pid(&sonde_home(dir, n), &format!("sonde-{n}"))?;
    }
    for replica in Replica::all() {
        stop_pid(&dir.join(replica.name()), &replica.name())?;
    }
    stop_pid(&dir.join("zookeeper"), "zookeeper")?;
    let data = dir.join("postgres/data");
    if data.join("postmaster.pid").exists() {
        as_postgres(&format!("{POSTGRES_BIN}/pg_ctl"))
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .context("cannot run pg_ctl")?;
    }
    eprintln!("xtask: cluster down ({} kept)", dir.display());
    Ok(())
}

/// Each part: what it is, where it listens, and whether it answers.
fn status(dir: &Path) -> String {
    let mut out = String::new();
    let zookeeper = match pid_of(&dir.join("zookeeper")) {
        Some(pid) if zookeeper_ok() => format!("running (pid {pid})"),
        Some(pid) => format!("not answering (pid {pid})"),
        None => "stopped".to_owned(),
    };
    let _ = writeln!(
        out,
        "zookeeper          127.0.0.1:{ZOOKEEPER_PORT}  {zookeeper}"
    );
    for replica in Replica::all() {
        let state = match pid_of(&dir.join(replica.name())) {
            Some(pid) => match clickhouse_query(replica, "SELECT version()") {
                Ok(version) => format!("running (pid {pid}, ClickHouse {})", version.trim()),
                Err(_) => format!("not answering (pid {pid})"),
            },
            None => "stopped".to_owned(),
        };
        let _ = writeln!(
            out,
            "{}  http://127.0.0.1:{}  shard {} replica {}  {state}",
            replica.name(),
            replica.http_port(),
            replica.shard,
            replica.replica,
        );
    }
    let postgres = if postgres_ok() {
        "running".to_owned()
    } else {
        "stopped".to_owned()
    };
    let _ = writeln!(
        out,
        "postgres           {}  {postgres}",
        postgres_address("sonde")
    );
    for (n, port) in (1..).zip(SONDE_PORTS) {
        let home = sonde_home(dir, n);
        let sonde = match pid_of(&home) {
            Some(pid) if n == 1 => format!(
                "running (pid {pid}; the first admin's password is in {})",
                home.join("out.log").display()
            ),
            Some(pid) => format!("running (pid {pid})"),
            None => "stopped".to_owned(),
        };
        let _ = writeln!(
            out,
            "sonde-{n}            http://127.0.0.1:{port}/  {sonde}"
        );
    }
    out
}

/// Debian's ClickHouse, ZooKeeper and PostgreSQL, when missing.
fn install() -> Result<()> {
    let mut missing = Vec::new();
    if !Path::new("/usr/sbin/clickhouse-server").exists() {
        missing.push("clickhouse-server");
    }
    if !Path::new("/usr/bin/clickhouse-client").exists() {
        missing.push("clickhouse-client");
    }
    if !Path::new("/usr/share/java/zookeeper.jar").exists() {
        missing.push("zookeeperd");
    }
    if !Path::new(POSTGRES_BIN).join("postgres").exists() {
        missing.push("postgresql-15");
    }
    if !missing.is_empty() {
        crate::apt_install(&missing)?;
    }
    Ok(())
}

fn start_zookeeper(dir: &Path) -> Result<()> {
    let home = dir.join("zookeeper");
    if pid_of(&home).is_some() {
        return Ok(());
    }
    std::fs::create_dir_all(home.join("data"))?;
    std::fs::write(
        home.join("zoo.cfg"),
        format!(
            "tickTime=2000\n\
             dataDir={data}\n\
             clientPort={ZOOKEEPER_PORT}\n\
             clientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=ruok,srvr\n\
             autopurge.purgeInterval=1\n",
            data = home.join("data").display(),
        ),
    )?;
    spawn_detached(
        &home,
        "java",
        &[
            "-Xmx256m".as_ref(),
            "-cp".as_ref(),
            ZOOKEEPER_CLASSPATH.as_ref(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain".as_ref(),
            home.join("zoo.cfg").as_os_str(),
        ],
    )?;
    wait_for("zookeeper", Duration::from_secs(60), zookeeper_ok)
}

fn start_clickhouse(dir: &Path, replica: Replica) -> Result<()> {
    let home = dir.join(replica.name());
    if pid_of(&home).is_some() {
        return Ok(());
    }
    std::fs::create_dir_all(&home)?;
    std::fs::write(home.join("config.xml"), clickhouse_config(&home, replica))?;
    std::fs::write(home.join("users.xml"), CLICKHOUSE_USERS)?;
    spawn_detached(
        &home,
        "/usr/sbin/clickhouse-server",
        &[format!("--config-file={}", home.join("config.xml").display()).as_ref()],
    )
}

/// Waits until `replica` answers, and says why at once if it exited
/// instead (its last error), rather than after the whole wait.
fn wait_for_clickhouse(dir: &Path, replica: Replica) -> Result<()> {
    let home = dir.join(replica.name());
    let started = Instant::now();
    while clickhouse_query(replica, "SELECT 1").is_err() {
        if pid_of(&home).is_none() {
            let log = std::fs::read_to_string(home.join("server.log")).unwrap_or_default();
            let last_error = log
                .lines()
                .rev()
                .find(|line| line.contains("<Error>"))
                .unwrap_or("no error logged");
            bail!(
                "{} exited while starting: {last_error} (see {})",
                replica.name(),
                home.display()
            );
        }
        if started.elapsed() > Duration::from_secs(90) {
            bail!("{} was not ready within 90s", replica.name());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Waits until Sonde process `n` says it is ready (`/readyz`); one that
/// exits while starting is reported at once with what it said. The port
/// is bound before the store opens and the demo's traffic is delivered,
/// so an open port means nothing yet.
fn wait_for_sonde(home: &Path, n: usize, port: u16) -> Result<()> {
    let started = Instant::now();
    while !sonde_ready(port) {
        if pid_of(home).is_none() {
            let said = std::fs::read_to_string(home.join("out.log")).unwrap_or_default();
            bail!("sonde-{n} exited while starting:\n{said}");
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "sonde-{n} was not ready within 600s (see {})",
                home.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Whether the Sonde on `port` answers `/readyz` with 200.
fn sonde_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = [0; 12];
    stream
        .write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .and_then(|()| stream.read_exact(&mut answer))
        .is_ok_and(|()| answer.ends_with(b" 200"))
}

/// A replica's configuration: its ports and paths, its place in the cluster
/// (`macros`, which replicated tables name their ZooKeeper paths and
/// replicas by), the cluster's layout and ZooKeeper.
fn clickhouse_config(home: &Path, me: Replica) -> String {
    let path = |name: &str| home.join(name).display().to_string();
    let mut shards = String::new();
    for shard in 1..=SHARDS {
        shards.push_str("            <shard><internal_replication>true</internal_replication>\n");
        for replica in 1..=REPLICAS {
            let port = Replica { shard, replica }.tcp_port();
            let _ = writeln!(
                shards,
                "                <replica><host>127.0.0.1</host><port>{port}</port></replica>"
            );
        }
        shards.push_str("            </shard>\n");
    }
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger><level>information</level><log>{log}</log><errorlog>{err}</errorlog><size>100M</size><count>2</count></logger>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <interserver_http_port>{interserver}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <listen_host>127.0.0.1</listen_host>
    <path>{data}/</path>
    <tmp_path>{tmp}/</tmp_path>
    <user_files_path>{files}/</user_files_path>
    <format_schema_path>{schemas}/</format_schema_path>
    <mark_cache_size>268435456</mark_cache_size>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <zookeeper><node><host>127.0.0.1</host><port>{ZOOKEEPER_PORT}</port></node></zookeeper>
    <macros><shard>{shard}</shard><replica>{name}</replica></macros>
    <remote_servers>
        <sonde>
{shards}        </sonde>
    </remote_servers>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
"#,
        log = path("server.log"),
        err = path("error.log"),
        http = me.http_port(),
        tcp = me.tcp_port(),
        interserver = me.interserver_port(),
        data = path("data"),
        tmp = path("tmp"),
        files = path("user_files"),
        schemas = path("format_schemas"),
        shard = me.shard,
        name = me.name(),
    )
}

const CLICKHOUSE_USERS: &str = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
"#;

/// Initialises PostgreSQL's data directory once (superuser `sonde`, trusted
/// on loopback only), starts it and creates the database `sonde`.
fn start_postgres(dir: &Path) -> Result<()> {
    if postgres_ok() {
        return Ok(());
    }
    let home = dir.join("postgres");
    let data = home.join("data");
    std::fs::create_dir_all(&home)?;
    if running_as_root() {
        // PostgreSQL refuses to run as root: its files belong to its user.
        crate::step(
            "chown",
            &["-R", "postgres:postgres", &home.display().to_string()],
        )?;
    }
    if !data.join("PG_VERSION").exists() {
        let status = as_postgres(&format!("{POSTGRES_BIN}/initdb"))
            .args(["-U", "sonde", "-A", "trust", "-E", "UTF8", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .context("cannot run initdb")?;
        if !status.success() {
            bail!("initdb failed for {}", data.display());
        }
    }
    let options = format!(
        "-p {POSTGRES_PORT} -c listen_addresses=127.0.0.1 -k {}",
        home.display()
    );
    let status = as_postgres(&format!("{POSTGRES_BIN}/pg_ctl"))
        .args(["start", "-w", "-t", "60", "-o", &options, "-l"])
        .arg(home.join("postgres.log"))
        .arg("-D")
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .context("cannot run pg_ctl")?;
    if !status.success() {
        bail!(
            "PostgreSQL did not start; see {}",
            home.join("postgres.log").display()
        );
    }
    let exists = psql(
        "postgres",
        "SELECT 1 FROM pg_database WHERE datname = 'sonde'",
    )?;
    if exists.trim().is_empty() {
        psql("postgres", "CREATE DATABASE sonde")?;
    }
    Ok(())
}

/// A command run as PostgreSQL's own user when this runs as root.
fn as_postgres(program: &str) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    }
}

fn running_as_root() -> bool {
    crate::output("id", &["-u"]).is_ok_and(|id| id.trim() == "0")
}

fn psql(database: &str, sql: &str) -> Result<String> {
    crate::output(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &POSTGRES_PORT.to_string(),
            "-U",
            "sonde",
            "-d",
            database,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
    )
}

fn postgres_ok() -> bool {
    psql("postgres", "SELECT 1").is_ok_and(|out| out.trim() == "1")
}

fn clickhouse_query(replica: Replica, sql: &str) -> Result<String> {
    crate::output(
        "clickhouse-client",
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &replica.tcp_port().to_string(),
            "--query",
            sql,
        ],
    )
}

/// Whether ZooKeeper serves sessions. `ruok` is not enough: it answers
/// `imok` as soon as the port is open, while ZooKeeper still loads its
/// snapshot and refuses sessions, and a ClickHouse server that cannot open
/// a session while it loads its replicated tables exits. `srvr` names the
/// server's mode only once it serves.
fn zookeeper_ok() -> bool {
    use std::io::{Read, Write};
    let Ok(mut socket) = std::net::TcpStream::connect(("127.0.0.1", ZOOKEEPER_PORT)) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    socket.write_all(b"srvr").is_ok()
        && socket.read_to_string(&mut answer).is_ok()
        && answer.contains("Mode: ")
}

/// Starts `program` in its own session (so that it outlives this command
/// and its terminal), its output to `home/out.log`, its pid in `home/pid`.
fn spawn_detached(home: &Path, program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let log = std::fs::File::create(home.join("out.log"))?;
    let child = Command::new("setsid")
        .arg(program)
        .args(args)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    // `setsid` executes the program in its own place: the pid is the
    // program's.
    std::fs::write(home.join("pid"), child.id().to_string())?;
    Ok(())
}

/// The pid recorded in `home/pid`, if that process is alive.
fn pid_of(home: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(home.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    alive(pid).then_some(pid)
}

/// Whether process `pid` runs. One that has exited but was started by
/// this same command (as `cargo xtask test` starts and stops the cluster)
/// stays in the process table as a zombie until this command exits: it
/// counts as gone.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (name) state …`: the state follows the name's closing bracket.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// Asks the process of `home/pid` to stop, waits for it, and kills it if
/// it has not stopped within a minute.
fn stop_pid(home: &Path, name: &str) -> Result<()> {
    let Some(pid) = pid_of(home) else {
        return Ok(());
    };
    crate::step("kill", &["-TERM", &pid.to_string()])?;
    let gone = || !alive(pid);
    if wait_for(name, Duration::from_secs(60), gone).is_err() {
        crate::step("kill", &["-KILL", &pid.to_string()])?;
        wait_for(name, Duration::from_secs(10), gone)?;
    }
    std::fs::remove_file(home.join("pid"))?;
    Ok(())
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() > limit {
            bail!("{what} was not ready within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_exited_is_gone_even_before_it_is_reaped() {
        assert!(alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not waited for: a zombie, still in /proc.
        std::thread::sleep(Duration::from_millis(300));
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        assert!(!alive(pid));
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
