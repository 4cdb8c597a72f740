//! The fraud scoring benchmark's driver: `POST /v1/payments/score` at a steady rate over N
//! keep-alive connections, and the latency distribution.
//!
//! Open loop: request `i` is due at `start + i / rate`, and its latency is counted from when it
//! was due, not from when a connection got round to sending it, so that a slow answer delays
//! and counts against the requests queued behind it (no coordinated omission). The request
//! bodies are encoded before the clock starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ensuresec_loadgen::quantile;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Token with the ingest scope.
    #[arg(long, env = "ENSURESEC_TOKEN")]
    token: String,
    /// Requests per second.
    #[arg(long, default_value_t = 2_000.0)]
    rate: f64,
    /// Seconds to run (after the warm-up).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds of warm-up at the same rate, not counted.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Distinct cards the payments are spread over.
    #[arg(long, default_value_t = 100_000)]
    cards: u64,
}

/// A payment request body; `i` varies the card, device, IP and amount.
fn body(i: u64, cards: u64) -> bytes::Bytes {
    let card = i.wrapping_mul(2_654_435_761) % cards;
    let second = 1_700_000_000 + i / 100;
    let time = chrono::DateTime::from_timestamp(second as i64, 0)
        .expect("a time in range")
        .to_rfc3339();
    let v = json!({
        "payment_id": format!("bench-{i}"),
        "time": time,
        "amount": {"minor": 500 + (i * 7919) % 200_000, "currency": "EUR"},
        "merchant": "shop-1",
        "card": {"fingerprint": format!("card-{card}"), "bin": "424242", "country": "DE"},
        "billing": {"country": "DE", "hash": format!("bill-{card}")},
        "shipping": {"country": if i.is_multiple_of(17) { "FR" } else { "DE" }, "hash": format!("ship-{}", card % 50_000)},
        "ip": format!("198.{}.{}.{}", 18 + ((card >> 16) & 1), (card >> 8) & 255, card & 255),
        "ip_country": "DE",
        "device": format!("dev-{}", card % 80_000),
        "email_hash": format!("mail-{card}"),
        "account": {"id": format!("acc-{card}"), "age_days": card % 2_000},
        "three_ds": if i.is_multiple_of(3) { "authenticated" } else { "not_enrolled" }
    });
    bytes::Bytes::from(v.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let warm = (args.rate * args.warmup as f64) as usize;
    let total = warm + (args.rate * args.seconds as f64) as usize;
    let bodies: Arc<Vec<bytes::Bytes>> =
        Arc::new((0..total as u64).map(|i| body(i, args.cards)).collect());
    let url = format!("{}/v1/payments/score", args.server.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(200);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (client, url, token, bodies, next) = (
            client.clone(),
            url.clone(),
            args.token.clone(),
            bodies.clone(),
            next.clone(),
        );
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
        "requests: {} measured ({} warm-up), failures: {failures}, target rate {:.0}/s, achieved {:.0}/s",
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
