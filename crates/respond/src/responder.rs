//! The responder: the pipeline [`Sink`] that starts playbooks for incidents, and the API the
//! server exposes (decisions, approvals, dead letters, the fail-safe switch). Playbook steps run
//! in `runner.rs`; deliveries, approval time-outs, undos and lapsing decisions in `worker.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ensuresec_model::{Clock, Incident};
use ensuresec_pipeline::{Sink, SinkError};
use ensuresec_store::Findings;
use serde_json::json;
use tokio::sync::Notify;

use crate::book::Book;
use crate::config::RespondConfig;
use crate::db::{self, Db, DbError, Delivery, StepRow};
use crate::decision::{Decision, DecisionId, MAX_DURATION_SECONDS, NewDecision, validate_value};
use crate::exec::{Firewall, MailSender, WebhookSender};
use crate::failsafe::{FailSafe, FailSafeState};
use crate::journal::{Journal, JournalKind, Lifecycle};
use crate::metric as m;
use crate::playbook::PlaybookSet;

/// Why a response request failed.
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The request makes no sense (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// A webhook receiver with its key.
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) secret: Vec<u8>,
}

/// What the responder is built from.
pub struct Parts {
    /// The response database.
    pub db: Db,
    /// The playbooks.
    pub playbooks: PlaybookSet,
    /// Settings.
    pub config: RespondConfig,
    /// Webhook targets with their secrets, by name.
    pub targets: Vec<(String, String, Vec<u8>)>,
    /// The webhook client.
    pub webhooks: Arc<dyn WebhookSender>,
    /// The SMTP client, when configured.
    pub mailer: Option<Arc<dyn MailSender>>,
    /// The firewall, when enabled.
    pub firewall: Option<Arc<dyn Firewall>>,
    /// The audit log.
    pub journal: Arc<dyn Journal>,
    /// Wall time.
    pub clock: Arc<dyn Clock>,
}

/// The responder; share it in an `Arc`.
pub struct Responder {
    pub(crate) db: Db,
    pub(crate) playbooks: PlaybookSet,
    pub(crate) config: RespondConfig,
    pub(crate) targets: HashMap<String, Target>,
    pub(crate) webhooks: Arc<dyn WebhookSender>,
    pub(crate) mailer: Option<Arc<dyn MailSender>>,
    pub(crate) firewall: Option<Arc<dyn Firewall>>,
    pub(crate) journal: Arc<dyn Journal>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) lifecycle: OnceLock<Arc<dyn Lifecycle>>,
    pub(crate) restorer: OnceLock<Arc<dyn crate::exec::Restorer>>,
    pub(crate) book: Book,
    pub(crate) failsafe: Arc<FailSafe>,
    pub(crate) wake: Notify,
    pub(crate) in_flight: Mutex<HashSet<u64>>,
}

/// How long deleted decisions stay in the book for bouncers that pull rarely.
const KEEP_DELETED_HOURS: i64 = 24;
const FAILSAFE_SETTING: &str = "failsafe";

