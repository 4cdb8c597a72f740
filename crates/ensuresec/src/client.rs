//! A small client for `POST /v1/events`, shared by `ingest` and `simulate`: bearer token, NDJSON
//! batches, retries with back-off when the server is busy or restarting. Every batch carries an
//! `Idempotency-Key` of its own, the same on each retry, so that a batch whose answer was lost
//! (a timeout, a dropped connection) is not stored twice when it is sent again.

use std::time::Duration;

use anyhow::Context;

/// Why a batch was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The server refused the batch (bad line, too large, bad token): retrying will not help.
    #[error("server refused the batch ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// Line within the batch, if the server named one.
        line: Option<usize>,
    },
    /// The server could not be reached or stayed unavailable.
    #[error("server unavailable: {0}")]
    Unavailable(String),
}

/// Posts batches to one server.
#[derive(Clone)]
pub struct EventsClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

const RETRIES: u32 = 6;

impl EventsClient {
    /// A client for `server` (e.g. `https://ensuresec.example:8080`) using `token`, trusting
    /// `ca_cert` (PEM) in addition to the usual roots.
    pub fn new(
        server: &str,
        token: String,
        ca_cert: Option<&std::path::Path>,
    ) -> anyhow::Result<EventsClient> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(120));
        if let Some(path) = ca_cert {
            builder = builder.add_root_certificate(crate::tls::client_root(path)?);
        }
        let http = builder.build().context("http client")?;
        Ok(EventsClient {
            http,
            url: format!("{}/v1/events", server.trim_end_matches('/')),
            token,
        })
    }

    /// Sends one NDJSON batch; returns the number of events accepted.
    pub async fn post(&self, body: Vec<u8>) -> Result<u64, PostError> {
        // Cheap to clone for retries: one shared buffer.
        let body = bytes::Bytes::from(body);
        let key = batch_key()?;
        let mut delay = Duration::from_millis(200);
        let mut last = String::new();
        for _ in 0..RETRIES {
            let sent = self
                .http
                .post(&self.url)
                .bearer_auth(&self.token)
                .header("content-type", "application/x-ndjson")
                .header("idempotency-key", &key)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => {
                    let value: serde_json::Value = resp
                        .json()
                        .await
                        .map_err(|e| PostError::Unavailable(e.to_string()))?;
                    return Ok(value["accepted"].as_u64().unwrap_or(0));
                }
                Ok(resp) if resp.status().is_server_error() => {
                    last = format!("status {}", resp.status());
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let value: serde_json::Value = resp.json().await.unwrap_or_default();
                    return Err(PostError::Refused {
                        status,
                        message: value["error"]["message"]
                            .as_str()
                            .unwrap_or("no message")
                            .to_string(),
                        line: value["error"]["line"].as_u64().map(|l| l as usize),
                    });
                }
                Err(e) => last = e.to_string(),
            }
            // Back-off between retries of a busy or restarting server.
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(PostError::Unavailable(last))
    }
}

/// A new key for one batch: 128 random bits, so that no two batches of any client share one.
fn batch_key() -> Result<String, PostError> {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits).map_err(|e| PostError::Unavailable(format!("random key: {e}")))?;
    Ok(hex::encode(bits))
}
