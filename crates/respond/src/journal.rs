//! The seams between the responder and the platform around it: the audit log it reports to and
//! the lifecycle it moves incidents along. The server implements both (with the ledger and the
//! pipeline's correlator); the crate stays free of them.

use async_trait::async_trait;
use ensuresec_model::IncidentStatus;

/// What a journal record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalKind {
    /// A decision was made.
    Decision,
    /// A decision was revoked or lapsed.
    DecisionDeleted,
    /// A playbook step changed state (awaiting approval, approved, done, skipped…).
    Step,
    /// A delivery was accepted by its receiver or became a dead letter, or was replayed.
    Delivery,
    /// The fail-safe switch moved.
    FailSafe,
}

/// Appends response records to the audit log.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Appends `record`; returns its leaf index, or `None` when there is no log or it failed
    /// (the failure is the journal's to report: responding goes on).
    async fn record(&self, kind: JournalKind, record: serde_json::Value) -> Option<u64>;

    /// Appends many records of one kind; returns their leaf indexes in order (`None` each on
    /// failure). The default appends them one by one.
    async fn record_many(
        &self,
        kind: JournalKind,
        records: Vec<serde_json::Value>,
    ) -> Vec<Option<u64>> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.record(kind, r).await);
        }
        out
    }
}

/// No audit log (the ledger is disabled, or in tests of the engine alone).
pub struct NoJournal;

#[async_trait]
impl Journal for NoJournal {
    async fn record(&self, _kind: JournalKind, _record: serde_json::Value) -> Option<u64> {
        None
    }
}

/// Moves incidents along their lifecycle.
pub trait Lifecycle: Send + Sync + 'static {
    /// Requests a status change; must not wait for it (the responder runs inside the
    /// correlator's delivery, which would deadlock).
    fn request(&self, incident: u64, to: IncidentStatus, by: String, reason: String);
}
