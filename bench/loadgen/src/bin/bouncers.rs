//! The response benchmark's driver. `latency`: a credential-stuffing wave from a new address,
//! then a bouncer polls the decision stream until the ban shows: alert → decision visible, per
//! wave. `stream`: decisions posted at a target rate while N bouncers poll the stream, each
//! counting what it receives and how long after the post was acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use ensuresec_loadgen::quantile;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Admin token (posts events and decisions).
    #[arg(long, env = "ENSURESEC_TOKEN")]
    token: String,
    /// File with one bouncer key per line.
    #[arg(long)]
    keys: std::path::PathBuf,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Alert → decision on the stream, per stuffing wave.
    Latency {
        /// Waves.
        #[arg(long, default_value_t = 200)]
        waves: u32,
    },
    /// Decisions per second served to polling bouncers.
    Stream {
        /// Decisions per second to post.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// Seconds to post for.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Decisions per POST.
        #[arg(long, default_value_t = 1_000)]
        batch: u64,
        /// Bouncers (at most the keys in the file).
        #[arg(long, default_value_t = 50)]
        bouncers: usize,
        /// Each bouncer's poll interval, in milliseconds.
        #[arg(long, default_value_t = 1_000)]
        poll_ms: u64,
        /// Posts in flight at once (a shop's several workers, or several feeds).
        #[arg(long, default_value_t = 4)]
        in_flight: usize,
    },
}

#[allow(clippy::disallowed_methods)] // a benchmark driver: event times are the wall clock
fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The part of a bouncer's pull the stream mode reads: the values of the new decisions. Typed
/// and borrowed, like a bouncer's own decoder, so that the driver's parsing (on the same cores as
/// the server) costs what a real bouncer's would rather than a generic JSON tree's.
#[derive(serde::Deserialize)]
struct Pull<'a> {
    #[serde(borrow)]
    new: Option<Vec<PulledDecision<'a>>>,
}

#[derive(serde::Deserialize)]
struct PulledDecision<'a> {
    #[serde(borrow)]
    value: std::borrow::Cow<'a, str>,
}

async fn pull_text(
    http: &reqwest::Client,
    server: &str,
    key: &str,
    startup: bool,
) -> anyhow::Result<bytes::Bytes> {
    Ok(http
        .get(format!("{server}/v1/decisions/stream?startup={startup}"))
        .header("X-Api-Key", key)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?)
}

