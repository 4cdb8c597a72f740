//! `ensuresec simulate`: a simulated shop's events, with labelled attacks, as NDJSON on stdout or
//! posted to a server.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};
use indicatif::ProgressBar;

use crate::client::events_client;

/// Arguments of `ensuresec simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// shop (no attacks), sqli, xss, credential-stuffing, card-testing, mixed, or delivery (a
    /// pharmacy's day of deliveries with labelled attacks; see --labels).
    #[arg(long, default_value = "mixed")]
    scenario: String,
    /// For --scenario delivery: write the ground truth (one JSON label per injected attack) to
    /// this file; the events themselves carry no labels.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Mean events per simulated second of normal traffic (attacks come on top); not used by
    /// --scenario delivery, whose volume is set by its scenario file.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Random seed: the same seed, start and scenario give the same events.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Stop after this much simulated time [default: 3600 unless --count is given].
    #[arg(long)]
    duration_seconds: Option<u64>,
    /// Simulated start time, RFC 3339 [default: now].
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// A YAML shop profile instead of the built-in pharmacy (for --scenario delivery: a
    /// delivery-day scenario).
    #[arg(long)]
    profile: Option<std::path::PathBuf>,
    /// Attack campaigns per simulated hour [default: the profile's].
    #[arg(long)]
    campaigns_per_hour: Option<f64>,
    /// Post the events to this server instead of writing them to stdout.
    #[arg(long)]
    server: Option<String>,
    /// API token with the ingest scope, for --server.
    #[arg(long, env = "ENSURESEC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A PEM CA certificate to trust for an HTTPS server with a private CA.
    #[arg(long, env = "ENSURESEC_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Events per posted batch.
    #[arg(long, default_value_t = 5000)]
    batch_events: usize,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.scenario == "delivery" {
        return delivery_day(args).await;
    }
    anyhow::ensure!(
        args.labels.is_none(),
        "--labels is for --scenario delivery; the shop scenarios label events with `labels.truth`"
    );
    let profile = match &args.profile {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Profile::from_yaml(&path.display().to_string(), &text)?
        }
        None => Profile::from_yaml("shop.yaml (built in)", DEFAULT_PROFILE)?,
    };
    #[allow(clippy::disallowed_methods)]
    // a CLI default, not detection: the simulated day starts now
    let start = args.start.unwrap_or_else(Utc::now);
    let simulator = Simulator::new(SimConfig {
        seed: args.seed,
        start,
        rate: args.rate,
        scenario: Scenario::named(&args.scenario)?,
        profile,
        campaigns_per_hour: args.campaigns_per_hour,
    })?;
    let end = match (args.count, args.duration_seconds) {
        (Some(_), None) => None,
        (_, Some(d)) => Some(start + chrono::Duration::seconds(d as i64)),
        (None, None) => Some(start + chrono::Duration::hours(1)),
    };
    let limit = args.count.unwrap_or(u64::MAX);
    let events = simulator
        .take_while(move |e| end.is_none_or(|end| e.time < end))
        .take(limit as usize);
    send(
        events,
        args.server,
        args.token,
        args.ca_cert,
        args.batch_events,
    )
    .await
}

/// A delivery day: events in arrival order, the ground truth to `--labels`.
async fn delivery_day(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.duration_seconds.is_none() && args.campaigns_per_hour.is_none(),
        "--duration-seconds and --campaigns-per-hour do not apply to --scenario delivery: it \
         simulates the whole day that contains --start, with the attacks its scenario file sets"
    );
    let scenario = crate::cmd::delivery::load_scenario(args.profile.as_ref())?;
    #[allow(clippy::disallowed_methods)]
    // a CLI default, not detection: the simulated day is today
    let start = args.start.unwrap_or_else(Utc::now);
    let run = ensuresec_simulator::day::simulate_day(&scenario, args.seed, start);
    if let Some(path) = &args.labels {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        for t in &run.truth {
            serde_json::to_writer(&mut out, t)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let limit = args.count.unwrap_or(u64::MAX) as usize;
    let events = run.events.into_iter().take(limit);
    send(
        events,
        args.server,
        args.token,
        args.ca_cert,
        args.batch_events,
    )
    .await
}

/// Writes `events` as NDJSON to stdout, or posts them to `server` in batches.
async fn send(
    events: impl Iterator<Item = ensuresec_model::Event>,
    server_opt: Option<String>,
    token: Option<String>,
    ca_cert: Option<PathBuf>,
    batch_events: usize,
) -> anyhow::Result<ExitCode> {
    match server_opt {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            for e in events {
                serde_json::to_writer(&mut out, &e)?;
                if let Err(err) = out.write_all(b"\n") {
                    // A closed pipe (`| head`) is the reader's choice, not a failure.
                    if err.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(err.into());
                }
            }
            match out.flush() {
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => return Err(err.into()),
                _ => {}
            }
        }
        Some(server) => {
            let token = token.context("--server needs a token: --token or ENSURESEC_TOKEN")?;
            let client = events_client(&server, token, ca_cert.as_deref())?;
            let bar = ProgressBar::new_spinner();
            let mut sent = 0u64;
            let mut body = Vec::new();
            let mut in_batch = 0;
            for e in events {
                serde_json::to_writer(&mut body, &e)?;
                body.push(b'\n');
                in_batch += 1;
                if in_batch == batch_events.max(1) {
                    sent += client.post(std::mem::take(&mut body)).await?.events;
                    in_batch = 0;
                    bar.set_message(format!("{sent} events sent"));
                    bar.tick();
                }
            }
            if in_batch > 0 {
                sent += client.post(body).await?.events;
            }
            bar.finish_and_clear();
            eprintln!("{sent} events sent to {server}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
