//! Running health probes: HTTP status and body, TCP connect, heartbeat freshness. Each probe
//! yields an observation; an asset with several probes is faulty when any of them fails.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Check, HeartbeatCheck, HttpCheck, ProbeSpec, TcpCheck};
use crate::observation::{Health, Observation};

/// Most body bytes read for a `body_contains` check.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Last event time per heartbeat source (a sensor, a partner).
pub type Heartbeats = HashMap<String, DateTime<Utc>>;

/// Runs probes; holds the HTTP client so connections are reused between rounds.
#[derive(Debug, Clone)]
pub struct Prober {
    client: reqwest::Client,
}

impl Default for Prober {
    fn default() -> Self {
        Prober::new()
    }
}

impl Prober {
    /// A prober that does not follow redirects (a redirect is an answer to check, not to
    /// chase).
    pub fn new() -> Prober {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client without custom TLS roots builds");
        Prober { client }
    }

    /// Runs one probe; `now` stamps the observation and judges heartbeats.
    pub async fn run(
        &self,
        probe: &ProbeSpec,
        heartbeats: &Heartbeats,
        now: DateTime<Utc>,
    ) -> Observation {
        let timeout = Duration::from_millis(probe.timeout_ms);
        let (source, (health, detail)) = match &probe.check {
            Check::Http(h) => ("probe:http", self.http(h, timeout).await),
            Check::Tcp(t) => ("probe:tcp", tcp(t, timeout).await),
            Check::Heartbeat(b) => ("probe:heartbeat", heartbeat(b, heartbeats, now)),
        };
        Observation {
            asset: probe.asset.clone(),
            health,
            at: now,
            source: source.to_string(),
            detail,
        }
    }

    /// Runs every probe concurrently and folds them into one observation per asset.
    pub async fn run_all(
        &self,
        probes: &[ProbeSpec],
        heartbeats: &Heartbeats,
        now: DateTime<Utc>,
    ) -> Vec<Observation> {
        let runs = probes.iter().map(|p| self.run(p, heartbeats, now));
        fold(futures::future::join_all(runs).await)
    }

    async fn http(&self, check: &HttpCheck, timeout: Duration) -> (Health, String) {
        let fetch = async {
            let response = self.client.get(&check.url).send().await?;
            let status = response.status().as_u16();
            let body = match &check.body_contains {
                Some(_) => Some(read_limited(response).await?),
                None => None,
            };
            Ok::<_, reqwest::Error>((status, body))
        };
        match tokio::time::timeout(timeout, fetch).await {
            Err(_) => (
                Health::Faulty,
                format!("no answer within {} ms", timeout.as_millis()),
            ),
            Ok(Err(e)) => (Health::Faulty, format!("request failed: {}", plain(&e))),
            Ok(Ok((status, _))) if status != check.expect_status => (
                Health::Faulty,
                format!("status {status}, expected {}", check.expect_status),
            ),
            Ok(Ok((status, Some(body)))) => {
                let want = check.body_contains.as_deref().unwrap_or_default();
                if body.contains(want) {
                    (Health::Ok, format!("status {status}, body has `{want}`"))
                } else {
                    (
                        Health::Faulty,
                        format!("status {status} but the body lacks `{want}`"),
                    )
                }
            }
            Ok(Ok((status, None))) => (Health::Ok, format!("status {status}")),
        }
    }
}

/// The error without the URL's query (which may carry a token).
fn plain(e: &reqwest::Error) -> String {
    let mut text = String::from(if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "error"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn read_limited(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

async fn tcp(check: &TcpCheck, timeout: Duration) -> (Health, String) {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&check.address)).await {
        Err(_) => (
            Health::Faulty,
            format!(
                "connect to {} timed out after {} ms",
                check.address,
                timeout.as_millis()
            ),
        ),
        Ok(Err(e)) => (
            Health::Faulty,
            format!("connect to {} failed: {e}", check.address),
        ),
        Ok(Ok(_)) => (Health::Ok, format!("{} accepts connections", check.address)),
    }
}

fn heartbeat(
    check: &HeartbeatCheck,
    heartbeats: &Heartbeats,
    now: DateTime<Utc>,
) -> (Health, String) {
    let Some(&last) = heartbeats.get(&check.source) else {
        return (
            Health::Faulty,
            format!("no event from `{}` on record", check.source),
        );
    };
    let age = (now - last).num_seconds();
    let max = i64::try_from(check.max_age_seconds).unwrap_or(i64::MAX);
    if age > max {
        (
            Health::Faulty,
            format!(
                "last event from `{}` is {age} s old (limit {max} s)",
                check.source
            ),
        )
    } else {
        (
            Health::Ok,
            format!("last event from `{}` {age} s ago", check.source),
        )
    }
}

/// One observation per asset: faulty if any probe failed (with every failure's evidence),
/// otherwise OK if any probe passed, otherwise unknown.
pub fn fold(observations: Vec<Observation>) -> Vec<Observation> {
    let mut by_asset: Vec<Observation> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for o in observations {
        match position.get(&o.asset) {
            None => {
                position.insert(o.asset.clone(), by_asset.len());
                by_asset.push(o);
            }
            Some(&at) => {
                let b = &mut by_asset[at];
                let rank = |h: Health| match h {
                    Health::Faulty => 2,
                    Health::Ok => 1,
                    Health::Unknown => 0,
                };
                if rank(o.health) > rank(b.health) {
                    *b = o;
                } else if o.health == Health::Faulty && b.health == Health::Faulty {
                    b.detail = format!("{}; {}", b.detail, o.detail);
                }
            }
        }
    }
    by_asset
}
