//! Posts pre-generated NDJSON batches of simulated shop events to `ensuresec serve` over N
//! connections, as fast as possible or paced to a target rate, and reports throughput, request
//! latency and the server's own event → alert latency (read from `/metrics`).
//!
//! The events are generated and encoded before the clock starts, so that the measurement is of
//! the server, not of the generator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ensuresec_loadgen::quantile;
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};

#[derive(Parser)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Token with the ingest scope.
    #[arg(long, env = "ENSURESEC_TOKEN")]
    token: String,
    /// Events to send in total.
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Target events per second (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Simulated events per second of event time (sets how dense attacks are in event time).
    #[arg(long, default_value_t = 2_000.0)]
    sim_rate: f64,
    /// Attack campaigns per simulated hour.
    #[arg(long, default_value_t = 600.0)]
    campaigns_per_hour: f64,
    /// Send every batch with an `Idempotency-Key` of its own (`<prefix>-<batch number>`), to
    /// measure what keys cost.
    #[arg(long)]
    key_prefix: Option<String>,
}

#[allow(clippy::disallowed_methods)] // a benchmark driver: event times start at the wall clock
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let duration_s = args.events as f64 / args.sim_rate;
    let sim = Simulator::new(SimConfig {
        seed: 7,
        start: now() - chrono::Duration::seconds(duration_s as i64 + 60),
        rate: args.sim_rate,
        scenario: Scenario::named("mixed")?,
        profile: Profile::from_yaml("shop.yaml", DEFAULT_PROFILE)?,
        campaigns_per_hour: Some(args.campaigns_per_hour),
    })?;
    eprintln!("generating {} events…", args.events);
    let mut batches: Vec<bytes::Bytes> = Vec::new();
    let mut body = Vec::with_capacity(args.batch * 400);
    let mut in_batch = 0;
    let mut total_bytes = 0usize;
    for e in sim.take(args.events) {
        serde_json::to_writer(&mut body, &e)?;
        body.push(b'\n');
        in_batch += 1;
        if in_batch == args.batch {
            total_bytes += body.len();
            batches.push(bytes::Bytes::from(std::mem::take(&mut body)));
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        total_bytes += body.len();
        batches.push(bytes::Bytes::from(body));
    }
    let batches = Arc::new(batches);
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let url = format!("{}/v1/events", args.server.trim_end_matches('/'));
    eprintln!(
        "sending {} batches ({:.1} MB) over {} connections{}",
        batches.len(),
        total_bytes as f64 / 1e6,
        args.connections,
        if args.rate > 0.0 {
            format!(" at {} events/s", args.rate)
        } else {
            String::new()
        }
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (batches, next, client, url, token) = (
            batches.clone(),
            next.clone(),
            client.clone(),
            url.clone(),
            args.token.clone(),
        );
        let (rate, batch, key_prefix) = (args.rate, args.batch, args.key_prefix.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = batches.get(i) else { break };
                if rate > 0.0 {
                    // Pace: batch i is due at i * batch / rate seconds after the start.
                    let due = started + Duration::from_secs_f64(i as f64 * batch as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let t = Instant::now();
                let mut request = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body.clone());
                if let Some(prefix) = &key_prefix {
                    request = request.header("idempotency-key", format!("{prefix}-{i}"));
                }
                let resp = request.send().await?;
                anyhow::ensure!(
                    resp.status().is_success(),
                    "batch {i}: status {}",
                    resp.status()
                );
                resp.bytes().await?;
                latencies.push(t.elapsed().as_secs_f64());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let metrics = client
        .get(format!("{}/metrics", args.server.trim_end_matches('/')))
        .send()
        .await?
        .text()
        .await
        .context("metrics")?;
    let metric = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    println!("events_sent {}", args.events);
    println!("seconds {elapsed:.2}");
    println!("events_per_second {:.0}", args.events as f64 / elapsed);
    println!(
        "megabytes_per_second {:.1}",
        total_bytes as f64 / elapsed / 1e6
    );
    println!(
        "request_latency_p50_ms {:.1}",
        quantile(&latencies, 0.5) * 1e3
    );
    println!(
        "request_latency_p99_ms {:.1}",
        quantile(&latencies, 0.99) * 1e3
    );
    println!(
        "alerts_measured {}",
        metric("ensuresec_event_to_alert_seconds_count")
    );
    println!(
        "event_to_alert_p50_ms {:.1}",
        metric("ensuresec_event_to_alert_seconds{quantile=\"0.5\"}") * 1e3
    );
    println!(
        "event_to_alert_p99_ms {:.1}",
        metric("ensuresec_event_to_alert_seconds{quantile=\"0.99\"}") * 1e3
    );
    Ok(())
}
