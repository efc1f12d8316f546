//! The `sonde` command: runs the server.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use sonde_protocol::SiteSettings;
use sonde_protocol::account::{NewUser, Role};
use sonde_server::Config;
use sonde_server::config::FileConfig;
use sonde_server::site::Site;
use sonde_server::store::{AccountStore, DuckDbStore, ReportStore, SiteStore};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// mimalloc for Rust's allocations too; with its `override` feature it
/// also serves DuckDB's `malloc`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "sonde", version, about = "Consent-first product telemetry")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ingest API, the dashboard and the demo site.
    Serve(Config),
    /// List, add, change or remove sites (while the server is stopped; a
    /// running server takes the same changes through its admin API).
    Site {
        /// Directory holding the DuckDB file.
        #[arg(long, env = "SONDE_DATA_DIR", default_value = "data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: SiteAction,
    },
    /// Delivers weeks of demo traffic to the demo site through the ingest
    /// path (while the server is stopped; `serve --demo` does this on its
    /// first start).
    Demo {
        /// Directory holding the DuckDB file.
        #[arg(long, env = "SONDE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Days of traffic, ending now.
        #[arg(long, default_value_t = 28)]
        days: u32,
        /// Visitors on an average weekday at the start.
        #[arg(long, default_value_t = 140)]
        visitors_per_day: u32,
        /// The same seed makes the same traffic.
        #[arg(long, default_value_t = 0x5017de)]
        seed: u64,
    },
    /// Counts every site's finished days into the usage rollup now (while
    /// the server is stopped; a running server does this every minute).
    Rollup {
        /// Directory holding the DuckDB file.
        #[arg(long, env = "SONDE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Checks an exported consent log (CSV or JSON lines), or with
    /// `--data-dir` every site's whole stored chain: every record follows
    /// the one before it and its hash matches its content. Names the first
    /// broken link.
    VerifyConsentLog {
        /// The exported file.
        #[arg(required_unless_present = "data_dir")]
        file: Option<PathBuf>,
        /// Check the chains stored in this data directory instead (while
        /// the server is stopped).
        #[arg(long, conflicts_with = "file")]
        data_dir: Option<PathBuf>,
    },
    /// Writes everything a store holds (sites, people, saved funnels and
    /// goals, alert rules and firings, consent records, daily counts,
    /// events) to one file, for
    /// `sonde import` into another store (while the server is stopped, or
    /// with ingest paused: events that arrive meanwhile may be left out).
    Export {
        #[command(flatten)]
        store: StoreChoice,
        /// The file to write (gzip-compressed JSON lines).
        #[arg(long)]
        out: PathBuf,
        /// Everything but the events, for moving them by other means (a
        /// ClickHouse bulk load, say).
        #[arg(long)]
        without_events: bool,
    },
    /// Reads a file of `sonde export` into a store that holds nothing of
    /// its sites yet (while the servers on it are stopped).
    Import {
        #[command(flatten)]
        store: StoreChoice,
        /// The file `sonde export` wrote.
        file: PathBuf,
    },
    /// Imports Plausible CE's CSV export into a site (while the server is
    /// stopped): its visitors, pages, sources and devices per day, kept
    /// apart from what Sonde counted, without the days Sonde counted
    /// itself. Importing again replaces the days it holds.
    ImportPlausible {
        #[command(flatten)]
        store: StoreChoice,
        /// The site the figures are of.
        #[arg(long)]
        site: String,
        /// The export: its zip, the folder it unpacks to, or its CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List, add or remove the people who may sign in to the dashboard
    /// (while the server is stopped).
    User {
        /// Directory holding the DuckDB file.
        #[arg(long, env = "SONDE_DATA_DIR", default_value = "data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: UserAction,
    },
}

/// The store of `export` and `import`, named as `serve` names it.
#[derive(clap::Args)]
struct StoreChoice {
    /// Directory holding the DuckDB file (the whole store, unless `--store`
    /// names a cluster).
    #[arg(long, env = "SONDE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The events on a ClickHouse cluster (`clickhouse://…`, as `serve
    /// --store`).
    #[arg(long, env = "SONDE_STORE")]
    store: Option<String>,
    /// The application's data in PostgreSQL (`postgres://…`, as `serve
    /// --app-store`).
    #[arg(long, env = "SONDE_APP_STORE")]
    app_store: Option<String>,
}

impl StoreChoice {
    fn open(self) -> anyhow::Result<sonde_server::store::Stores> {
        let config = Config {
            store: self.store,
            app_store: self.app_store,
            ..Config::ephemeral(self.data_dir)
        };
        std::fs::create_dir_all(&config.data_dir)?;
        let (stores, _) = sonde_server::state::open_stores(&config)
            .context("cannot open the store (is Sonde running on it?)")?;
        Ok(stores)
    }
}

/// A bar of events moved, for export and import.
fn events_bar() -> anyhow::Result<indicatif::ProgressBar> {
    Ok(
        indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} events ({per_sec}, {eta} left)",
        )?),
    )
}

