//! Age verification wired in: the `[identity]` section, the one [`AgeGate`] behind
//! `POST /v1/identity/challenge`, `POST /v1/identity/verify` and the gateway's checkout age
//! gates ([`check_and_record`]), and the task that keeps the issuers' status lists fresh (from
//! HTTP or files).

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ensuresec_identity::gate::{AgeGate, GateConfig};
use ensuresec_identity::{Jwk, Limits, TrustedIssuers, VerifyingKey};
use ensuresec_model::Clock;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ledger::{LedgerError, RecordKind};
use crate::platform::Platform;

/// Metric: presentations checked, by `outcome` (`accepted` or the refusal reason).
pub const VERIFIED_METRIC: &str = "ensuresec_identity_verifications_total";

/// Metric: status list refreshes, by `outcome` (`ok`, `failed`).
pub const STATUS_REFRESH_METRIC: &str = "ensuresec_identity_status_refresh_total";

/// `[identity]`: privacy-preserving age verification (docs/identity.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Serve the identity endpoints (needs at least one trusted issuer).
    pub enabled: bool,
    /// This verifier's identifier (the OpenID4VP `client_id`; the start of every KB-JWT
    /// audience).
    pub verifier_id: String,
    /// Issuer metadata files trusted (`{"issuer": …, "jwks": {"keys": […]}}`, as written by
    /// `ensuresec identity issuer init` or served at `/.well-known/jwt-vc-issuer`).
    pub trusted_issuers: Vec<PathBuf>,
    /// Status list tokens to fetch: `https://…`/`http://…` URLs or file paths.
    pub status_lists: Vec<String>,
    /// How often the status lists are fetched again, in seconds.
    pub status_refresh_seconds: u64,
    /// The age the gate proves.
    pub min_age: u8,
    /// Seconds a challenge (nonce) stays valid.
    pub nonce_ttl_seconds: u32,
    /// Outstanding challenges kept at most.
    pub max_challenges: usize,
    /// Largest request body, in bytes (bounds the presentation).
    pub max_body_bytes: usize,
    /// Answer a verification only once its audit record is durable (the default). `false`
    /// answers as soon as the record is queued — it is durable within milliseconds, at the
    /// audit log's next group commit, and a crash in that window loses it — for shops whose
    /// checkout latency budget is smaller than this machine's `fdatasync`.
    pub audit_wait: bool,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            enabled: false,
            verifier_id: "https://shop.example".into(),
            trusted_issuers: Vec::new(),
            status_lists: Vec::new(),
            status_refresh_seconds: 300,
            min_age: 18,
            nonce_ttl_seconds: 300,
            max_challenges: 100_000,
            max_body_bytes: Limits::default().max_bytes + 1024,
            audit_wait: true,
        }
    }
}

/// The issuer metadata file's layout.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks: Jwks,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

