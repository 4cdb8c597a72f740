//! `ensuresec serve`: the platform, with `--demo` feeding it simulated shop traffic.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ensuresec_fraud::journal::Kept as _;
use ensuresec_pipeline::Source;
use ensuresec_server::Platform;
use ensuresec_server::access_log::{AccessLogSource, LogTail};
use ensuresec_server::app::{AppState, router};
use ensuresec_server::demo::DemoSource;
use ensuresec_server::flow_export::FlowExportSource;
use ensuresec_server::integrity::IntegritySource;
use ensuresec_server::mqtt::MqttSource;
use ensuresec_server::pages::PageMonitorSource;
use ensuresec_store::{NewToken, Scope};
use owo_colors::{OwoColorize, Stream::Stdout};

/// Arguments of `ensuresec serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file [default: ./ensuresec.toml when present].
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the embedded database [default: ./ensuresec-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Feed the platform with a simulated shop's traffic, attacks included.
    #[arg(long)]
    demo: bool,
    /// Demo events per second [default: 20].
    #[arg(long, requires = "demo")]
    demo_rate: Option<f64>,
    /// Demo scenario: shop, sqli, xss, credential-stuffing, card-testing or mixed [default: mixed].
    #[arg(long, requires = "demo")]
    demo_scenario: Option<String>,
    /// Asset model (assets.yaml) [default: `assets.file` of the configuration; with --demo, the
    /// reference shop's model].
    #[arg(long)]
    assets: Option<PathBuf>,
}

