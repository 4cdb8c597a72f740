//! The age verification benchmark's driver: `POST /v1/identity/verify` at a steady rate over N
//! keep-alive connections, and the latency distribution.
//!
//! Every verification needs its own challenge, so all challenges are fetched and all
//! presentations (a KB-JWT each) built before the clock starts; only the verifications are
//! timed, open loop (latency counted from when a request was due).

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use ensuresec_identity::age::age_claim_path;
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::{Jwk, Limits, SdJwt, SigningKey};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Token with the ingest scope.
    #[arg(long, env = "ENSURESEC_TOKEN")]
    token: String,
    /// The credential as issued (`ensuresec identity issuer issue`).
    #[arg(long)]
    credential: std::path::PathBuf,
    /// The holder's private key (the wallet's `holder.jwk`).
    #[arg(long)]
    holder_key: std::path::PathBuf,
    /// Verifications per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds to run (after the warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of warm-up at the same rate, not counted.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
}

#[allow(clippy::disallowed_methods)] // a benchmark driver: the KB-JWT's issuance time
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let credential = SdJwt::parse(
        std::fs::read_to_string(&args.credential)?.trim(),
        &Limits::default(),
    )?;
    let jwk: Jwk = serde_json::from_str(&std::fs::read_to_string(&args.holder_key)?)?;
    let holder = SigningKey::from_jwk(&jwk)?;
    let base = args.server.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let warm = (args.rate * args.warmup as f64) as usize;
    let total = warm + (args.rate * args.seconds as f64) as usize;
    eprintln!("fetching {total} challenges and building the presentations…");
    let mut bodies = Vec::with_capacity(total);
    for i in 0..total {
        let challenge: Value = client
            .post(format!("{base}/v1/identity/challenge"))
            .bearer_auth(&args.token)
            .json(&json!({"order_id": format!("bench-{i}")}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let nonce = challenge["nonce"]
            .as_str()
            .context("challenge without nonce")?;
        let audience = challenge["audience"]
            .as_str()
            .context("challenge without audience")?;
        let binding = Binding {
            key: &holder,
            nonce,
            audience,
            issued_at: now(),
        };
        let presentation = present(&credential, &[age_claim_path(18)], Some(&binding))?.serialize();
        bodies.push(bytes::Bytes::from(
            json!({"presentation": presentation}).to_string(),
        ));
    }
    let bodies = Arc::new(bodies);
    let url = format!("{base}/v1/identity/verify");
    let run = ensuresec_loadgen::open_loop(
        &client,
        &url,
        &args.token,
        bodies,
        args.rate,
        warm,
        args.connections,
    )
    .await
    .context("workers")?;
    run.print("verifications", warm, args.rate);
    Ok(())
}
