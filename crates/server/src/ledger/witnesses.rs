//! The log's side of the C2SP tlog-witness protocol: each new checkpoint goes to every configured
//! witness with a consistency proof from the size that witness last cosigned; a 409 answer
//! tells that size and the request is retried once from it. Cosignatures are verified against
//! the witness's configured key before they are kept.

use schemars::JsonSchema;
use std::sync::Arc;
use std::time::Duration;

use ensuresec_auditlog::LogReader;
use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::note::{Note, NoteSignature, NoteVerifier, parse_verifier_key};
use ensuresec_auditlog::witness::AddCheckpoint;
use tokio::sync::Mutex;

use super::{LedgerConfig, LedgerError};

/// Largest witness response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// One configured witness and what the log believes it last cosigned.
struct Remote {
    url: String,
    verifier: Arc<dyn NoteVerifier>,
    known_size: Mutex<u64>,
}

/// What a witness said about one checkpoint.
#[derive(Debug, Clone, serde::Serialize, JsonSchema)]
pub struct WitnessOutcome {
    /// The witness URL.
    pub url: String,
    /// Its key name.
    pub name: String,
    /// Whether a valid cosignature came back.
    pub cosigned: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The configured witnesses.
pub struct Witnesses {
    remotes: Vec<Remote>,
    http: reqwest::Client,
}

impl Witnesses {
    /// Witnesses from the configuration.
    pub fn new(config: &LedgerConfig) -> Result<Self, LedgerError> {
        let mut remotes = Vec::new();
        for w in &config.witnesses {
            let verifier = parse_verifier_key(&w.vkey)
                .map_err(|e| LedgerError::Key(format!("witness {}: {e}", w.url)))?;
            remotes.push(Remote {
                url: w.url.trim_end_matches('/').to_owned(),
                verifier,
                known_size: Mutex::new(0),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.witness_timeout_seconds))
            .build()
            .map_err(|e| LedgerError::Key(format!("witness client: {e}")))?;
        Ok(Self { remotes, http })
    }

    /// The witnesses' verifiers.
    pub fn verifiers(&self) -> Vec<Arc<dyn NoteVerifier>> {
        self.remotes.iter().map(|r| r.verifier.clone()).collect()
    }

    /// Whether any witness is configured.
    pub fn is_empty(&self) -> bool {
        self.remotes.is_empty()
    }

    /// Sends the checkpoint to every witness (concurrently) and returns the valid cosignatures
    /// and each witness's outcome.
    pub async fn collect(
        &self,
        reader: &LogReader,
        note: &Note,
    ) -> (Vec<NoteSignature>, Vec<WitnessOutcome>) {
        let futures = self.remotes.iter().map(|r| async move {
            let result = r.request(&self.http, reader, note).await;
            (r, result)
        });
        let mut sigs = Vec::new();
        let mut outcomes = Vec::new();
        for (r, result) in futures::future::join_all(futures).await {
            let name = r.verifier.name().to_owned();
            match result {
                Ok(sig) => {
                    sigs.push(sig);
                    outcomes.push(WitnessOutcome {
                        url: r.url.clone(),
                        name,
                        cosigned: true,
                        error: None,
                    });
                }
                Err(e) => {
                    tracing::error!(witness = %r.url, error = %e, "witness did not cosign the checkpoint");
                    outcomes.push(WitnessOutcome {
                        url: r.url.clone(),
                        name,
                        cosigned: false,
                        error: Some(e),
                    });
                }
            }
        }
        (sigs, outcomes)
    }
}

impl Remote {
    async fn request(
        &self,
        http: &reqwest::Client,
        reader: &LogReader,
        note: &Note,
    ) -> Result<NoteSignature, String> {
        let cp = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        let mut known = self.known_size.lock().await;
        for _attempt in 0..2 {
            let old = if *known > cp.size { 0 } else { *known };
            let proof = if old == 0 || old == cp.size {
                Vec::new()
            } else {
                reader
                    .consistency_proof(old, cp.size)
                    .map_err(|e| e.to_string())?
            };
            // The witness must see the log's own signature only.
            let body = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: note.to_string().into_bytes(),
            }
            .to_body();
            let resp = http
                .post(format!("{}/add-checkpoint", self.url))
                .body(body)
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            if bytes.len() > MAX_RESPONSE_BYTES {
                return Err("answer too large".into());
            }
            let text = String::from_utf8_lossy(&bytes);
            match status {
                200 => {
                    for line in text.lines() {
                        if let Some(sig) = NoteSignature::parse_line(line)
                            && sig.name == self.verifier.name()
                            && sig.key_id == self.verifier.key_id()
                        {
                            if !self.verifier.verify(note.text.as_bytes(), &sig.signature) {
                                return Err("cosignature does not verify".into());
                            }
                            *known = cp.size;
                            return Ok(sig);
                        }
                    }
                    return Err("answer holds no cosignature by the configured key".into());
                }
                409 => {
                    let size: u64 = text
                        .trim()
                        .parse()
                        .map_err(|_| format!("409 without a size: {text:?}"))?;
                    if size > cp.size {
                        return Err(format!(
                            "witness has cosigned size {size}, larger than this log's {}: rollback or fork",
                            cp.size
                        ));
                    }
                    *known = size;
                }
                other => {
                    return Err(format!(
                        "witness refused with {other}: {}",
                        text.chars().take(200).collect::<String>()
                    ));
                }
            }
        }
        Err("witness kept answering 409".into())
    }
}
