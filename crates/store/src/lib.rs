//! Durable storage for ensuresec: events (for a configurable retention), alerts, incidents,
//! actions and API tokens, behind the [`Store`] trait.
//!
//! The embedded backend is SQLite ([`SqliteStore`]): one writer thread with group commit, so that
//! many concurrent batches share one `fsync`, and a small pool of readers. A batch of events is
//! acknowledged only when it is durable. Every backend must pass the contract suite in
//! `tests/contract/`.
//!
//! Architecture invariant: this crate knows nothing about HTTP or the pipeline; it stores what it
//! is given and answers queries.

mod codec;
mod error;
mod migrate;
mod query;
mod sqlite;
mod summary;
mod tokens;

pub use error::StoreError;
pub use migrate::{MigrateError, apply_migrations};
pub use query::{AlertFilter, IncidentDetail, IncidentFilter, Page, PageRequest};
pub use sqlite::{SqliteOptions, SqliteStore};
pub use summary::{Activity, IncidentCount};
pub use tokens::{NewToken, Scope, TokenInfo, hash_token};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ensuresec_model::{Action, Alert, AlertId, Event, Incident, IncidentId};

/// A contiguous range of event sequence numbers, as assigned to one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// First sequence number of the batch.
    pub first: u64,
    /// Number of events.
    pub len: u64,
}

/// A sender's name for one batch of events, so that the batch sent again (after a timeout or a
/// lost answer) is stored once: the `Idempotency-Key` of `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey {
    /// Who sent it (the API token's name): keys of different senders never meet.
    pub sender: String,
    /// The sender's key for the batch.
    pub key: String,
    /// SHA-256 of the batch as sent, which tells a batch sent again from another batch under
    /// the same key.
    pub digest: [u8; 32],
}

/// One message of a batch whose source may deliver it again although its events were stored:
/// an MQTT broker delivers a message again, flagged as a duplicate and under the same packet id,
/// when the acknowledgement of its first delivery was lost (a crash, a dropped connection).
/// Kept in the batch's transaction, so that a copy delivered again is known exactly when the
/// first is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMark {
    /// The delivering session (for MQTT the broker and client id): ids of different sessions
    /// never meet.
    pub source: String,
    /// The message's id in that session (the MQTT packet id). Sources reuse ids, so a newer
    /// message's mark replaces an older one's.
    pub id: u32,
    /// SHA-256 of the message (for MQTT its topic and payload), which tells a copy delivered
    /// again from a newer message that reuses the id.
    pub digest: [u8; 32],
}

/// How a batch its sender may send again is told from a new batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resend {
    /// It is not: every batch is stored.
    #[default]
    Unknown,
    /// By the sender's key for the whole batch (`Idempotency-Key`).
    Key(BatchKey),
    /// By the marks of the messages it was made of, kept with it (MQTT): see
    /// [`Store::is_marked`].
    Marks(Vec<MessageMark>),
}

/// What storing a keyed batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The batch is stored now, with these sequence numbers.
    Stored(SeqRange),
    /// The same batch was stored before under the same key, with these sequence numbers;
    /// nothing was stored now.
    Earlier(SeqRange),
}

impl Appended {
    /// The batch's sequence numbers, whenever it was stored.
    pub fn range(self) -> SeqRange {
        match self {
            Appended::Stored(r) | Appended::Earlier(r) => r,
        }
    }
}

/// What the pipeline produced for a batch, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// New alerts, with their ids and incident ids already assigned.
    pub alerts: Vec<Alert>,
    /// Incidents created or changed (full new state).
    pub incidents: Vec<Incident>,
    /// Actions taken.
    pub actions: Vec<Action>,
    /// How far detection has come once these findings are kept, stored in the same
    /// transaction: a restart resumes detection from it, so no stored event goes undetected
    /// and none that raised these findings is detected twice. `None` leaves it as it was
    /// (findings not made by detection, such as a status change).
    pub progress: Option<DetectionProgress>,
}

/// Where detection stands, per partition of the pipeline: the first sequence number each
/// partition has not yet passed through its detectors. Its length is the number of partitions
/// that made it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectionProgress {
    /// Per partition, the sequence number of the first event it has not taken.
    pub next_seq: Vec<u64>,
}

