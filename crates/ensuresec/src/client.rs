//! The client `ingest` and `simulate` post batches with: the gateway crate's `EventsClient`
//! (a key per batch, retries with back-off), over HTTPS that trusts a private CA when asked.

use std::time::Duration;

use anyhow::Context;
pub use ensuresec_gateway::events_client::{EventsClient, PostError, Posted};

/// A client for `server` (e.g. `https://ensuresec.example:8080`) using `token`, trusting
/// `ca_cert` (PEM) in addition to the usual roots.
pub fn events_client(
    server: &str,
    token: String,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<EventsClient> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(120));
    if let Some(path) = ca_cert {
        builder = builder.add_root_certificate(crate::tls::client_root(path)?);
    }
    let http = builder.build().context("http client")?;
    Ok(EventsClient::new(http, server, token))
}
