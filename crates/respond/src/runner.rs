//! Moving a playbook run on: the first unfinished step is checked against its condition, waits
//! for approval if it needs one, or runs. Steps run in order; a failed, skipped, rejected or
//! expired step does not stop the ones after it (a ban still happens when the e-mail failed).

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::{EntityKind, Incident};
use serde_json::json;

use crate::db::{self, StepRow, StepStatus};
use crate::decision::{DecisionScope, NewDecision};
use crate::exec::Email;
use crate::metric as m;
use crate::playbook::{Step, StepAction};
use crate::responder::{RespondError, Responder};
use crate::sign;
use crate::template::render;

/// What running a step produced.
struct Outcome {
    status: StepStatus,
    note: String,
    undo_at: Option<DateTime<Utc>>,
}

impl Responder {
    /// Moves the run of `playbook` for `incident_id` on as far as it can go now.
    pub(crate) async fn advance(
        &self,
        incident_id: u64,
        playbook: &str,
    ) -> Result<(), RespondError> {
        let Some(book) = self.playbooks.get(playbook).cloned() else {
            // A playbook removed from the configuration since: its runs stay as they are.
            return Ok(());
        };
        loop {
            let name = playbook.to_string();
            let (steps, incident) = self
                .db
                .call(move |c| {
                    Ok((
                        db::run_steps(c, incident_id, Some(&name))?,
                        db::run_incident(c, incident_id, &name)?,
                    ))
                })
                .await?;
            let Some(incident) = incident else {
                return Ok(());
            };
            let Some(row) = steps.into_iter().find(|s| !s.status.finished()) else {
                return Ok(());
            };
            let Some(step) = book.steps.iter().find(|s| s.id == row.step_id) else {
                self.move_step(
                    &row,
                    StepStatus::Skipped,
                    "step no longer in the playbook",
                    None,
                    None,
                )
                .await?;
                continue;
            };
            let now = self.clock.now();
            match row.status {
                StepStatus::AwaitingApproval => return Ok(()),
                StepStatus::Waiting if !step.when.holds(&incident) => {
                    self.move_step(
                        &row,
                        StepStatus::Skipped,
                        "condition did not hold",
                        None,
                        None,
                    )
                    .await?;
                }
                StepStatus::Waiting if step.approval => {
                    let deadline = now + Duration::seconds(step.timeout_seconds as i64);
                    self.move_step(
                        &row,
                        StepStatus::AwaitingApproval,
                        "waiting for approval",
                        Some(deadline),
                        None,
                    )
                    .await?;
                    metrics::counter!(m::APPROVALS_REQUESTED).increment(1);
                    return Ok(());
                }
                _ => {
                    let out = self.execute(&book.id, step, &row, &incident, now).await;
                    // An approved step keeps who approved it beside what it did.
                    let note = match row.status {
                        StepStatus::Approved => format!("{}; {}", row.note, out.note),
                        _ => out.note,
                    };
                    self.move_step(&row, out.status, &note, row.deadline, out.undo_at)
                        .await?;
                }
            }
        }
    }

    async fn move_step(
        &self,
        row: &StepRow,
        status: StepStatus,
        note: &str,
        deadline: Option<DateTime<Utc>>,
        undo_at: Option<DateTime<Utc>>,
    ) -> Result<(), RespondError> {
        let now = self.clock.now();
        let (key, from, n) = (row.key.clone(), row.status, note.to_string());
        let moved = self
            .db
            .call(move |c| db::set_step(c, &key, &[from], status, &n, deadline, undo_at, now))
            .await?;
        if moved {
            metrics::counter!(m::STEPS, "status" => status.as_str()).increment(1);
            let row = StepRow {
                status,
                note: note.to_string(),
                deadline,
                undo_at,
                updated: now,
                ..row.clone()
            };
            self.journal_step(&row).await;
        }
        Ok(())
    }

