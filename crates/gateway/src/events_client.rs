//! A client for a serve's `POST /v1/events`, shared by the gateway's link and the `ingest` and
//! `simulate` commands: bearer token, NDJSON batches, retries with back-off when the serve is
//! busy or restarting. Every batch carries an `Idempotency-Key`, the same on each retry, so that
//! a batch whose answer was lost (a timeout, a dropped connection, a proxy's 504) is not stored
//! twice when it is sent again: a random key, or one made from the batch's lines, so that the
//! same lines sent again by a later run are not stored twice either.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// Why a batch was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The serve refused the batch (bad line, too large, bad token): retrying will not help.
    #[error("server refused the batch ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The serve's message.
        message: String,
        /// Line within the batch, if the serve named one.
        line: Option<usize>,
    },
    /// The serve could not be reached or stayed unavailable.
    #[error("server unavailable: {0}")]
    Unavailable(String),
}

/// Attempts per batch before it is given up.
const ATTEMPTS: u32 = 6;
/// The wait after the first failed attempt; it doubles after each (6.2 s in all).
const FIRST_WAIT: Duration = Duration::from_millis(200);

/// What the serve answered for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    /// Events in the batch.
    pub events: u64,
    /// Whether the serve had stored the batch before, under the same key, and did not store it
    /// again (`Idempotent-Replayed`).
    pub before: bool,
}

/// Posts batches to one serve.
#[derive(Debug, Clone)]
pub struct EventsClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl EventsClient {
    /// A client for the serve at `server` (e.g. `https://ensuresec.example:8080`) using
    /// `token`, sending through `http` (which carries the timeout and the trusted roots).
    pub fn new(http: reqwest::Client, server: &str, token: String) -> EventsClient {
        EventsClient {
            http,
            url: format!("{}/v1/events", server.trim_end_matches('/')),
            token,
        }
    }

    /// Sends one NDJSON batch under a random key of its own.
    pub async fn post(&self, body: Vec<u8>) -> Result<Posted, PostError> {
        let key = random_key()?;
        self.post_under(body, key).await
    }

    /// Sends one NDJSON batch under a key made from its bytes (their SHA-256): the same lines
    /// sent again, by this run or a later one, are stored once.
    pub async fn post_by_content(&self, body: Vec<u8>) -> Result<Posted, PostError> {
        let key = hex::encode(Sha256::digest(&body));
        self.post_under(body, key).await
    }

    async fn post_under(&self, body: Vec<u8>, key: String) -> Result<Posted, PostError> {
        // Cheap to clone for retries: one shared buffer.
        let body = bytes::Bytes::from(body);
        let mut wait = FIRST_WAIT;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
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
                    let before = resp
                        .headers()
                        .get("idempotent-replayed")
                        .is_some_and(|v| v == "true");
                    let value: serde_json::Value = resp
                        .json()
                        .await
                        .map_err(|e| PostError::Unavailable(e.to_string()))?;
                    return Ok(Posted {
                        events: value["accepted"].as_u64().unwrap_or(0),
                        before,
                    });
                }
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS =>
                {
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
            if attempt < ATTEMPTS {
                // Back-off between retries of a busy or restarting serve.
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(PostError::Unavailable(last))
    }
}

/// A new key for one batch: 128 random bits, so that no two batches of any client share one.
fn random_key() -> Result<String, PostError> {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits).map_err(|e| PostError::Unavailable(format!("random key: {e}")))?;
    Ok(hex::encode(bits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};

    /// A serve stand-in: answers the n-th request with `answers[n]` (the last one from then
    /// on) and records each request's key.
    struct StandIn {
        keys: Mutex<Vec<String>>,
        answers: Vec<(StatusCode, &'static str)>,
    }

    async fn answer(
        State(stand_in): State<Arc<StandIn>>,
        headers: HeaderMap,
    ) -> (StatusCode, &'static str) {
        let mut keys = stand_in.keys.lock().unwrap();
        keys.push(headers["idempotency-key"].to_str().unwrap().to_string());
        let answers = &stand_in.answers;
        answers[(keys.len() - 1).min(answers.len() - 1)]
    }

    /// Starts a stand-in on 127.0.0.1:0; its base URL and the keys it will see.
    async fn serve(answers: Vec<(StatusCode, &'static str)>) -> (String, Arc<StandIn>) {
        let stand_in = Arc::new(StandIn {
            keys: Mutex::default(),
            answers,
        });
        let app = axum::Router::new()
            .route("/v1/events", axum::routing::post(answer))
            .with_state(Arc::clone(&stand_in));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, stand_in)
    }

    fn client(base: &str) -> EventsClient {
        EventsClient::new(reqwest::Client::new(), base, "token".into())
    }

    #[tokio::test]
    async fn a_batch_is_sent_again_under_its_key_until_the_serve_takes_it() {
        let (base, stand_in) = serve(vec![
            (StatusCode::SERVICE_UNAVAILABLE, "{}"),
            (StatusCode::GATEWAY_TIMEOUT, ""),
            (
                StatusCode::OK,
                r#"{"accepted":2,"first_seq":1,"last_seq":2}"#,
            ),
        ])
        .await;
        let client = client(&base);
        let posted = client.post(b"a\nb\n".to_vec()).await.unwrap();
        assert_eq!(
            posted,
            Posted {
                events: 2,
                before: false
            }
        );
        let sent = stand_in.keys.lock().unwrap().clone();
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert!(
            sent.iter().all(|k| k == &sent[0] && k.len() == 32),
            "{sent:?}"
        );
        client.post(b"c\n".to_vec()).await.unwrap();
        let sent = stand_in.keys.lock().unwrap().clone();
        assert_ne!(sent[3], sent[0], "another batch has another key");
    }

    #[tokio::test]
    async fn a_key_made_from_the_lines_is_the_same_for_the_same_lines() {
        let (base, stand_in) = serve(vec![(
            StatusCode::OK,
            r#"{"accepted":1,"first_seq":1,"last_seq":1}"#,
        )])
        .await;
        let client = client(&base);
        for body in [&b"a\n"[..], b"a\n", b"b\n"] {
            client.post_by_content(body.to_vec()).await.unwrap();
        }
        let sent = stand_in.keys.lock().unwrap().clone();
        assert_eq!(sent[0], sent[1], "{sent:?}");
        assert_ne!(sent[1], sent[2], "{sent:?}");
        assert_eq!(sent[0], hex::encode(Sha256::digest(b"a\n")));
    }

    #[tokio::test]
    async fn a_refused_batch_is_not_sent_again_and_its_line_is_named() {
        let (base, stand_in) = serve(vec![(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"invalid_event","message":"line 2: bad","line":2}}"#,
        )])
        .await;
        match client(&base).post(b"a\nb\n".to_vec()).await {
            Err(PostError::Refused { status, line, .. }) => {
                assert_eq!((status, line), (400, Some(2)));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(stand_in.keys.lock().unwrap().len(), 1, "a refusal is final");
    }
}
