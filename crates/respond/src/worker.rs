//! The responder's background work: sending due deliveries (each in its own task, so a slow
//! receiver delays only its own messages), expiring approvals, running undos and lapsing
//! decisions. Every round reads the database, so work queued before a restart resumes.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::db::{self, Delivery, DeliveryStatus, StepStatus};
use crate::exec::Email;
use crate::journal::JournalKind;
use crate::metric as m;
use crate::playbook::StepAction;
use crate::responder::{RespondError, Responder};
use crate::sign;

/// How often the worker looks for due work when nothing wakes it.
const TICK: StdDuration = StdDuration::from_millis(250);
/// Most deliveries started per round.
const ROUND: usize = 64;
/// Longest delay between retries.
const MAX_BACKOFF_SECONDS: u64 = 3600;

impl Responder {
    /// Runs the background work until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "respond worker round failed");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// One round of background work.
    pub async fn tick(self: &Arc<Self>) -> Result<(), RespondError> {
        let now = self.clock.now();
        for row in self.db.call(move |c| db::expired_approvals(c, now)).await? {
            let (key, note) = (row.key.clone(), "nobody approved it in time".to_string());
            let n = note.clone();
            if self
                .db
                .call(move |c| {
                    db::set_step(
                        c,
                        &key,
                        &[StepStatus::AwaitingApproval],
                        StepStatus::Expired,
                        &n,
                        row.deadline,
                        None,
                        now,
                    )
                })
                .await?
            {
                self.journal
                    .record(
                        JournalKind::Step,
                        json!({"key": row.key, "status": "expired", "note": note}),
                    )
                    .await;
                self.advance(row.incident_id, &row.playbook).await?;
            }
        }
        for id in self.book.lapsed(now) {
            self.delete_decision(id, "respond", "lapsed").await?;
        }
        for row in self.db.call(move |c| db::undo_due(c, now)).await? {
            self.undo(&row, now).await?;
        }
        let due = self
            .db
            .call(move |c| db::due_deliveries(c, now, ROUND))
            .await?;
        for d in due {
            let fresh = self
                .in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(d.id);
            if fresh {
                let me = Arc::clone(self);
                tokio::spawn(async move { me.attempt(d).await });
            }
        }
        Ok(())
    }

    async fn undo(&self, row: &db::StepRow, now: DateTime<Utc>) -> Result<(), RespondError> {
        let action = self
            .playbooks
            .get(&row.playbook)
            .and_then(|p| p.steps.iter().find(|s| s.id == row.step_id))
            .map(|s| s.action.clone());
        let name = row.playbook.clone();
        let id = row.incident_id;
        let incident = self
            .db
            .call(move |c| db::run_incident(c, id, &name))
            .await?;
        let note = match (action, incident) {
            (Some(StepAction::Webhook(w)), Some(incident)) => self
                .webhook_step(
                    &format!("{}/undo", row.key),
                    &w.target,
                    &format!("{}.undo", w.event),
                    &row.playbook,
                    &incident,
                    now,
                )
                .await
                .unwrap_or_else(|e| e),
            _ => "nothing to undo".to_string(),
        };
        let (key, n) = (row.key.clone(), note.clone());
        if self
            .db
            .call(move |c| {
                db::set_step(
                    c,
                    &key,
                    &[StepStatus::Done],
                    StepStatus::Undone,
                    &n,
                    None,
                    None,
                    now,
                )
            })
            .await?
        {
            self.journal
                .record(
                    JournalKind::Step,
                    json!({"key": row.key, "status": "undone", "note": note}),
                )
                .await;
        }
        Ok(())
    }

    async fn attempt(self: Arc<Self>, d: Delivery) {
        let outcome = self.send(&d).await;
        let now = self.clock.now();
        let attempts = d.attempts + 1;
        let retry_at = (outcome.is_err() && attempts < self.config.max_attempts).then(|| {
            let delay = self
                .config
                .retry_base_seconds
                .saturating_mul(1u64 << (attempts - 1).min(20))
                .min(MAX_BACKOFF_SECONDS);
            now + Duration::seconds(delay as i64)
        });
        let id = d.id;
        let o = outcome.clone();
        let status = self
            .db
            .call(move |c| db::finish_delivery(c, id, o, retry_at, now))
            .await;
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&d.id);
        match status {
            Ok(status) => {
                metrics::counter!(m::DELIVERIES, "channel" => d.channel.clone(), "status" => status.as_str())
                    .increment(1);
                if matches!(status, DeliveryStatus::Done | DeliveryStatus::Dead) {
                    if status == DeliveryStatus::Dead {
                        tracing::warn!(delivery = d.id, channel = %d.channel, target = %d.target, error = ?outcome.as_ref().err(), "delivery became a dead letter");
                    }
                    self.journal
                        .record(
                            JournalKind::Delivery,
                            json!({"delivery": d.id, "key": d.key, "channel": d.channel, "target": d.target,
                                   "status": status, "attempts": attempts, "error": outcome.err()}),
                        )
                        .await;
                }
                if retry_at.is_some() {
                    // Wake up in time for the retry even if nothing else happens.
                    let me = Arc::clone(&self);
                    tokio::spawn(async move {
                        if let Some(at) = retry_at {
                            let wait = (at - me.clock.now()).to_std().unwrap_or_default();
                            tokio::time::sleep(wait).await;
                            me.wake.notify_one();
                        }
                    });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, delivery = d.id, "cannot record delivery outcome")
            }
        }
    }

    async fn send(&self, d: &Delivery) -> Result<(), String> {
        match d.channel.as_str() {
            "webhook" => {
                let target = self
                    .targets
                    .get(&d.target)
                    .ok_or_else(|| format!("webhook target `{}` is not configured", d.target))?;
                let ts = self.clock.now().timestamp();
                let headers = [
                    (sign::TIMESTAMP_HEADER, ts.to_string()),
                    (
                        sign::SIGNATURE_HEADER,
                        sign::sign(&target.secret, ts, d.body.as_bytes()),
                    ),
                    (sign::IDEMPOTENCY_HEADER, d.key.clone()),
                ];
                self.webhooks
                    .post(
                        &target.url,
                        &headers,
                        d.body.clone(),
                        StdDuration::from_secs(10),
                    )
                    .await
            }
            "email" => {
                let mailer = self.mailer.as_ref().ok_or("no SMTP server is configured")?;
                let email: Email = serde_json::from_str(&d.body).map_err(|e| e.to_string())?;
                mailer.send(&email).await
            }
            other => Err(format!("unknown channel `{other}`")),
        }
    }
}
