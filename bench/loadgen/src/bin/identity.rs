//! The age verification benchmark's driver: `POST /v1/identity/verify` at a steady rate over N
//! keep-alive connections, and the latency distribution.
//!
//! Every verification needs its own challenge, so all challenges are fetched and all
//! presentations (a KB-JWT each) built before the clock starts; only the verifications are
//! timed, open loop (latency counted from when a request was due).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ensuresec_identity::age::age_claim_path;
use ensuresec_identity::present::{Binding, present};
use ensuresec_identity::{Jwk, Limits, SdJwt, SigningKey};
use ensuresec_loadgen::quantile;
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
    let credential = SdJwt::parse(std::fs::read_to_string(&args.credential)?.trim(), &Limits::default())?;
    let jwk: Jwk = serde_json::from_str(&std::fs::read_to_string(&args.holder_key)?)?;
    let holder = SigningKey::from_jwk(&jwk)?;
    let base = args.server.trim_end_matches('/');
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
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
        let nonce = challenge["nonce"].as_str().context("challenge without nonce")?;
        let audience = challenge["audience"].as_str().context("challenge without audience")?;
        let binding = Binding { key: &holder, nonce, audience, issued_at: now() };
        let presentation = present(&credential, &[age_claim_path(18)], Some(&binding))?.serialize();
        bodies.push(bytes::Bytes::from(json!({"presentation": presentation}).to_string()));
    }
    let bodies = Arc::new(bodies);
    let url = format!("{base}/v1/identity/verify");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(200);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, url, token, bodies, next) = (client.clone(), url.clone(), args.token.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let due = start + interval * i as u32;
                tokio::time::sleep_until(due.into()).await;
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if i >= warm {
                    if ok {
                        latencies.push(due.elapsed().as_secs_f64() * 1e3);
                    } else {
                        failures += 1;
                    }
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.context("worker")?;
        all.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed().as_secs_f64() - args.warmup as f64;
    all.sort_by(f64::total_cmp);
    println!(
        "verifications: {} measured ({} warm-up), failures: {failures}, target rate {:.0}/s, achieved {:.0}/s",
        all.len(),
        warm,
        args.rate,
        all.len() as f64 / elapsed
    );
    println!(
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        quantile(&all, 0.50),
        quantile(&all, 0.90),
        quantile(&all, 0.99),
        quantile(&all, 0.999),
        all.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
