//! The link to `ensuresec serve`: one HTTP client (with the serve's private CA if configured),
//! and the background tasks that use it — the event sender, the decision poller and the
//! fail-safe poller.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ServeLink;
use crate::enforce::Decisions;
use crate::error::GatewayError;
use crate::events::{self, EventSink};
use crate::failsafe::Switch;

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

/// Starts the tasks for `link`; returns the event sink.
pub fn start(
    link: &ServeLink,
    decisions: &Arc<Decisions>,
    switch: &Arc<Switch>,
) -> Result<EventSink, GatewayError> {
    let client = client(link)?;
    let base = link.url.trim_end_matches('/').to_string();
    let every = Duration::from_millis(link.poll_interval_ms);
    if let Some(key) = &link.bouncer_key {
        tokio::spawn(Arc::clone(decisions).poll(client.clone(), base.clone(), key.clone(), every));
    } else {
        tracing::warn!("no gateway.serve.bouncer_key: decisions are not enforced");
    }
    tokio::spawn(Arc::clone(switch).poll(client.clone(), base.clone(), link.token.clone(), every));
    Ok(events::start(
        events::Target {
            client,
            url: format!("{base}/v1/events"),
            token: link.token.clone(),
        },
        link.max_batch_events,
        Duration::from_millis(link.flush_interval_ms),
    ))
}