#[derive(Subcommand)]
enum SiteAction {
    /// Every site and its settings, as JSON lines.
    List,
    /// Adds a site, or changes the settings given.
    Put {
        /// The site's public key.
        key: String,
        /// An origin its pages are served from (`https://shop.example`, or
        /// `*` for any); repeat for several. Replaces the list when given.
        #[arg(long = "origin")]
        origins: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        /// An IANA timezone, such as `Europe/Berlin`.
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long)]
        policy_version: Option<u32>,
        /// Days to keep page views, interactions and custom events.
        #[arg(long)]
        retain_usage: Option<u32>,
        /// Days to keep errors.
        #[arg(long)]
        retain_errors: Option<u32>,
        /// Days to keep web vitals.
        #[arg(long)]
        retain_performance: Option<u32>,
        /// Days to keep campaign parameters on page views.
        #[arg(long)]
        retain_marketing: Option<u32>,
        /// The banner's heading on this site (at most 120 characters);
        /// `""` goes back to the banner's built-in, translated one.
        #[arg(long)]
        banner_title: Option<String>,
        /// The banner's text on this site (at most 1,000 characters); `""`
        /// goes back to the built-in one.
        #[arg(long)]
        banner_text: Option<String>,
        /// The site's privacy policy, linked from the banner: an absolute
        /// `https://` or `http://` URL; `""` removes the link.
        #[arg(long)]
        policy_url: Option<String>,
    },
    /// Stops serving a site; its data stays until its retention ends.
    Remove { key: String },
}

