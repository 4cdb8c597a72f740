//! Where plan execution records each step: the tamper-evident audit log, or (for the CLI while
//! the server holds the log open) its inbox. A step whose record fails is not run.

use serde_json::Value;

/// Receives one JSON record per approval, step start and step outcome.
pub trait AuditSink: Send + Sync {
    /// Records durably, or says why not.
    fn record(&self, record: &Value) -> Result<(), String>;
}

impl AuditSink for ensuresec_auditlog::Log {
    fn record(&self, record: &Value) -> Result<(), String> {
        let bytes = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        self.append_blocking(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