impl IdentityConfig {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.enabled && self.trusted_issuers.is_empty() {
            return Err((
                "identity.trusted_issuers",
                "name at least one issuer metadata file when enabled".into(),
            ));
        }
        if self.nonce_ttl_seconds == 0
            || self.max_challenges == 0
            || self.status_refresh_seconds == 0
        {
            return Err((
                "identity.nonce_ttl_seconds",
                "nonce_ttl_seconds, max_challenges and status_refresh_seconds must be positive"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The gate, unless disabled; reads the trusted issuers' metadata.
    pub fn gate(&self) -> Result<Option<Arc<AgeGate>>, String> {
        if !self.enabled {
            return Ok(None);
        }
        let mut trusted = TrustedIssuers::default();
        for path in &self.trusted_issuers {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let metadata: Metadata =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            for jwk in &metadata.jwks.keys {
                let key =
                    VerifyingKey::from_jwk(jwk).map_err(|e| format!("{}: {e}", path.display()))?;
                trusted.add(&metadata.issuer, key);
            }
        }
        let limits = Limits {
            max_bytes: self.max_body_bytes,
            ..Limits::default()
        };
        let config = GateConfig {
            verifier_id: self.verifier_id.clone(),
            nonce_ttl_secs: i64::from(self.nonce_ttl_seconds),
            max_challenges: self.max_challenges,
            limits,
        };
        Ok(Some(Arc::new(AgeGate::new(config, trusted))))
    }
}

/// Reads a status list token from a URL or a file.
async fn fetch(client: &reqwest::Client, source: &str) -> Result<String, String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        let response = client.get(source).send().await.map_err(|e| e.to_string())?;
        let response = response.error_for_status().map_err(|e| e.to_string())?;
        response.text().await.map_err(|e| e.to_string())
    } else {
        tokio::fs::read_to_string(source)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Fetches every configured status list once into the gate; returns how many were accepted.
pub async fn refresh_status_lists(
    gate: &AgeGate,
    sources: &[String],
    client: &reqwest::Client,
    clock: &dyn Clock,
) -> usize {
    let mut accepted = 0;
    for source in sources {
        let outcome = match fetch(client, source).await {
            Ok(token) => gate
                .accept_status_list(&token, clock.now().timestamp())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(uri) => {
                accepted += 1;
                tracing::debug!(%source, %uri, "status list refreshed");
                metrics::counter!(STATUS_REFRESH_METRIC, "outcome" => "ok").increment(1);
            }
            Err(error) => {
                // Credentials pointing at a list never fetched are refused (fail closed).
                tracing::warn!(%source, %error, "status list not refreshed");
                metrics::counter!(STATUS_REFRESH_METRIC, "outcome" => "failed").increment(1);
            }
        }
    }
    accepted
}

/// Refreshes the status lists every `every` until the gate is dropped.
pub async fn run_status_refresher(
    gate: Weak<AgeGate>,
    sources: Vec<String>,
    every: Duration,
    clock: Arc<dyn Clock>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let Some(gate) = gate.upgrade() else { return };
        refresh_status_lists(&gate, &sources, &client, clock.as_ref()).await;
    }
}

/// One presentation checked by the platform's gate: the predicate and the order, or why not.
/// Nothing the wallet disclosed is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeCheck {
    /// The holder is at least `min_age` and the presentation answered the challenge of
    /// `order_id`.
    Accepted {
        /// The order the presentation was bound to.
        order_id: String,
        /// The credential's issuer.
        issuer: String,
        /// The age proven.
        min_age: u8,
    },
    /// Refused; `code` names the check that failed (the gate's reasons, e.g. `replayed_nonce`).
    Refused {
        /// A stable code for the failed check.
        code: &'static str,
        /// The same in words.
        message: String,
        /// The age asked for.
        min_age: u8,
    },
}

/// Checks `presentation` with `gate`, counts the outcome and records it in the audit log (when
/// enabled; durably before answering unless `audit_wait = false`) — the one path for every verification, whether it came through
/// `POST /v1/identity/verify` or a checkout at the gateway, so both leave the same trace.
///
/// # Errors
/// The audit log refused the record (the check is then not acknowledged).
pub async fn check_and_record(
    platform: &Platform,
    gate: &AgeGate,
    presentation: &str,
) -> Result<AgeCheck, LedgerError> {
    let min_age = platform.config().identity.min_age;
    let now = platform.clock().now().timestamp();
    let (check, record) = match gate.check(presentation, min_age, now) {
        Ok(proof) => (
            AgeCheck::Accepted {
                order_id: proof.order_id.clone(),
                issuer: proof.issuer.clone(),
                min_age,
            },
            json!({"outcome": "accepted", "order_id": proof.order_id, "issuer": proof.issuer, "min_age": min_age}),
        ),
        Err(e) => (
            AgeCheck::Refused {
                code: e.reason(),
                message: e.to_string(),
                min_age,
            },
            json!({"outcome": "refused", "reason": e.reason(), "min_age": min_age}),
        ),
    };
    let label = match &check {
        AgeCheck::Accepted { .. } => "accepted",
        AgeCheck::Refused { code, .. } => code,
    };
    metrics::counter!(VERIFIED_METRIC, "outcome" => label).increment(1);
    if let Some(ledger) = platform.ledger() {
        if platform.config().identity.audit_wait {
            ledger.record(RecordKind::AgeVerification, &record).await?;
        } else {
            ledger.record_queued(RecordKind::AgeVerification, &record)?;
        }
    }
    Ok(check)
}