/// Runs until interrupted.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Metrics must be recorded from the first event on.
    ensuresec_server::telemetry::prometheus();
    let mut config = super::load_config(args.config.as_deref(), args.data_dir)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(rate) = args.demo_rate {
        config.demo.rate = rate;
    }
    if let Some(scenario) = args.demo_scenario {
        config.demo.scenario = scenario;
    }
    if let Some(assets) = args.assets {
        config.assets.file = Some(assets);
    }
    let assets = ensuresec_server::assets::load(config.assets.file.as_deref(), args.demo)
        .context("asset model")?;
    let recovery =
        ensuresec_server::assets::load_recovery(config.recovery.file.as_deref(), &assets)
            .context("recovery probes and actions")?;
    let users = Arc::new(
        ensuresec_dashboard::users::UserDb::open(&config.storage.data_dir)
            .context("dashboard accounts")?,
    );
    let platform = Arc::new(
        Platform::start(&config)
            .await
            .context("starting the platform")?,
    );
    // Once the platform holds the data directory (the audit log's lock), before any save.
    remove_leftovers(&config);
    let admin_line = admin_token(&platform).await?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    let tls = match &config.server.tls {
        Some(tls) => Some(crate::tls::server_config(tls).await?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "ensuresec {} listening on {}",
        env!("CARGO_PKG_VERSION"),
        format!("{scheme}://{addr}").if_supports_color(Stdout, |t| t.bold())
    );
    println!("{admin_line}");
    println!("data directory: {}", config.storage.data_dir.display());
    if let Some(line) = super::resumed_line(&platform) {
        println!("{line}");
    }
    if let Some(ledger) = platform.ledger() {
        println!(
            "audit log: {} (origin {})",
            ensuresec_server::ledger::keys::ledger_dir(&config.storage.data_dir).display(),
            ledger.origin()
        );
        println!("audit log key: {}", ledger.vkey());
    }
    let gateway = in_process_gateway(args.config.as_deref(), &platform).await?;
    let mut background = tokio::task::JoinSet::new();
    if args.demo {
        let source = DemoSource::new(&config.demo, platform.clock().now()).context("demo")?;
        println!(
            "demo traffic: scenario `{}` at {} events/s — open incidents: curl -H 'Authorization: Bearer TOKEN' http://{addr}/v1/incidents",
            config.demo.scenario, config.demo.rate
        );
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(error = %e, "demo source stopped");
            }
        });
    }
    for log in &config.sources.access_log {
        let tail = LogTail::new(
            &log.path,
            log.log_format(),
            &config.storage.data_dir.join("sources"),
            log.read_from,
        );
        println!(
            "following access log {} (offset kept in {})",
            log.path.display(),
            tail.state_path().display()
        );
        let source = AccessLogSource::new(
            tail,
            Duration::from_millis(log.poll_interval_milliseconds),
            platform.clock().clone(),
        );
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            let name = source.name().to_owned();
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(source = %name, error = %e, "access-log source stopped");
            }
        });
    }
    for export in &config.sources.flow_export {
        let socket = tokio::net::UdpSocket::bind(export.listen)
            .await
            .with_context(|| format!("cannot receive flow exports on udp {}", export.listen))?;
        println!("receiving NetFlow/IPFIX on udp://{}", socket.local_addr()?);
        let source = FlowExportSource::new(
            socket,
            Duration::from_millis(export.flush_interval_milliseconds),
            export.max_batch_flows,
        );
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            let name = source.name().to_owned();
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(source = %name, error = %e, "flow-export source stopped");
            }
        });
    }
    for broker in &config.sources.mqtt {
        let password = broker
            .password
            .as_ref()
            .map(|p| p.read())
            .transpose()
            .map_err(|e| anyhow::anyhow!("sources.mqtt.password: {e}"))?;
        let scheme = if broker.tls.is_some() {
            "mqtts"
        } else {
            "mqtt"
        };
        println!(
            "subscribing to {scheme}://{} {:?}",
            broker.broker, broker.topics
        );
        if password.is_some() && broker.tls.is_none() {
            tracing::warn!(broker = %broker.broker, "the MQTT password crosses the network in clear: set tls in [[sources.mqtt]]");
        }
        let source = MqttSource::new(
            broker.clone(),
            password,
            config.limits(),
            platform.clock().clone(),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            let name = source.name().to_owned();
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(source = %name, error = %e, "mqtt source stopped");
            }
        });
    }
    if let Some(root) = &config.integrity.root
        && config.integrity.watch
    {
        let dir = config.integrity.state_dir(&config.storage.data_dir);
        let state =
            ensuresec_integrity::StateDir::open(&dir, config.integrity.verifier_key.clone())
                .with_context(|| format!("integrity state in {}", dir.display()))?;
        let rules = ensuresec_integrity::content::RuleSet::load(
            config.integrity.builtin_rules,
            &config.integrity.rules,
        )
        .context("integrity rules")?;
        let monitor = ensuresec_integrity::monitor::Monitor::open(
            state,
            config.integrity.asset.clone(),
        )
        .with_context(|| {
            format!(
                "integrity monitor of {} (take a baseline with `ensuresec integrity baseline`)",
                root.display()
            )
        })?
        .with_rules(Arc::new(rules));
        let configured = std::fs::canonicalize(root)
            .with_context(|| format!("integrity.root {}", root.display()))?;
        anyhow::ensure!(
            configured == monitor.root(),
            "integrity.root {} is not the root of the baseline in {} ({})",
            root.display(),
            dir.display(),
            monitor.root().display()
        );
        println!(
            "watching {} for unplanned changes (baseline in {})",
            monitor.root().display(),
            dir.display()
        );
        let source = IntegritySource::new(monitor, &config.integrity, platform.clock().clone());
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            let name = source.name().to_owned();
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(source = %name, error = %e, "integrity source stopped");
            }
        });
    }
    if !config.integrity.pages.is_empty() {
        let dir = config.integrity.state_dir(&config.storage.data_dir);
        let source = PageMonitorSource::new(&config.integrity, &dir, platform.clock().clone())
            .context("integrity page monitor")?;
        println!(
            "monitoring {} payment page(s) for script, form, CSP and content changes",
            config.integrity.pages.len()
        );
        let ingestor = platform.ingestor().clone();
        background.spawn(async move {
            let name = source.name().to_owned();
            if let Err(e) = Box::new(source).run(ingestor).await {
                tracing::error!(source = %name, error = %e, "page monitor stopped");
            }
        });
    }
    if let Some(fraud) = platform.fraud() {
        match fraud.model() {
            Some(m) => println!(
                "fraud scoring: POST /v1/payments/score, model {} (reloaded on SIGHUP)",
                m.file
            ),
            None => println!("fraud scoring: POST /v1/payments/score, rules only (no model)"),
        }
        let status = fraud.status();
        if let Some(reference) = status.reference_currency {
            let of = status
                .exchange_rates_date
                .map(|d| format!(" of {d}"))
                .unwrap_or_default();
            println!(
                "fraud amounts counted in {reference} (exchange rates{of} reloaded on SIGHUP)"
            );
        }
        if let Some(keeper) = fraud.keeper() {
            println!(
                "fraud feature state: {} ({} entities read back)",
                keeper.path().display(),
                fraud.status().entities
            );
            print_replayed("payments and declines", fraud.replayed());
        }
        let kept = platform.fraud_kept_state();
        if let Some((rings, keeper)) = kept.rings.as_ref().and_then(|r| Some((r, r.keeper()?))) {
            println!(
                "fraud ring graph: {} ({} entities read back)",
                keeper.path().display(),
                rings.stats().nodes
            );
            print_replayed("payments and labels of the ring graph", rings.replayed());
        }
        let every = config.fraud.journal_sync_ms;
        if every > 0 && !kept.is_empty() {
            let max_records = config.fraud.journal_max_records;
            let kept = kept.clone();
            background.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(every));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    ensuresec_server::fraud::flush_journals(&kept, max_records).await;
                }
            });
        }
        if config.fraud.sweep_secs > 0 {
            let pass = Duration::from_secs(config.fraud.sweep_secs);
            background.spawn(ensuresec_server::fraud::sweep_expired(fraud.clone(), pass));
        }
        let secs = config.fraud.save_state_secs;
        // 0: written only when serve stops (below).
        if secs > 0 && !kept.is_empty() {
            background.spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(secs));
                every.tick().await; // the first tick is now: nothing new to write yet
                loop {
                    every.tick().await;
                    ensuresec_server::fraud::save_state(kept.clone()).await;
                }
            });
        }
        #[cfg(unix)]
        if config.fraud.model.is_some() || config.fraud.exchange_rates.is_some() {
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
            let fraud = fraud.clone();
            let (model, rates) = (
                config.fraud.model.is_some(),
                config.fraud.exchange_rates.is_some(),
            );
            background.spawn(async move {
                while hup.recv().await.is_some() {
                    if model {
                        ensuresec_server::fraud::reload_model(fraud.clone()).await;
                    }
                    if rates {
                        ensuresec_server::fraud::reload_exchange_rates(fraud.clone()).await;
                    }
                }
            });
        }
    }
    let retention = platform.clone();
    background.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match retention.apply_retention().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "purged events past retention"),
                Err(e) => tracing::error!(error = %e, "retention failed"),
            }
        }
    });
    println!(
        "dashboard: {scheme}://{addr}/ui/ ({} assets; add users with `ensuresec users add`)",
        assets.len()
    );
    let state = AppState::new(platform.clone())
        .with_assets(assets)
        .with_recovery(recovery);
    let app = router(state.clone()).merge(ensuresec_dashboard::router(state, users));
    match tls {
        None => axum::serve(
            crate::nodelay::without_nagle(listener),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server")?,
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            axum_server::from_tcp(listener.into_std()?)?
                .acceptor(crate::nodelay::tls_without_nagle(tls))
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .context("server")?;
        }
    }
    if let Some(gateway) = gateway {
        // It stops on the same signal; its open requests finish and its last events go in.
        if let Err(e) = gateway.await {
            tracing::error!(error = %e, "the gateway stopped abnormally");
        }
    }
    tracing::info!("shutting down: finishing queued detection");
    background.shutdown().await;
    // Written after the pipeline has drained, so that the events it scored last are in it.
    let fraud_state = platform.fraud_kept_state();
    match Arc::try_unwrap(platform) {
        Ok(platform) => platform.shutdown().await,
        Err(_) => tracing::warn!(
            "platform still in use at exit; queued detection is abandoned (events are stored)"
        ),
    }
    if !fraud_state.is_empty() {
        ensuresec_server::fraud::save_state(fraud_state).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Says what a start took again from a journal (`what`: its records), if anything.
fn print_replayed(what: &str, replayed: ensuresec_fraud::journal::Replayed) {
    if replayed.files == 0 {
        return;
    }
    let torn = if replayed.torn_bytes > 0 {
        format!(
            "; {} bytes of an interrupted write cut off",
            replayed.torn_bytes
        )
    } else {
        String::new()
    };
    println!(
        "fraud journal: {} {what} counted again from {} file(s){torn}",
        replayed.records, replayed.files
    );
}

/// Removes the temporary files that writes cut short by a crash left in the folders `serve`
/// keeps state in (a feature state's is hundreds of megabytes), logging how many.
fn remove_leftovers(config: &ensuresec_server::config::Config) {
    let data = &config.storage.data_dir;
    let mut folders = vec![
        data.clone(),
        ensuresec_server::ledger::keys::ledger_dir(data),
        data.join("sources"),
    ];
    let files = [config.fraud.state_file(data), config.fraud.rings_file(data)];
    folders.extend(
        files
            .into_iter()
            .flatten()
            .filter_map(|f| f.parent().map(std::path::Path::to_path_buf)),
    );
    folders.sort();
    folders.dedup();
    for folder in folders {
        match ensuresec_durable::remove_leftovers(&folder) {
            Ok(0) => {}
            Ok(files) => tracing::warn!(
                folder = %folder.display(),
                files,
                "removed temporary files left by interrupted writes"
            ),
            Err(e) => tracing::warn!(error = %e, "leftover temporary files not removed"),
        }
    }
}

/// Starts the gateway of the configuration's `[gateway]` section inside this serve: its events
/// go straight into the pipeline, its decisions and fail-safe position come straight from the
/// response module. A section linked to a serve (`[gateway.serve]`) belongs to a separate
/// `ensuresec gateway` process and is left to it.
async fn in_process_gateway(
    config: Option<&std::path::Path>,
    platform: &Arc<Platform>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(gateway) = super::gateway::file_config(config)? else {
        return Ok(None);
    };
    if gateway.serve.is_some() {
        println!(
            "[gateway] links to a serve over HTTP ([gateway.serve]): not started here, run `ensuresec gateway`"
        );
        return Ok(None);
    }
    let mut authority = ensuresec_gateway::inprocess::InProcess::start(
        platform.ingestor().clone(),
        platform.responder().cloned(),
    );
    if platform.identity().is_some() {
        authority = authority.with_age_verifier(Arc::new(super::serve_ages::PlatformAges(
            Arc::clone(platform),
        )));
    }
    let gateway = ensuresec_gateway::Gateway::bind_with(gateway, Arc::new(authority))
        .await
        .context("starting the gateway")?;
    println!("gateway (in-process): {}", super::gateway::url(&gateway)?);
    super::gateway::reload_on_hangup(&gateway)?;
    Ok(Some(tokio::spawn(gateway.run(shutdown_signal()))))
}

/// Makes sure an admin token exists and says how to get it. `ENSURESEC_ADMIN_TOKEN` sets it;
/// otherwise one is generated on first start and shown once.
async fn admin_token(platform: &Platform) -> anyhow::Result<String> {
    let store = platform.store();
    let now = platform.clock().now();
    if let Ok(secret) = std::env::var("ENSURESEC_ADMIN_TOKEN") {
        anyhow::ensure!(
            secret.len() >= 16,
            "ENSURESEC_ADMIN_TOKEN must be at least 16 characters"
        );
        store
            .create_token(NewToken {
                name: "admin".into(),
                scopes: vec![Scope::Admin],
                secret: Some(secret),
                replace: true,
                created: now,
            })
            .await?;
        audit_admin_token(platform).await?;
        return Ok("admin token: from ENSURESEC_ADMIN_TOKEN".into());
    }
    if store
        .list_tokens()
        .await?
        .iter()
        .any(|t| t.name == "admin" && !t.revoked)
    {
        return Ok(
            "admin token: created at first start (make another with `ensuresec token create`)"
                .into(),
        );
    }
    let secret = store
        .create_token(NewToken {
            name: "admin".into(),
            scopes: vec![Scope::Admin],
            secret: None,
            replace: false,
            created: now,
        })
        .await?;
    audit_admin_token(platform).await?;
    Ok(format!(
        "admin token (shown once, keep it): {}",
        secret.bold()
    ))
}

/// Records the admin token's (re)creation in the audit log: its name and scope, never the secret.
async fn audit_admin_token(platform: &Platform) -> anyhow::Result<()> {
    if let Some(ledger) = platform.ledger() {
        let record = serde_json::json!({ "name": "admin", "scopes": ["admin"], "created": platform.clock().now() });
        ledger
            .record(ensuresec_server::ledger::RecordKind::TokenCreated, &record)
            .await
            .context("recording the admin token in the audit log")?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (shared with `gateway`).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