/// Storage as the rest of ensuresec sees it. Implementations must be durable: when a write
/// returns `Ok`, it survives a crash of the process.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch of events (all with the same `ingest_time`) and returns their sequence
    /// numbers once durable. `raw_ndjson`, when given, is the NDJSON the events were decoded from
    /// (its non-blank lines are exactly `events`); it is kept as received instead of re-encoding.
    /// `resend` says how a batch sent again is told from a new one:
    /// - [`Resend::Key`]: at most once per key. When a batch with the same sender, key and
    ///   digest is stored already, nothing is stored and its sequence numbers are returned as
    ///   [`Appended::Earlier`]. The key is kept with the batch (in the same transaction) and
    ///   forgotten when retention purges the batch. The same key with another digest is
    ///   [`StoreError::KeyReused`].
    /// - [`Resend::Marks`]: the marks, one per message the batch was made of, are kept in the
    ///   batch's transaction (see [`is_marked`](Self::is_marked)); a mark replaces an earlier
    ///   one of the same source and id.
    async fn append_batch(
        &self,
        events: &[Event],
        raw_ndjson: Option<&[u8]>,
        resend: Resend,
    ) -> Result<Appended, StoreError>;

    /// [`append_batch`](Self::append_batch) of a batch that is never told from a batch sent
    /// again.
    async fn append_events(
        &self,
        events: &[Event],
        raw_ndjson: Option<&[u8]>,
    ) -> Result<SeqRange, StoreError> {
        Ok(self
            .append_batch(events, raw_ndjson, Resend::Unknown)
            .await?
            .range())
    }

    /// Whether a batch holding the message of `mark` (same source, id and digest) is stored:
    /// a copy delivered again is then left out.
    async fn is_marked(&self, mark: &MessageMark) -> Result<bool, StoreError>;

    /// Stores alerts, incident updates and actions together.
    async fn record(&self, findings: Findings) -> Result<(), StoreError>;

    /// Number of stored events.
    async fn count_events(&self) -> Result<u64, StoreError>;

    /// Stored events with sequence numbers in `[from, from + limit)`, oldest first.
    async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<(u64, Event)>, StoreError>;

    /// Where detection stood when findings were last stored with their progress. Before any
    /// was stored, one partition at the sequence number after the last event the store held
    /// when it was created or upgraded (1 for a new store): what was there is taken as
    /// detected, and what came after is not.
    async fn detection_progress(&self) -> Result<DetectionProgress, StoreError>;

    /// Deletes events ingested before `cutoff`; returns how many went.
    async fn purge_events_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Alerts matching the filter, newest first.
    async fn list_alerts(
        &self,
        filter: AlertFilter,
        page: PageRequest,
    ) -> Result<Page<Alert>, StoreError>;

    /// Incidents matching the filter, newest first.
    async fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> Result<Page<Incident>, StoreError>;

    /// One incident with its alerts and actions.
    async fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError>;

    /// Incidents not yet closed, for the correlator to resume after a restart.
    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError>;

    /// The highest alert and incident ids in use, so that new ids continue after them.
    async fn max_ids(&self) -> Result<(AlertId, IncidentId), StoreError>;

    /// Creates an API token and returns its secret (shown once; only its hash is stored).
    async fn create_token(&self, new: NewToken) -> Result<String, StoreError>;

    /// Looks a token up by the hash of its secret ([`hash_token`]), for a caller that has hashed
    /// it already (the server keys its cache of valid tokens by it); `None` if unknown or revoked.
    async fn token_by_hash(&self, hash: Vec<u8>) -> Result<Option<TokenInfo>, StoreError>;

    /// Looks a presented secret up; `None` if unknown or revoked.
    async fn authenticate(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.token_by_hash(hash_token(secret)).await
    }

    /// All tokens (without secrets).
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token by name; `false` if there was none.
    async fn revoke_token(&self, name: &str) -> Result<bool, StoreError>;

    /// Incident counts by module (first detector), severity and status, for overviews.
    async fn incident_counts(&self) -> Result<Vec<IncidentCount>, StoreError>;

    /// Events ingested and alerts raised per `bucket_seconds` since `since`, for rate charts.
    async fn activity(
        &self,
        since: DateTime<Utc>,
        bucket_seconds: u32,
    ) -> Result<Activity, StoreError>;
}
