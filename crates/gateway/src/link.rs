//! The link to a separate `ensuresec serve` ([`Remote`]): one HTTP client (with the serve's
//! private CA if configured) and the background tasks that use it — the event sender, the
//! poller of the CrowdSec-compatible decision stream (`GET /v1/decisions/stream`, `X-Api-Key`)
//! and the poller of the fail-safe switch (`GET /v1/failsafe`) — and the checkout age gates'
//! verifier (`POST /v1/identity/verify`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ensuresec_model::event::Event;
use ensuresec_respond::decision::CsDecision;
use ensuresec_respond::failsafe::{FailSafe, FailSafeState, Verdict};
use serde::Deserialize;

use crate::age::{AgeAnswer, AgeFuture, AgeVerifier};
use crate::authority::Authority;
use crate::config::ServeLink;
use crate::enforce::{Decisions, Sanction, Subject};
use crate::error::GatewayError;
use crate::events::{self, Deliver, EventSink};
use crate::events_client::EventsClient;

/// A client for the serve.
pub fn client(link: &ServeLink) -> Result<reqwest::Client, GatewayError> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(path) = &link.ca_cert {
        let pem = std::fs::read(path).map_err(|source| GatewayError::Read {
            path: path.clone(),
            source,
        })?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| GatewayError::Client(format!("{}: {e}", path.display())))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| GatewayError::Client(e.to_string()))
}

/// A remote serve: decisions and the fail-safe position as last pulled, events posted, ages
/// verified by its `POST /v1/identity/verify`.
#[derive(Debug)]
pub struct Remote {
    decisions: Arc<Decisions>,
    switch: Arc<FailSafe>,
    events: EventSink,
    ages: RemoteAges,
}

/// The linked serve's identity gate over HTTP.
#[derive(Debug)]
struct RemoteAges {
    client: reqwest::Client,
    url: String,
    token: String,
}

/// The serve's answer to `POST /v1/identity/verify`: `order_id` when accepted, `error` when
/// refused.
#[derive(serde::Deserialize)]
struct VerifyAnswer {
    order_id: Option<String>,
    error: Option<VerifyError>,
}

#[derive(serde::Deserialize)]
struct VerifyError {
    code: String,
    message: String,
}

impl AgeVerifier for RemoteAges {
    fn verify<'a>(&'a self, presentation: &'a str) -> AgeFuture<'a> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(&self.token)
                .json(&serde_json::json!({ "presentation": presentation }))
                .send()
                .await
                .map_err(|e| format!("{}: {e}", self.url))?;
            let status = response.status();
            if !(status.is_success() || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY) {
                return Err(format!("{}: HTTP {status}", self.url));
            }
            let answer: VerifyAnswer = response
                .json()
                .await
                .map_err(|e| format!("{}: {e}", self.url))?;
            match (answer.order_id, answer.error) {
                (Some(order_id), None) if status.is_success() => {
                    Ok(AgeAnswer::Accepted { order_id })
                }
                (_, Some(e)) => Ok(AgeAnswer::Refused {
                    code: e.code,
                    message: e.message,
                }),
                _ => Err(format!(
                    "{}: an answer with neither order nor error",
                    self.url
                )),
            }
        })
    }
}

impl Remote {
    /// Starts the tasks for `link`. Must run inside a tokio runtime.
    pub fn start(link: &ServeLink) -> Result<Remote, GatewayError> {
        let client = client(link)?;
        let base = link.url.trim_end_matches('/').to_string();
        let every = Duration::from_millis(link.poll_interval_ms);
        let decisions = Arc::new(Decisions::default());
        let switch = Arc::new(FailSafe::default());
        if let Some(key) = &link.bouncer_key {
            tokio::spawn(poll_decisions(
                Arc::clone(&decisions),
                client.clone(),
                base.clone(),
                key.clone(),
                every,
            ));
        } else {
            tracing::warn!("no gateway.serve.bouncer_key: decisions are not enforced");
        }
        tokio::spawn(poll_failsafe(
            Arc::clone(&switch),
            client.clone(),
            base.clone(),
            link.token.clone(),
            every,
        ));
        let ages = RemoteAges {
            client: client.clone(),
            url: format!("{base}/v1/identity/verify"),
            token: link.token.clone(),
        };
        let events = events::start(
            Post(EventsClient::new(client, &base, link.token.clone())),
            link.max_batch_events,
            Duration::from_millis(link.flush_interval_ms),
        );
        Ok(Remote {
            decisions,
            switch,
            events,
            ages,
        })
    }
}