#[derive(Subcommand)]
enum UserAction {
    /// Everyone who may sign in, as JSON lines.
    List,
    /// Adds a person, or sets their role and password. The password is the
    /// first line of standard input when it is not a terminal; without one,
    /// a random password is made and printed once.
    Put {
        username: String,
        #[arg(long, value_parser = ["admin", "viewer"], default_value = "viewer")]
        role: String,
        /// Limits a viewer to these sites (keys, comma-separated); without
        /// it, a viewer reads every site.
        #[arg(long, value_delimiter = ',')]
        sites: Option<Vec<String>>,
    },
    /// Removes a person and ends their sessions.
    Remove { username: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout says where Sonde runs.
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(log_filter());
    if std::env::var("SONDE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let matches = Cli::command().get_matches();
    let Cli { command } = Cli::from_arg_matches(&matches)?;
    match command {
        Command::Serve(mut config) => {
            if let Some(path) = config.config.clone() {
                let file = FileConfig::read(&path)?;
                let given = matches.subcommand_matches("serve");
                let unset = |name: &str| {
                    given.is_none_or(|m| {
                        matches!(m.value_source(name), None | Some(ValueSource::DefaultValue))
                    })
                };
                config
                    .apply_file(file, unset)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
            serve(config).await
        }
        Command::Site { data_dir, action } => site(&data_dir, action),
        Command::User { data_dir, action } => user(&data_dir, action),
        Command::Rollup { data_dir } => {
            let store = open_store(&data_dir)?;
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} days ({eta} left)")?,
            );
            let started = std::time::Instant::now();
            let now = chrono::Utc::now().timestamp_millis();
            let days =
                sonde_server::rollup::catch_up(&store, &store, &store, now, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })?;
            bar.finish_and_clear();
            println!(
                "rolled up {days} days in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::VerifyConsentLog {
            file: Some(file), ..
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let entries = sonde_server::reports::consent_log::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            sonde_server::reports::consent_log::verify(&entries)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "{}: {} records, the chain is intact",
                file.display(),
                entries.len()
            );
            Ok(())
        }
        Command::VerifyConsentLog { data_dir, .. } => {
            let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("data"));
            let store = open_store(&data_dir)?;
            let mut broken = 0;
            for site in store.sites()? {
                let (from, to) = sonde_server::reports::consent_log::ALL_TIME;
                let chain = store.consent_chain(&site.key, from, to)?;
                let erased = chain.iter().filter(|e| e.erased).count();
                match sonde_server::reports::consent_log::verify_whole(&chain) {
                    Ok(()) => println!(
                        "{}: {} records ({erased} erased at the visitor's request), the chain is intact",
                        site.key,
                        chain.len()
                    ),
                    Err(e) => {
                        broken += 1;
                        println!("{}: {e}", site.key);
                    }
                }
            }
            if broken > 0 {
                bail!("{broken} consent chains are broken");
            }
            Ok(())
        }
        // Off the runtime: PostgreSQL's client blocks on a runtime of its own.
        Command::Export {
            store,
            out,
            without_events,
        } => tokio::task::spawn_blocking(move || export(store, out, without_events)).await?,
        Command::Import { store, file } => {
            tokio::task::spawn_blocking(move || import(store, file)).await?
        }
        Command::ImportPlausible { store, site, files } => {
            tokio::task::spawn_blocking(move || import_plausible(store, &site, &files)).await?
        }
        Command::Demo {
            data_dir,
            days,
            visitors_per_day,
            seed,
        } => {
            demo(
                data_dir,
                sonde_server::demo::Plan {
                    days,
                    visitors_per_day,
                    seed,
                },
            )
            .await
        }
    }
}

/// `sonde import-plausible`: the export read with a bar of its bytes, then
/// kept for the site.
fn import_plausible(store: StoreChoice, site: &str, files: &[PathBuf]) -> anyhow::Result<()> {
    let stores = store.open()?;
    let settings = stores
        .sites
        .sites()?
        .into_iter()
        .find(|s| s.key == site)
        .with_context(|| format!("there is no site {site:?}; add it with `sonde site put`"))?;
    let timezone: chrono_tz::Tz = settings
        .timezone
        .parse()
        .map_err(|e| anyhow::anyhow!("the site's timezone {:?}: {e}", settings.timezone))?;
    let bar = indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
        "reading {bar:30} {binary_bytes}/{binary_total_bytes} ({eta} left)",
    )?);
    let export = sonde_server::imported::plausible::read(files, &bar)?;
    for file in &export.left_out {
        println!("left out {file}: Sonde has no report of it");
    }
    let receipt = sonde_server::imported::keep(&stores, site, timezone, export)?;
    match (&receipt.first_day, &receipt.last_day) {
        (Some(first), Some(last)) => println!(
            "imported {} days of {site} from Plausible CE, {first} to {last}: {} visitors, {} page views",
            receipt.days, receipt.visitors, receipt.pageviews
        ),
        _ => println!("imported no day of {site}"),
    }
    if receipt.days_sonde_counted > 0 {
        println!(
            "left out {} days Sonde counted itself, so that no visit is counted twice",
            receipt.days_sonde_counted
        );
    }
    Ok(())
}

