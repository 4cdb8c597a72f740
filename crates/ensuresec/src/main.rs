//! `ensuresec`: the platform (`serve`), its feeders (`ingest`, `simulate`) and its admin tools.

mod api;
mod client;
mod cmd;
mod logging;
mod nodelay;
mod tls;

use clap::{Parser, Subcommand};

/// Events are many small strings: mimalloc's thread-local heaps allocate and free them faster than
/// the system allocator (measured: see bench/RESULTS.md). Its default of transparent huge pages on
/// its arenas is kept: it makes a whole 2 MiB page resident wherever a byte of it is used
/// (`serve --demo` holds 140–171 MB instead of 78–89), but without it the paced event → alert
/// p99 was about twice as high and over its 50 ms target in three of eight runs.
/// `MIMALLOC_ALLOW_THP=0` in the environment trades that latency for the memory
/// (bench/RESULTS.md, "Transparent huge pages").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// End-to-end security for e-commerce: detect attacks on the web shop, payments and deliveries,
/// correlate them into incidents, and show what is happening.
#[derive(Parser)]
#[command(name = "ensuresec", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = logging::Format::Text)]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: HTTP API, detection pipeline and embedded store.
    Serve(cmd::serve::Args),
    /// Send events (NDJSON) to a running server, or through the pipeline in-process (--offline).
    Ingest(cmd::ingest::Args),
    /// Generate a simulated shop's events with labelled attacks, to stdout or a server.
    Simulate(cmd::simulate::Args),
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        command: cmd::config::Command,
    },
    /// Manage API tokens in the data directory.
    Token {
        #[command(subcommand)]
        command: cmd::token::Command,
    },
    /// List and test the web-attack detection rules.
    Rules {
        #[command(subcommand)]
        command: cmd::rules::Command,
    },
    /// Analyse access logs offline for web attacks: a summary, or OCSF findings as JSON lines.
    Scan(cmd::scan::Args),
    /// Print the JSON Schema of an event, alert or incident.
    Schema(cmd::schema::Args),
    /// The tamper-evident audit log: keys and offline verification.
    Ledger {
        #[command(subcommand)]
        command: cmd::ledger::Command,
    },
    /// Manage dashboard accounts (passwords are read from standard input).
    Users {
        #[command(subcommand)]
        command: cmd::users::Command,
    },
    /// List and change incidents, approve or reject playbook steps (on a running server).
    Incidents {
        #[command(flatten)]
        remote: api::Remote,
        #[command(subcommand)]
        command: cmd::incidents::Command,
    },
    /// List, add and revoke decisions served to bouncers (on a running server).
    Decisions {
        #[command(flatten)]
        remote: api::Remote,
        #[command(subcommand)]
        command: cmd::decisions::Command,
    },
    /// Webhooks and e-mails that could not be delivered, and their replay.
    Deadletters {
        #[command(flatten)]
        remote: api::Remote,
        #[command(subcommand)]
        command: cmd::deadletters::Command,
    },
    /// Reverse proxy in front of a shop: inspects, enforces decisions, fails safe.
    Gateway(cmd::gateway::Args),
    /// Payment fraud: train and evaluate the model, score payment requests offline.
    Fraud {
        #[command(subcommand)]
        command: cmd::fraud::Command,
    },
    /// Delivery security: evaluate the detectors on simulated days with labelled attacks.
    Delivery {
        #[command(subcommand)]
        command: cmd::delivery::Command,
    },
    /// File integrity of the shop's code: signed baselines, status, accepted deploys, restore.
    Integrity {
        #[command(subcommand)]
        command: cmd::integrity::Command,
    },
    /// Privacy-preserving age verification: SD-JWT credentials (issuer, wallet, status list,
    /// offline verifier).
    Identity {
        #[command(subcommand)]
        command: cmd::identity::Command,
    },
    /// Audit interface designs before deployment (OpenAPI against the OWASP API Top 10).
    Audit {
        #[command(subcommand)]
        command: cmd::audit::Command,
    },
    /// Verify designs before deployment: model-check commerce workflows against security
    /// properties.
    Verify {
        #[command(subcommand)]
        command: cmd::verify::Command,
    },
    /// Run an independent witness that cosigns an audit log's checkpoints (C2SP tlog-witness).
    Witness(cmd::witness::Args),
    /// What is actually broken (minimal sets of faulty assets explaining the symptoms), the
    /// next probe to run, and the verified recovery plan (dry run unless --execute).
    Diagnose(cmd::diagnose::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => cmd::serve::run(args).await,
            Command::Ingest(args) => cmd::ingest::run(args).await,
            Command::Simulate(args) => cmd::simulate::run(args).await,
            Command::Config { command } => cmd::config::run(command),
            Command::Token { command } => cmd::token::run(command).await,
            Command::Rules { command } => cmd::rules::run(command),
            Command::Scan(args) => cmd::scan::run(args),
            Command::Schema(args) => cmd::schema::run(args),
            Command::Ledger { command } => cmd::ledger::run(command),
            Command::Fraud { command } => cmd::fraud::run(command),
            Command::Delivery { command } => cmd::delivery::run(command),
            Command::Integrity { command } => cmd::integrity::run(command),
            Command::Identity { command } => cmd::identity::run(command),
            Command::Audit { command } => cmd::audit::run(command),
            Command::Verify { command } => cmd::verify::run(command),
            Command::Witness(args) => cmd::witness::run(args).await,
            Command::Diagnose(args) => cmd::diagnose::run(args).await,
            Command::Gateway(args) => cmd::gateway::run(args).await,
            Command::Users { command } => cmd::users::run(command),
            Command::Incidents { remote, command } => cmd::incidents::run(remote, command).await,
            Command::Decisions { remote, command } => cmd::decisions::run(remote, command).await,
            Command::Deadletters { remote, command } => {
                cmd::deadletters::run(remote, command).await
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