impl Authority for Remote {
    fn sanction(&self, who: &Subject<'_>) -> Option<Sanction> {
        self.decisions.lookup(who)
    }

    fn failsafe(&self, group: &str, write: bool) -> Verdict {
        self.switch.verdict(group, write)
    }

    fn report(&self, event: Event) {
        self.events.send(event);
    }

    fn age_verifier(&self) -> Option<&dyn AgeVerifier> {
        Some(&self.ages)
    }
}

/// Batches posted as NDJSON to the serve's `POST /v1/events`, each under its own key and sent
/// again while the serve is busy or restarting, so that a short restart loses no batch and a lost
/// answer stores none twice.
struct Post(EventsClient);

impl Deliver for Post {
    async fn deliver(&self, batch: Vec<Event>) -> Result<(), String> {
        let mut body = Vec::with_capacity(batch.len() * 256);
        for e in &batch {
            if serde_json::to_writer(&mut body, e).is_ok() {
                body.push(b'\n');
            }
        }
        self.0.post(body).await.map(drop).map_err(|e| e.to_string())
    }
}

/// The stream's answer.
#[derive(Debug, Deserialize)]
struct StreamAnswer {
    new: Option<Vec<CsDecision>>,
    deleted: Option<Vec<CsDecision>>,
}

/// Polls the decision stream forever: the first pull asks for every active decision, later ones
/// for changes only. When the serve cannot be reached, the last known decisions stay in force.
async fn poll_decisions(
    decisions: Arc<Decisions>,
    client: reqwest::Client,
    base: String,
    key: String,
    every: Duration,
) {
    let mut known: HashMap<u64, CsDecision> = HashMap::new();
    let mut startup = true;
    let mut failing = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let url =
            format!("{base}/v1/decisions/stream?startup={startup}&scopes=ip,range,account,device");
        let answer = async {
            client
                .get(&url)
                .header("X-Api-Key", &key)
                .send()
                .await?
                .error_for_status()?
                .json::<StreamAnswer>()
                .await
        }
        .await;
        match answer {
            Ok(a) => {
                if failing {
                    tracing::info!("decision stream reachable again");
                    failing = false;
                }
                if startup {
                    known.clear();
                }
                startup = false;
                let mut changed = false;
                for d in a.deleted.unwrap_or_default() {
                    changed |= known.remove(&d.id).is_some();
                }
                for d in a.new.unwrap_or_default() {
                    known.insert(d.id, d);
                    changed = true;
                }
                if changed {
                    decisions.replace(known.values().filter_map(|d| {
                        Some((
                            d.kind.parse().ok()?,
                            d.scope.parse().ok()?,
                            d.value.as_str(),
                        ))
                    }));
                    tracing::debug!(active = known.len(), "decisions updated");
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot pull decisions; keeping the last known");
                    failing = true;
                }
            }
        }
    }
}

/// Polls the serve's fail-safe switch forever; keeps the last position when it cannot.
async fn poll_failsafe(
    switch: Arc<FailSafe>,
    client: reqwest::Client,
    base: String,
    token: String,
    every: Duration,
) {
    let mut failing = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let url = format!("{base}/v1/failsafe");
    loop {
        tick.tick().await;
        let answer = async {
            client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json::<FailSafeState>()
                .await
        }
        .await;
        match answer {
            Ok(state) => {
                failing = false;
                if let Err(e) = switch.set(state) {
                    tracing::warn!(error = %e, "the serve's fail-safe position is invalid");
                }
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot read the fail-safe switch; keeping the last position");
                failing = true;
            }
            Err(_) => {}
        }
    }
}
