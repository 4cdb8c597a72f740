//! Audit records: canonical JSON `{"kind":…,"record":{…},"time":…}` (keys sorted, no spaces),
//! and the pipeline [`Recorder`] that appends every batch of findings and stamps leaf indexes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use ensuresec_pipeline::{Recorder, RecorderError};
use ensuresec_store::Findings;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Ledger;

/// What a record is about; the `kind` field of every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A new alert.
    Alert,
    /// A new state of an incident.
    Incident,
    /// A response or lifecycle action.
    Action,
    /// An API token was created (name and scopes, never the secret).
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// The configuration the platform started with.
    Config,
    /// A dashboard user account was created (name, role, partner; never the password or hash).
    UserCreated,
    /// A dashboard user's role (or partner) changed.
    UserRoleChanged,
    /// A dashboard user's password was changed.
    UserPasswordChanged,
    /// A dashboard user account was removed.
    UserRemoved,
    /// A dashboard login: who, from where, and whether it succeeded or was locked out.
    Login,
    /// A decision was made (ban, throttle, challenge, review).
    Decision,
    /// A decision was revoked or lapsed.
    DecisionDeleted,
    /// A playbook step changed state (awaiting approval, approved, done, skipped, failed…).
    ResponseStep,
    /// A webhook or e-mail was delivered, dead-lettered or replayed.
    Delivery,
    /// The fail-safe switch moved.
    FailSafe,
    /// A file-integrity baseline was taken or a deploy accepted (generation, manifest hash,
    /// counts, reason).
    IntegrityBaseline,
    /// Files were restored to the integrity baseline (what was rewritten and quarantined).
    IntegrityRestore,
    /// A script on a monitored payment page was authorised (with its justification) or its
    /// authorisation revoked.
    IntegrityScriptAuthorization,
    /// A prevention certificate was issued (an API audit or a workflow check, signed).
    Certificate,
    /// An age verification at checkout: order, outcome, reason, issuer; never the claims.
    AgeVerification,
    /// A recovery plan was approved, one of its steps ran, or it finished.
    Recovery,
}

impl RecordKind {
    /// The `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Alert => "alert",
            RecordKind::Incident => "incident",
            RecordKind::Action => "action",
            RecordKind::TokenCreated => "token_created",
            RecordKind::TokenRevoked => "token_revoked",
            RecordKind::Config => "config",
            RecordKind::UserCreated => "user_created",
            RecordKind::UserRoleChanged => "user_role_changed",
            RecordKind::UserPasswordChanged => "user_password_changed",
            RecordKind::UserRemoved => "user_removed",
            RecordKind::Login => "login",
            RecordKind::Decision => "decision",
            RecordKind::DecisionDeleted => "decision_deleted",
            RecordKind::ResponseStep => "response_step",
            RecordKind::Delivery => "delivery",
            RecordKind::FailSafe => "failsafe",
            RecordKind::IntegrityBaseline => "integrity_baseline",
            RecordKind::IntegrityRestore => "integrity_restore",
            RecordKind::IntegrityScriptAuthorization => "integrity_script_authorization",
            RecordKind::Certificate => "certificate",
            RecordKind::AgeVerification => "age_verification",
            RecordKind::Recovery => "recovery",
        }
    }
}

/// Serialises `value` canonically: object keys sorted, no insignificant whitespace.
fn canonical_bytes(value: &Value) -> Vec<u8> {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sort(value)).unwrap_or_default()
}

/// The canonical entry for a record. A record whose entry would exceed `max_bytes` is replaced
/// by its SHA-256 and length (`record_sha256`, `record_bytes`), which still commit to it.
pub fn entry(
    kind: RecordKind,
    time: DateTime<Utc>,
    record: &impl Serialize,
    max_bytes: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    let record = serde_json::to_value(record)?;
    let time = time.to_rfc3339_opts(SecondsFormat::Millis, true);
    let full = canonical_bytes(&json!({ "kind": kind.as_str(), "time": time, "record": record }));
    if full.len() <= max_bytes {
        return Ok(full);
    }
    let body = canonical_bytes(&record);
    Ok(canonical_bytes(&json!({
        "kind": kind.as_str(),
        "time": time,
        "record_sha256": hex::encode(Sha256::digest(&body)),
        "record_bytes": body.len(),
    })))
}

/// The pipeline's recorder: one `append_many` per batch of findings, awaited until durable.
pub struct LedgerRecorder(pub Arc<Ledger>);

#[async_trait]
impl Recorder for LedgerRecorder {
    fn name(&self) -> &str {
        "ledger"
    }

    async fn record(&self, findings: &mut Findings) -> Result<(), RecorderError> {
        let err = |message: String| RecorderError {
            recorder: "ledger".into(),
            message,
        };
        let now = self.0.now();
        let max = self.0.max_entry_bytes();
        let mut entries = Vec::with_capacity(
            findings.alerts.len() + findings.incidents.len() + findings.actions.len(),
        );
        for a in &findings.alerts {
            entries.push(entry(RecordKind::Alert, now, a, max).map_err(|e| err(e.to_string()))?);
        }
        for i in &findings.incidents {
            entries.push(entry(RecordKind::Incident, now, i, max).map_err(|e| err(e.to_string()))?);
        }
        for a in &findings.actions {
            entries.push(entry(RecordKind::Action, now, a, max).map_err(|e| err(e.to_string()))?);
        }
        if entries.is_empty() {
            return Ok(());
        }
        let indexes = self
            .0
            .append(entries)
            .await
            .map_err(|e| err(e.to_string()))?;
        let mut next = indexes.into_iter();
        for a in &mut findings.alerts {
            a.ledger_index = next.next();
        }
        for i in &mut findings.incidents {
            i.ledger_index = next.next();
        }
        for a in &mut findings.actions {
            a.ledger_index = next.next();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_canonical_and_bounded() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        let e = entry(
            RecordKind::Config,
            t,
            &json!({"b": 1, "a": {"z": 2, "y": 3}}),
            1000,
        )
        .expect("serialisable");
        assert_eq!(
            String::from_utf8(e).expect("utf-8"),
            r#"{"kind":"config","record":{"a":{"y":3,"z":2},"b":1},"time":"2026-11-21T10:00:00.000Z"}"#
        );
        let big = entry(RecordKind::Alert, t, &"x".repeat(500), 200).expect("serialisable");
        let text = String::from_utf8(big).expect("utf-8");
        assert!(text.contains("record_sha256") && text.len() < 200, "{text}");
    }
}
