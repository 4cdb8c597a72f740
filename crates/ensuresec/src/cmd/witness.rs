//! `ensuresec witness`: an independent C2SP tlog-witness that a partner runs. It follows the logs
//! whose keys it is given, verifies consistency between the checkpoints it sees, cosigns them,
//! and refuses — with an error in its log and the protocol's status — a fork or a rollback. Its
//! state (the latest checkpoint cosigned per log) is written durably before any cosignature
//! leaves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use ensuresec_auditlog::note::{SignerKey, VerifierSet, parse_signer_key, parse_verifier_key};
use ensuresec_auditlog::witness::Witness;
use ensuresec_pipeline::SystemClock;
use owo_colors::OwoColorize;

/// Arguments of `ensuresec witness`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The witness's cosigning key file (`ensuresec ledger keygen NAME --witness`).
    #[arg(long)]
    key: PathBuf,
    /// A log verifier key to follow; the key's name is the log's origin (repeat for several logs
    /// or a rotated key).
    #[arg(long = "log-vkey", required = true)]
    log_vkeys: Vec<String>,
    /// The witness's state file [default: the key file with `.state.json`].
    #[arg(long)]
    state: Option<PathBuf>,
}

/// Runs until interrupted.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let meta = std::fs::metadata(&args.key).with_context(|| format!("{}", args.key.display()))?;
    if meta.len() > 4096 {
        bail!("{} is too large to be a key", args.key.display());
    }
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let cosigner = match parse_signer_key(&text).context("witness key")? {
        SignerKey::Cosigner(c) => c,
        SignerKey::Ed25519(_) => {
            bail!(
                "{} is a log key; make a witness key with --witness",
                args.key.display()
            )
        }
    };
    let mut logs: Vec<(String, VerifierSet)> = Vec::new();
    for v in &args.log_vkeys {
        let key = parse_verifier_key(v).with_context(|| format!("log key {v:?}"))?;
        let origin = key.name().to_owned();
        match logs.iter_mut().find(|(o, _)| *o == origin) {
            Some((_, set)) => set.push(key),
            None => logs.push((origin, VerifierSet::new(vec![key]))),
        }
    }
    let state = args
        .state
        .unwrap_or_else(|| args.key.with_extension("state.json"));
    let name = cosigner.name().to_owned();
    let vkey = cosigner.vkey();
    let origins: Vec<String> = logs.iter().map(|(o, _)| o.clone()).collect();
    let witness = Arc::new(Witness::open(&state, cosigner, logs)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "ensuresec witness {name} listening on {}",
        format!("http://{addr}").bold()
    );
    println!("witness key: {vkey}");
    println!("following: {}", origins.join(", "));
    println!("state: {}", state.display());
    let app = ensuresec_server::ledger::witness_http::router(witness, Arc::new(SystemClock));
    axum::serve(crate::nodelay::without_nagle(listener), app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("witness server")?;
    Ok(ExitCode::SUCCESS)
}
