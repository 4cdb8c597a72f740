//! `ensuresec gateway`: the inline reverse proxy (`crates/gateway`). Thin: builds the
//! configuration from the file and flags, prints the address, reloads TLS on SIGHUP. `serve`
//! runs the same gateway in-process through [`file_config`] and [`reload_on_hangup`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ensuresec_gateway::config::InspectMode;
use ensuresec_gateway::{Gateway, GatewayConfig};

/// Arguments of `ensuresec gateway`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file with a `[gateway]` section [default: ./ensuresec.toml when present].
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on [default: `gateway.listen`, else 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// One upstream for every path (replaces the configured routes).
    #[arg(long)]
    upstream: Option<String>,
    /// Log attacks without blocking them (with --upstream).
    #[arg(long, requires = "upstream")]
    detection_only: bool,
}

/// The `[gateway]` section of `path` (default `./ensuresec.toml` when present), if it has one.
pub(crate) fn file_config(path: Option<&Path>) -> anyhow::Result<Option<GatewayConfig>> {
    let default = Path::new("ensuresec.toml");
    let path = match path {
        Some(p) => p,
        None if default.exists() => default,
        None => return Ok(None),
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !text.lines().any(|l| l.trim_start().starts_with("[gateway")) {
        return Ok(None);
    }
    Ok(Some(GatewayConfig::from_toml(path, &text)?))
}

/// Runs until interrupted.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let from_file = file_config(args.config.as_deref())?;
    let mut config = match (from_file, &args.upstream) {
        (Some(mut c), Some(up)) => {
            c.routes = GatewayConfig::simple(c.listen, up).routes;
            c
        }
        (Some(c), None) => c,
        (None, Some(up)) => GatewayConfig::simple(SocketAddr::from(([127, 0, 0, 1], 8080)), up),
        (None, None) => anyhow::bail!("no upstream: give --upstream URL or a [gateway] section"),
    };
    if args.detection_only {
        for r in &mut config.routes {
            r.mode = InspectMode::DetectionOnly;
        }
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let gateway = Gateway::bind(config).await?;
    println!(
        "ensuresec gateway {} listening on {}",
        env!("CARGO_PKG_VERSION"),
        url(&gateway)?
    );
    reload_on_hangup(&gateway)?;
    gateway.run(super::serve::shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}

/// The gateway's base URL.
pub(crate) fn url(gateway: &Gateway) -> anyhow::Result<String> {
    let scheme = if gateway.is_tls() { "https" } else { "http" };
    Ok(format!("{scheme}://{}", gateway.local_addr()?))
}

/// Reloads the gateway's certificate on every SIGHUP (when it terminates TLS).
pub(crate) fn reload_on_hangup(gateway: &Gateway) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Some(tls) = gateway.tls() {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => tracing::info!("TLS certificate reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "TLS reload failed; keeping the old certificate")
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = gateway;
    Ok(())
}
