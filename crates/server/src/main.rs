//! The `sonde` command: runs the server.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sonde_server::Config;
use tracing_subscriber::EnvFilter;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout says where Sonde runs.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_env("SONDE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let Cli { command } = Cli::parse();
    match command {
        Command::Serve(config) => serve(config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let demo = config.demo;
    let server = sonde_server::start(config)
        .await
        .context("cannot start Sonde")?;
    let url = server.url();
    println!(
        "Sonde is running at {url}/ (data in {})",
        data_dir.display()
    );
    if demo {
        println!("  dashboard: {url}/   demo shop: {url}/demo");
    }
    stopped().await?;
    tracing::info!("shutting down");
    server
        .shutdown()
        .await
        .context("server failed while shutting down")
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