impl Responder {
    /// Builds the responder, loading decisions and the fail-safe position from the database.
    pub fn new(parts: Parts) -> Result<Responder, RespondError> {
        let now = parts.clock.now();
        let decisions = parts.db.call_now(move |c| {
            db::load_decisions(c, now, now - Duration::hours(KEEP_DELETED_HOURS))
        })?;
        let failsafe = parts
            .db
            .call_now(|c| db::setting(c, FAILSAFE_SETTING))?
            .map(|t| db::json::<FailSafeState>(&t))
            .transpose()?
            .unwrap_or_default();
        let targets = parts
            .targets
            .into_iter()
            .map(|(name, url, secret)| (name, Target { url, secret }))
            .collect();
        Ok(Responder {
            db: parts.db,
            playbooks: parts.playbooks,
            config: parts.config,
            targets,
            webhooks: parts.webhooks,
            mailer: parts.mailer,
            firewall: parts.firewall,
            journal: parts.journal,
            clock: parts.clock,
            lifecycle: OnceLock::new(),
            restorer: OnceLock::new(),
            book: Book::new(decisions),
            failsafe: Arc::new(FailSafe::new(failsafe)),
            wake: Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// Connects the lifecycle (the pipeline starts after the responder, which is one of its
    /// sinks). Set-status steps fail until it is connected.
    pub fn connect_lifecycle(&self, lifecycle: Arc<dyn Lifecycle>) {
        let _ = self.lifecycle.set(lifecycle);
    }

    /// Connects the integrity restore (owned by the platform, which knows the monitored root);
    /// without it `integrity_restore` steps fail, recorded.
    pub fn connect_restorer(&self, restorer: Arc<dyn crate::exec::Restorer>) {
        let _ = self.restorer.set(restorer);
    }

    /// The loaded playbooks.
    pub fn playbooks(&self) -> &PlaybookSet {
        &self.playbooks
    }

    /// The decision book bouncers read.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The fail-safe switch (the gateway reads it).
    pub fn failsafe(&self) -> &Arc<FailSafe> {
        &self.failsafe
    }

    /// Starts the playbooks `incident` triggers and moves their runs on.
    pub async fn on_incident(&self, incident: &Incident) -> Result<(), RespondError> {
        if incident.status.is_closed() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut runs = Vec::new();
        for p in self.playbooks.triggered(incident) {
            let (p2, i2) = (p.clone(), incident.clone());
            let new = self
                .db
                .call(move |c| db::record_run(c, &p2, &i2, now))
                .await?;
            if new {
                metrics::counter!(m::PLAYBOOK_RUNS, "playbook" => p.id.clone()).increment(1);
                tracing::info!(playbook = %p.id, incident = incident.id, "playbook started");
            }
            runs.push(p.id.clone());
        }
        for playbook in runs {
            self.advance(incident.id, &playbook).await?;
        }
        Ok(())
    }

    /// Makes decisions by hand (API, CLI, feeds): validated first (nothing is stored if one is
    /// bad), then stored in one durable transaction and journaled in one durable append; their
    /// audit log indexes are written back in one more durable transaction.
    pub async fn decide(
        &self,
        news: Vec<NewDecision>,
        origin: &str,
    ) -> Result<Vec<Decision>, RespondError> {
        for (i, new) in news.iter().enumerate() {
            validate_value(new.scope, &new.value)
                .map_err(|e| RespondError::Invalid(format!("[{i}].value: {e}")))?;
            if new.duration_seconds == 0 || new.duration_seconds > MAX_DURATION_SECONDS {
                return Err(RespondError::Invalid(format!(
                    "[{i}].duration_seconds: must be 1 to {MAX_DURATION_SECONDS}"
                )));
            }
        }
        let now = self.clock.now();
        let origin = origin.to_string();
        let mut stored = self
            .db
            .call(move |c| db::insert_decisions(c, &news, &origin, now))
            .await?;
        for d in &stored {
            self.book.insert(d.clone());
            metrics::counter!(m::DECISIONS, "type" => d.kind.as_str()).increment(1);
        }
        let records = stored.iter().map(|d| json!(d)).collect();
        let indexes = self
            .journal
            .record_many(JournalKind::Decision, records)
            .await;
        for (d, index) in stored.iter_mut().zip(indexes) {
            d.ledger_index = index;
            if let Some(index) = index {
                self.book.set_ledger_index(d.id, index);
            }
            self.mirror_block(d, now);
        }
        if stored.iter().any(|d| d.ledger_index.is_some()) {
            let copy = stored.clone();
            self.db
                .call(move |c| db::set_ledger_indexes(c, &copy))
                .await?;
        }
        Ok(stored)
    }

    /// Stores a decision (once per `key`), publishes it to bouncers and the firewall, journals it.
    pub(crate) async fn store_decision(
        &self,
        key: Option<String>,
        new: NewDecision,
        origin: &str,
    ) -> Result<Decision, RespondError> {
        let now = self.clock.now();
        let origin = origin.to_string();
        let (mut d, fresh) = self
            .db
            .call(move |c| db::insert_decision(c, key.as_deref(), &new, &origin, now))
            .await?;
        if fresh {
            self.book.insert(d.clone());
            metrics::counter!(m::DECISIONS, "type" => d.kind.as_str()).increment(1);
            d.ledger_index = self.journal.record(JournalKind::Decision, json!(d)).await;
            if let Some(index) = d.ledger_index {
                self.book.set_ledger_index(d.id, index);
                let copy = d.clone();
                self.db.call(move |c| db::update_decision(c, &copy)).await?;
            }
            self.mirror_block(&d, now);
        }
        Ok(d)
    }

    fn mirror_block(&self, d: &Decision, now: DateTime<Utc>) {
        use crate::decision::{DecisionKind, DecisionScope};
        let Some(fw) = self.firewall.clone() else {
            return;
        };
        if d.kind != DecisionKind::Ban
            || !matches!(d.scope, DecisionScope::Ip | DecisionScope::Range)
        {
            return;
        }
        let (value, seconds) = (d.value.clone(), (d.until - now).num_seconds().max(1) as u64);
        // The firewall is a mirror: its failure is logged and counted, never holds the response.
        tokio::spawn(async move {
            if let Err(e) = fw.block(&value, seconds).await {
                metrics::counter!(m::FIREWALL_ERRORS).increment(1);
                tracing::warn!(error = %e, "firewall block failed");
            }
        });
    }

    /// Revokes a decision; `by` names who did it.
    pub async fn revoke(&self, id: DecisionId, by: &str) -> Result<Decision, RespondError> {
        self.delete_decision(id, by, "revoked")
            .await?
            .ok_or_else(|| RespondError::NotFound(format!("active decision {id}")))
    }

    pub(crate) async fn delete_decision(
        &self,
        id: DecisionId,
        by: &str,
        why: &str,
    ) -> Result<Option<Decision>, RespondError> {
        let now = self.clock.now();
        let Some(d) = self
            .db
            .call(move |c| db::delete_decision(c, id, now))
            .await?
        else {
            return Ok(None);
        };
        self.book.delete(id, now);
        self.journal
            .record(
                JournalKind::DecisionDeleted,
                json!({"decision": d, "by": by, "why": why}),
            )
            .await;
        if let Some(fw) = self.firewall.clone()
            && matches!(
                d.scope,
                crate::decision::DecisionScope::Ip | crate::decision::DecisionScope::Range
            )
        {
            let value = d.value.clone();
            tokio::spawn(async move {
                if let Err(e) = fw.unblock(&value).await {
                    tracing::warn!(error = %e, "firewall unblock failed");
                }
            });
        }
        Ok(Some(d))
    }

    /// Approves (or rejects) the waiting step `step` of incident `incident_id`, then moves the
    /// run on.
    pub async fn approve(
        &self,
        incident_id: u64,
        step: &str,
        approve: bool,
        by: &str,
    ) -> Result<StepRow, RespondError> {
        let now = self.clock.now();
        let (s, who) = (step.to_string(), by.to_string());
        let row = self
            .db
            .call(move |c| db::decide_approval(c, incident_id, &s, approve, &who, now))
            .await?
            .ok_or_else(|| {
                RespondError::NotFound(format!(
                    "step `{step}` awaiting approval in incident {incident_id}"
                ))
            })?;
        self.journal_step(&row).await;
        self.advance(incident_id, &row.playbook).await?;
        Ok(row)
    }

    /// Every step of every playbook run for an incident.
    pub async fn steps(&self, incident_id: u64) -> Result<Vec<StepRow>, RespondError> {
        Ok(self
            .db
            .call(move |c| db::run_steps(c, incident_id, None))
            .await?)
    }

    /// Steps waiting for a person.
    pub async fn pending_approvals(&self) -> Result<Vec<StepRow>, RespondError> {
        Ok(self.db.call(db::awaiting_approval).await?)
    }

    /// Dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<Delivery>, RespondError> {
        Ok(self.db.call(move |c| db::dead_letters(c, limit)).await?)
    }

    /// Puts a dead letter back in the queue.
    pub async fn replay(&self, id: u64, by: &str) -> Result<(), RespondError> {
        let now = self.clock.now();
        if !self
            .db
            .call(move |c| db::replay_delivery(c, id, now))
            .await?
        {
            return Err(RespondError::NotFound(format!("dead letter {id}")));
        }
        self.journal
            .record(
                JournalKind::Delivery,
                json!({"delivery": id, "status": "replayed", "by": by}),
            )
            .await;
        self.wake.notify_one();
        Ok(())
    }

    /// Moves the fail-safe switch, durably, and journals it.
    pub async fn set_failsafe(
        &self,
        mut state: FailSafeState,
        by: &str,
    ) -> Result<FailSafeState, RespondError> {
        state.set_by = by.to_string();
        state.since = Some(self.clock.now());
        state.validate().map_err(RespondError::Invalid)?;
        let text =
            serde_json::to_string(&state).map_err(|e| RespondError::Invalid(e.to_string()))?;
        self.db
            .call(move |c| db::set_setting(c, FAILSAFE_SETTING, &text))
            .await?;
        self.failsafe
            .set(state.clone())
            .map_err(RespondError::Invalid)?;
        self.journal
            .record(JournalKind::FailSafe, json!(state))
            .await;
        Ok(state)
    }

    /// What was done about an incident, one line each (for breach notification drafts).
    pub async fn measures(&self, incident_id: u64) -> Result<Vec<String>, RespondError> {
        let mut out: Vec<String> = self
            .book
            .active(self.clock.now(), usize::MAX, |d| {
                d.incident_id == Some(incident_id)
            })
            .iter()
            .map(|d| {
                format!(
                    "{} on {} {} until {}",
                    d.kind.as_str(),
                    d.scope.as_str(),
                    d.value,
                    d.until.to_rfc3339()
                )
            })
            .collect();
        for s in self.steps(incident_id).await? {
            if s.status == db::StepStatus::Done {
                out.push(format!(
                    "playbook {} step {}: {}",
                    s.playbook, s.step_id, s.note
                ));
            }
        }
        Ok(out)
    }

    pub(crate) async fn journal_step(&self, row: &StepRow) {
        self.journal.record(JournalKind::Step, json!(row)).await;
    }
}

#[async_trait]
impl Sink for Responder {
    fn name(&self) -> &str {
        "respond"
    }

    async fn deliver(&self, findings: &Findings) -> Result<(), SinkError> {
        for incident in &findings.incidents {
            if let Err(e) = self.on_incident(incident).await {
                return Err(SinkError {
                    sink: "respond".into(),
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    }
}
