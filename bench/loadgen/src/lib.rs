//! What the load drivers share.

/// The `q` quantile of `sorted` (ascending), nearest rank; `NaN` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// What an open-loop run measured.
pub struct OpenLoop {
    /// Latencies of the measured (post warm-up) successful requests, in milliseconds, sorted.
    pub latencies: Vec<f64>,
    /// Measured requests that failed or were not answered with a success.
    pub failures: usize,
    /// Why the first of them failed (the error with its causes, or the status), so that a run
    /// of failures says what to fix.
    pub first_failure: Option<String>,
    /// Seconds from the first measured request being due to the end.
    pub elapsed: f64,
}

/// Posts `bodies[i]` to `url` when it is due (`start + i / rate`) over `connections` keep-alive
/// connections. A request whose connection was still busy when it fell due is timed from when
/// it was due, not from when the connection got round to sending it, so that a slow answer
/// counts against the requests queued behind it (no coordinated omission). A request whose
/// connection was free is timed from when it is sent: the timer that wakes the sender has a
/// resolution of a millisecond, and that lateness is the driver's, not the server's. The first
/// `warm` requests are not counted.
pub async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: std::sync::Arc<Vec<bytes::Bytes>>,
    rate: f64,
    warm: usize,
    connections: usize,
) -> anyhow::Result<OpenLoop> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(200);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, token, bodies, next) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            let mut first_failure = None;
            // When this connection finished its previous request.
            let mut free_at = start;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let due = start + interval * i as u32;
                tokio::time::sleep_until(due.into()).await;
                let origin = if free_at > due { due } else { Instant::now() };
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await;
                let outcome = match r {
                    Ok(r) if !r.status().is_success() => Err(format!("status {}", r.status())),
                    Ok(r) => r.bytes().await.map(drop).map_err(|e| format!("{e:#}")),
                    Err(e) => Err(format!("{:#}", anyhow::Error::from(e))),
                };
                free_at = Instant::now();
                if i >= warm {
                    match outcome {
                        Ok(()) => latencies.push((free_at - origin).as_secs_f64() * 1e3),
                        Err(why) => {
                            failures += 1;
                            first_failure.get_or_insert(why);
                        }
                    }
                }
            }
            (latencies, failures, first_failure)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut first_failure = None;
    for t in tasks {
        let (l, f, why) = t.await?;
        latencies.extend(l);
        failures += f;
        first_failure = first_failure.or(why);
    }
    let elapsed = start.elapsed().as_secs_f64() - warm as f64 / rate;
    latencies.sort_by(f64::total_cmp);
    Ok(OpenLoop {
        latencies,
        failures,
        first_failure,
        elapsed,
    })
}

impl OpenLoop {
    /// Prints the counts, the achieved rate, the latency quantiles and why the first failure
    /// failed.
    pub fn print(&self, what: &str, warm: usize, rate: f64) {
        let all = &self.latencies;
        println!(
            "{what}: {} measured ({} warm-up), failures: {}, target rate {:.0}/s, achieved {:.0}/s",
            all.len(),
            warm,
            self.failures,
            rate,
            all.len() as f64 / self.elapsed
        );
        println!(
            "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            quantile(all, 0.50),
            quantile(all, 0.90),
            quantile(all, 0.99),
            quantile(all, 0.999),
            all.last().copied().unwrap_or(f64::NAN)
        );
        if let Some(why) = &self.first_failure {
            println!("first failure: {why}");
        }
    }
}