    async fn execute(
        &self,
        playbook: &str,
        step: &Step,
        row: &StepRow,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Outcome {
        let result = match &step.action {
            StepAction::Decision(d) => self.decision_step(playbook, d, row, incident).await,
            StepAction::Webhook(w) => self
                .webhook_step(&row.key, &w.target, &w.event, playbook, incident, now)
                .await
                .map(|note| {
                    (
                        note,
                        step.undo_after_seconds
                            .map(|s| now + Duration::seconds(s as i64)),
                    )
                }),
            StepAction::Email(e) => self
                .email_step(&row.key, &e.to, &e.subject, &e.body, incident, now)
                .await
                .map(|n| (n, None)),
            StepAction::SetStatus(to) => match self.lifecycle.get() {
                Some(l) => {
                    l.request(
                        incident.id,
                        *to,
                        format!("playbook:{playbook}"),
                        format!("step {}", step.id),
                    );
                    Ok((format!("status change to {to} requested"), None))
                }
                None => Err("the incident lifecycle is not connected".to_string()),
            },
            StepAction::IntegrityRestore(r) => match self.restorer.get() {
                Some(restorer) => restorer
                    .restore(r.path.as_deref())
                    .await
                    .map(|note| (note, None)),
                None => Err(
                    "integrity restore is not available: set integrity.root and take a baseline"
                        .to_string(),
                ),
            },
        };
        match result {
            Ok((note, undo_at)) => Outcome {
                status: StepStatus::Done,
                note,
                undo_at,
            },
            Err(note) => {
                tracing::warn!(playbook, step = %step.id, incident = incident.id, %note, "playbook step failed");
                Outcome {
                    status: StepStatus::Failed,
                    note,
                    undo_at: None,
                }
            }
        }
    }

    async fn decision_step(
        &self,
        playbook: &str,
        d: &crate::playbook::DecisionStep,
        row: &StepRow,
        incident: &Incident,
    ) -> Result<(String, Option<DateTime<Utc>>), String> {
        let scope = DecisionScope::of_entity(incident.entity.kind)
            .ok_or_else(|| format!("no decision can apply to a {} entity", incident.entity.kind))?;
        let (scope, value) = if d.range && incident.entity.kind == EntityKind::Ip {
            (DecisionScope::Range, widen(&incident.entity.value)?)
        } else {
            (scope, incident.entity.value.clone())
        };
        let new = NewDecision {
            kind: d.kind,
            scope,
            value,
            duration_seconds: d.duration_seconds,
            scenario: incident.rule_ids.join(","),
            incident_id: Some(incident.id),
        };
        let decision = self
            .store_decision(Some(row.key.clone()), new, &format!("playbook:{playbook}"))
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            format!(
                "decision {}: {} {} {} until {}",
                decision.id,
                decision.kind.as_str(),
                decision.scope.as_str(),
                decision.value,
                decision.until.to_rfc3339()
            ),
            None,
        ))
    }

    /// Queues a webhook call; the worker sends it. `key` is the idempotency key.
    pub(crate) async fn webhook_step(
        &self,
        key: &str,
        target: &str,
        event: &str,
        playbook: &str,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        if !self.targets.contains_key(target) {
            return Err(format!("webhook target `{target}` is not configured"));
        }
        let body = json!({
            "event": event,
            "idempotency_key": key,
            "playbook": playbook,
            "time": now,
            "incident": {
                "id": incident.id,
                "title": incident.title,
                "severity": incident.severity,
                "status": incident.status,
                "entity": incident.entity,
                "stage": crate::stage::stage_of(incident),
                "rule_ids": incident.rule_ids,
                "first_seen": incident.first_seen,
                "last_seen": incident.last_seen,
            },
        })
        .to_string();
        let (k, t, id) = (key.to_string(), target.to_string(), incident.id);
        let (delivery, _) = self
            .db
            .call(move |c| {
                db::enqueue_delivery(
                    c,
                    &k,
                    "webhook",
                    &t,
                    &body,
                    Some(id),
                    db::DeliveryStatus::Pending,
                    now,
                )
            })
            .await
            .map_err(|e| e.to_string())?;
        self.wake.notify_one();
        Ok(format!(
            "webhook `{event}` to `{target}` queued as delivery {delivery} ({} {key})",
            sign::IDEMPOTENCY_HEADER
        ))
    }

    async fn email_step(
        &self,
        key: &str,
        to: &[String],
        subject: &str,
        body: &str,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        if self.mailer.is_none() {
            return Err("no SMTP server is configured ([respond.smtp])".into());
        }
        let mut notes = Vec::new();
        for recipient in to.iter().map(|t| render(t, incident)) {
            if !recipient.contains('@') {
                notes.push(format!("{recipient}: not an address, not sent"));
                continue;
            }
            let email = Email {
                to: recipient.clone(),
                subject: render(subject, incident),
                body: render(body, incident),
                message_id: format!("<{}.{}@ensuresec>", key.replace('/', "."), recipient),
            };
            let text = serde_json::to_string(&email).map_err(|e| e.to_string())?;
            let limit = self.config.email_per_recipient_per_hour;
            let (k, r, id) = (format!("{key}/{recipient}"), recipient.clone(), incident.id);
            let (delivery, limited) = self
                .db
                .call(move |c| {
                    let recent = db::count_recent_emails(c, &r, now - Duration::hours(1))?;
                    let status = if recent >= limit {
                        db::DeliveryStatus::RateLimited
                    } else {
                        db::DeliveryStatus::Pending
                    };
                    let (d, _) =
                        db::enqueue_delivery(c, &k, "email", &r, &text, Some(id), status, now)?;
                    Ok((d, status == db::DeliveryStatus::RateLimited))
                })
                .await
                .map_err(|e| e.to_string())?;
            if limited {
                metrics::counter!(m::EMAILS_RATE_LIMITED).increment(1);
                notes.push(format!("{recipient}: rate limit reached, not sent"));
            } else {
                notes.push(format!("{recipient}: queued as delivery {delivery}"));
            }
        }
        self.wake.notify_one();
        Ok(notes.join("; "))
    }
}

/// An address's /24 (IPv4) or /64 (IPv6) range.
fn widen(ip: &str) -> Result<String, String> {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            Ok(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            Ok(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
        }
        Err(_) => Err(format!("`{ip}` is not an address")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_widen_to_24_and_64() {
        assert_eq!(super::widen("203.0.113.9").unwrap(), "203.0.113.0/24");
        assert_eq!(
            super::widen("2001:db8:1:2:3::9").unwrap(),
            "2001:db8:1:2::/64"
        );
        assert!(super::widen("nope").is_err());
    }
}
