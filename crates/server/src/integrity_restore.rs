//! The `integrity_restore` playbook step, executed here because the platform owns the integrity
//! state: the baseline is verified afresh at every call (an `accept` may have moved it), the
//! tree compared with it, and what differs put back (crates/integrity `restore`). What it did is
//! recorded in the audit log as an `integrity_restore` record, as the CLI's restore is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use ensuresec_integrity::{StateDir, ops, restore};
use ensuresec_model::Clock;
use ensuresec_respond::exec::Restorer;
use serde_json::json;

use crate::ledger::{Ledger, RecordKind};

/// Restores the root of one integrity state folder.
pub struct IntegrityRestorer {
    dir: PathBuf,
    verifier_key: Option<String>,
    ledger: Option<Arc<Ledger>>,
    clock: Arc<dyn Clock>,
}

impl IntegrityRestorer {
    /// A restorer for the state folder `dir` (pinned to `verifier_key` when configured).
    pub fn new(
        dir: &Path,
        verifier_key: Option<String>,
        ledger: Option<Arc<Ledger>>,
        clock: Arc<dyn Clock>,
    ) -> IntegrityRestorer {
        IntegrityRestorer {
            dir: dir.to_path_buf(),
            verifier_key,
            ledger,
            clock,
        }
    }
}

#[async_trait]
impl Restorer for IntegrityRestorer {
    async fn restore(&self, path: Option<&str>) -> Result<String, String> {
        let (dir, key, only, now) = (
            self.dir.clone(),
            self.verifier_key.clone(),
            path.map(str::to_owned),
            self.clock.now(),
        );
        let done = tokio::task::spawn_blocking(move || {
            let state = StateDir::open(&dir, key)?;
            let (b, status) = ops::status(&state)?;
            let changes = restore::select(status.changes, only.as_deref());
            let report = restore::apply(&state, &b, &changes, now)?;
            Ok::<_, ensuresec_integrity::IntegrityError>((b, report))
        })
        .await
        .map_err(|e| format!("restore task: {e}"))?
        .map_err(|e| e.to_string())?;
        let (b, report) = done;
        let note = format!(
            "restored {} file(s), quarantined {}, mode/owner {} in {} (baseline {}){}",
            report.restored.len(),
            report.quarantined.len(),
            report.metadata.len(),
            b.header.root,
            b.header.generation,
            if report.warnings.is_empty() {
                String::new()
            } else {
                format!("; warnings: {}", report.warnings.join("; "))
            }
        );
        if let Some(ledger) = &self.ledger {
            let record = json!({
                "root": b.header.root,
                "generation": b.header.generation,
                "by": "playbook",
                "report": report,
            });
            if let Err(e) = ledger.record(RecordKind::IntegrityRestore, &record).await {
                tracing::error!(error = %e, "audit log append of a restore failed");
            }
        }
        tracing::warn!(%note, "integrity restore by playbook");
        Ok(note)
    }
}