async fn stream(
    http: &reqwest::Client,
    server: &str,
    key: &str,
    startup: bool,
) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{server}/v1/decisions/stream?startup={startup}"))
        .header("X-Api-Key", key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

async fn latency(args: &Args, key: &str, waves: u32) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    stream(&http, &args.server, key, true).await?;
    let mut samples = Vec::new();
    for w in 0..waves {
        let ip = format!("10.{}.{}.{}", 200 + w / 65536 % 50, w / 256 % 256, w % 256);
        let t = now_text();
        let body: String = (0..12)
            .map(|i| {
                format!(
                    "{{\"type\":\"auth\",\"time\":\"{t}\",\"source\":\"bench\",\"data\":{{\"account\":\"v{w}-{i}\",\"ip\":\"{ip}\",\"action\":\"login\",\"outcome\":\"failure\"}}}}\n"
                )
            })
            .collect();
        let start = Instant::now();
        http.post(format!("{}/v1/events", args.server))
            .bearer_auth(&args.token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        loop {
            let v = stream(&http, &args.server, key, false).await?;
            if v["new"].to_string().contains(&format!("\"{ip}\"")) {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(10),
                "wave {w}: no ban for {ip} within 10 s"
            );
        }
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "alert -> decision on the bouncer stream, {} waves of 12 failed logins: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        quantile(&samples, 0.5),
        quantile(&samples, 0.99),
        samples.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

async fn serve_rate(
    args: &Args,
    keys: &[String],
    rate: u64,
    seconds: u64,
    batch: u64,
    poll_ms: u64,
    in_flight: usize,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let posted: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let received = Arc::new(AtomicU64::new(0));
    let delays: Arc<Mutex<Vec<f64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pollers = Vec::new();
    for key in keys {
        let (http, server, key) = (http.clone(), args.server.clone(), key.clone());
        let (posted, received, delays, stop) = (
            posted.clone(),
            received.clone(),
            delays.clone(),
            stop.clone(),
        );
        stream(&http, &server, &key, true).await?;
        pollers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(poll_ms));
            let mut mine = 0u64;
            loop {
                tick.tick().await;
                let done = stop.load(Ordering::Relaxed);
                let Ok(text) = pull_text(&http, &server, &key, false).await else {
                    continue;
                };
                let Ok(pull) = serde_json::from_slice::<Pull>(&text) else {
                    continue;
                };
                let now = Instant::now();
                let mut local = Vec::new();
                for d in pull.new.unwrap_or_default() {
                    mine += 1;
                    // Values are 2001:db8:<batch hi>:<batch lo>::<n>.
                    let mut parts = d.value.split(':').skip(2);
                    if let (Some(Ok(hi)), Some(Ok(lo))) = (
                        parts.next().map(|p| u64::from_str_radix(p, 16)),
                        parts.next().map(|p| u64::from_str_radix(p, 16)),
                    ) && let Some(at) =
                        posted.lock().expect("not poisoned").get(&(hi << 16 | lo))
                    {
                        local.push(now.duration_since(*at).as_secs_f64() * 1000.0);
                    }
                }
                received.fetch_add(mine, Ordering::Relaxed);
                mine = 0;
                delays.lock().expect("not poisoned").extend(local);
                if done {
                    return;
                }
            }
        }));
    }
    let start = Instant::now();
    let batches = rate * seconds / batch;
    let mut posts = tokio::task::JoinSet::new();
    for b in 0..batches {
        let due = start + Duration::from_secs_f64(b as f64 * batch as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        while posts.len() >= in_flight {
            posts.join_next().await.expect("a post is in flight")??;
        }
        let items: Vec<Value> = (0..batch)
            .map(|i| {
                json!({"type": "ban", "scope": "ip", "value": format!("2001:db8:{:x}:{:x}::{:x}", b >> 16, b & 0xffff, i + 1),
                       "duration_seconds": 3600, "scenario": "bench"})
            })
            .collect();
        let (http, url, token, posted) = (
            http.clone(),
            format!("{}/v1/decisions", args.server),
            args.token.clone(),
            posted.clone(),
        );
        posts.spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&items)
                .send()
                .await?
                .error_for_status()
                .context("posting decisions")?;
            posted
                .lock()
                .expect("not poisoned")
                .insert(b, Instant::now());
            anyhow::Ok(())
        });
    }
    while let Some(done) = posts.join_next().await {
        done??;
    }
    let sent = batches * batch;
    let elapsed = start.elapsed().as_secs_f64();
    // Two more polls for the last decisions, then stop.
    tokio::time::sleep(Duration::from_millis(2 * poll_ms + 500)).await;
    stop.store(true, Ordering::Relaxed);
    for p in pollers {
        let _ = p.await;
    }
    let mut d = delays.lock().expect("not poisoned").clone();
    d.sort_by(f64::total_cmp);
    let got = received.load(Ordering::Relaxed);
    println!(
        "posted {sent} decisions in {elapsed:.1} s ({:.0}/s, batches of {batch}, {in_flight} posts in flight); {} bouncers polling every {poll_ms} ms received {got} ({:.1}% of {}), {:.0} decisions/s served; post ack -> bouncer p50 {:.0} ms, p99 {:.0} ms",
        sent as f64 / elapsed,
        keys.len(),
        got as f64 * 100.0 / (sent * keys.len() as u64) as f64,
        sent * keys.len() as u64,
        got as f64 / elapsed,
        quantile(&d, 0.5),
        quantile(&d, 0.99),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let keys: Vec<String> = std::fs::read_to_string(&args.keys)
        .context("bouncer keys")?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    anyhow::ensure!(
        !keys.is_empty(),
        "no bouncer keys in {}",
        args.keys.display()
    );
    match &args.mode {
        Mode::Latency { waves } => latency(&args, &keys[0], *waves).await,
        Mode::Stream {
            rate,
            seconds,
            batch,
            bouncers,
            poll_ms,
            in_flight,
        } => {
            let n = (*bouncers).min(keys.len());
            let in_flight = (*in_flight).max(1);
            serve_rate(
                &args,
                &keys[..n],
                *rate,
                *seconds,
                *batch,
                *poll_ms,
                in_flight,
            )
            .await
        }
    }
}