/// `sonde export`: everything in the store to `out`, with a progress bar.
fn export(store: StoreChoice, out: PathBuf, without_events: bool) -> anyhow::Result<()> {
    let contents = if without_events {
        sonde_server::transfer::Contents::WithoutEvents
    } else {
        sonde_server::transfer::Contents::Everything
    };
    let stores = store.open()?;
    let file =
        std::fs::File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let bar = events_bar()?;
    let started = std::time::Instant::now();
    let summary = sonde_server::transfer::export(
        &stores,
        contents,
        std::io::BufWriter::new(file),
        &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    println!(
        "exported {summary} to {} in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `sonde import`: a file of `sonde export` into the store, with a
/// progress bar.
fn import(store: StoreChoice, file: PathBuf) -> anyhow::Result<()> {
    let stores = store.open()?;
    let input =
        std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let bar = events_bar()?;
    let started = std::time::Instant::now();
    let summary =
        sonde_server::transfer::import(&stores, std::io::BufReader::new(input), &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    bar.finish_and_clear();
    println!(
        "imported {summary} from {} in {:.1} s",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn demo(data_dir: PathBuf, plan: sonde_server::demo::Plan) -> anyhow::Result<()> {
    let mut config = Config::ephemeral(&data_dir);
    config.demo = true;
    std::fs::create_dir_all(&data_dir)?;
    let (app, writer) = sonde_server::state::AppState::open(&config, config.bind)
        .context("cannot open the data directory (is Sonde running on it?)")?;
    let bar = indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} visitors ({eta} left)",
    )?);
    let summary = sonde_server::demo::generate(&app, plan, chrono::Utc::now(), &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    drop(app);
    tokio::task::spawn_blocking(move || writer.join()).await?;
    println!(
        "delivered {} visitors in {} batches: {} events stored, {} consent decisions, {} bot requests",
        summary.visitors,
        summary.batches,
        summary.events_stored,
        summary.consent_records,
        summary.bot_requests
    );
    Ok(())
}

/// Opens the store of the commands beside `serve`, within the memory that
/// `SONDE_STORE_MEMORY_MB` gives DuckDB, as `serve` does.
fn open_store(data_dir: &Path) -> anyhow::Result<DuckDbStore> {
    let path = data_dir.join("sonde.duckdb");
    let mut tuning = sonde_server::store::StoreTuning::DEFAULT;
    if let Ok(mb) = std::env::var("SONDE_STORE_MEMORY_MB") {
        tuning.memory_limit_mb = mb.parse().with_context(|| {
            format!("SONDE_STORE_MEMORY_MB must be a number of megabytes, not {mb:?}")
        })?;
    }
    DuckDbStore::open_tuned(&path, &tuning).map_err(|e| {
        // Only a lock held by another process is worth the hint; any other
        // failure (memory, a damaged file) is said as it is.
        let held = e.to_string().contains("Could not set lock");
        let hint = if held {
            " (a running Sonde holds it: stop it, or use its API)"
        } else {
            ""
        };
        anyhow::Error::new(e).context(format!("cannot open {}{hint}", path.display()))
    })
}

fn user(data_dir: &Path, action: UserAction) -> anyhow::Result<()> {
    let store = open_store(data_dir)?;
    match action {
        UserAction::List => {
            for user in store.users()? {
                println!("{}", serde_json::to_string(&user)?);
            }
        }
        UserAction::Put {
            username,
            role,
            sites,
        } => {
            let role = Role::parse(&role).context("a role is admin or viewer")?;
            let mut given = String::new();
            if !std::io::stdin().is_terminal() {
                std::io::stdin().read_line(&mut given)?;
            }
            let given = given.trim_end_matches(['\r', '\n']);
            let (password, generated) = if given.is_empty() {
                (sonde_server::token::random_token()[..20].to_owned(), true)
            } else {
                (given.to_owned(), false)
            };
            let new = NewUser {
                username: username.clone(),
                password: password.clone(),
                role,
                sites: sites.clone(),
            };
            let known: Vec<String> = store.sites()?.into_iter().map(|s| s.key).collect();
            sonde_server::auth::accounts::put(&store, &new, |site| known.iter().any(|k| k == site))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match &sites {
                Some(sites) => println!(
                    "{username} may sign in as {} of {}",
                    role.as_str(),
                    sites.join(", ")
                ),
                None => println!("{username} may sign in as {}", role.as_str()),
            }
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserAction::Remove { username } => {
            if !store.remove_user(&username)? {
                bail!("there is no user {username:?}");
            }
            println!("removed {username:?} and ended their sessions");
        }
    }
    Ok(())
}

fn site(data_dir: &Path, action: SiteAction) -> anyhow::Result<()> {
    let store = open_store(data_dir)?;
    match action {
        SiteAction::List => {
            for site in store.sites()? {
                println!("{}", serde_json::to_string(&site)?);
            }
        }
        SiteAction::Put {
            key,
            origins,
            name,
            timezone,
            policy_version,
            retain_usage,
            retain_errors,
            retain_performance,
            retain_marketing,
            banner_title,
            banner_text,
            policy_url,
        } => {
            let existing = store.sites()?.into_iter().find(|s| s.key == key);
            if existing.is_none() && origins.is_empty() {
                bail!("a new site needs at least one --origin");
            }
            let mut settings = existing.unwrap_or_else(|| SiteSettings::new(&key, Vec::new()));
            if !origins.is_empty() {
                settings.origins = origins
                    .iter()
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .collect();
            }
            let r = &mut settings.retention;
            for (slot, value) in [
                (&mut r.usage, retain_usage),
                (&mut r.errors, retain_errors),
                (&mut r.performance, retain_performance),
                (&mut r.marketing, retain_marketing),
            ] {
                if let Some(days) = value {
                    *slot = days;
                }
            }
            let b = &mut settings.banner;
            for (slot, value) in [
                (&mut b.title, banner_title),
                (&mut b.text, banner_text),
                (&mut b.policy_url, policy_url),
            ] {
                if let Some(value) = value {
                    *slot = Some(value).filter(|v| !v.is_empty());
                }
            }
            settings.name = name.unwrap_or(settings.name);
            settings.timezone = timezone.unwrap_or(settings.timezone);
            settings.policy_version = policy_version.unwrap_or(settings.policy_version);
            let site = Site::new(settings).map_err(|e| anyhow::anyhow!("{e}"))?;
            store.put_site(&site.settings)?;
            println!("{}", serde_json::to_string(&site.settings)?);
        }
        SiteAction::Remove { key } => {
            if !store.remove_site(&key)? {
                bail!("there is no site {key:?}");
            }
            println!("removed site {key:?}; its data stays until its retention ends");
        }
    }
    Ok(())
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    // The web app compiled in, unless a directory is given to serve instead.
    if sonde_web_files::is_empty() {
        if config.web_dir.is_none() {
            tracing::warn!(
                "this sonde was built before the web app (`cargo xtask build-web`): \
                 serving the API only; give --web-dir or rebuild"
            );
        }
    } else {
        config.embedded_web = Some(sonde_web_files::get);
    }
    let data_dir = config.data_dir.clone();
    let demo = config.demo;
    let server = sonde_server::start(config)
        .await
        .context("cannot start Sonde")?;
    let url = server.url();
    let mut said = format!(
        "Sonde is running at {url}/ (data in {})\n",
        data_dir.display()
    );
    if demo {
        said += &format!("  dashboard: {url}/   demo shop: {url}/demo\n");
    }
    if let Some(password) = server.first_admin_password() {
        said += &format!(
            "  No one could sign in yet, so Sonde made an admin. Sign in to the dashboard as\n    username: {}\n    password: {password}\n  (shown this once; `sonde user put` sets a new one while Sonde is stopped)\n",
            sonde_server::auth::accounts::FIRST_ADMIN
        );
    }
    // One write; and a closed stdout (whoever started Sonde stopped
    // listening) must not stop the server.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), said.as_bytes());
    stopped().await?;
    tracing::info!("shutting down");
    server
        .shutdown()
        .await
        .context("server failed while shutting down")
}

/// `SONDE_LOG` (tracing's filter syntax, `info` by default), with what
/// would log a visitor's IP address always off, whatever it asks: axum's
/// connection log names each peer.
fn log_filter() -> EnvFilter {
    let filter = EnvFilter::try_from_env("SONDE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    filter.add_directive("axum::serve=off".parse().expect("a valid directive"))
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn stopped() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        ctrl_c = tokio::signal::ctrl_c() => ctrl_c.context("cannot listen for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}
