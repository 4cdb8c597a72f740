//! Playbook runs and their steps in the response database.

use chrono::{DateTime, Utc};
use ensuresec_model::Incident;
use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::Serialize;

use super::{DbError, json, ms, time};
use crate::playbook::Playbook;

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not its turn yet.
    Waiting,
    /// Waits for a person's approval until its deadline.
    AwaitingApproval,
    /// Approved, about to run.
    Approved,
    /// Ran.
    Done,
    /// Its condition did not hold at its turn.
    Skipped,
    /// A person rejected it.
    Rejected,
    /// Nobody approved it in time.
    Expired,
    /// It could not run.
    Failed,
    /// Ran, and its undo ran too.
    Undone,
}

impl StepStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Waiting => "waiting",
            StepStatus::AwaitingApproval => "awaiting_approval",
            StepStatus::Approved => "approved",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
            StepStatus::Rejected => "rejected",
            StepStatus::Expired => "expired",
            StepStatus::Failed => "failed",
            StepStatus::Undone => "undone",
        }
    }

    fn parse(s: &str) -> Result<StepStatus, DbError> {
        const ALL: [StepStatus; 9] = [
            StepStatus::Waiting,
            StepStatus::AwaitingApproval,
            StepStatus::Approved,
            StepStatus::Done,
            StepStatus::Skipped,
            StepStatus::Rejected,
            StepStatus::Expired,
            StepStatus::Failed,
            StepStatus::Undone,
        ];
        ALL.into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| DbError::Corrupt(format!("step status `{s}`")))
    }

    /// Whether the next step may go.
    pub fn finished(self) -> bool {
        !matches!(
            self,
            StepStatus::Waiting | StepStatus::AwaitingApproval | StepStatus::Approved
        )
    }
}

/// One step of one run, as stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepRow {
    /// Idempotency key: `playbook/incident/step`.
    pub key: String,
    /// The incident.
    pub incident_id: u64,
    /// The playbook.
    pub playbook: String,
    /// Position in the playbook.
    pub position: usize,
    /// The step's id.
    pub step_id: String,
    /// Where it stands.
    pub status: StepStatus,
    /// Approval deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// When its undo is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_at: Option<DateTime<Utc>>,
    /// What happened (the decision id, the delivery id, who approved).
    pub note: String,
    /// Last change.
    pub updated: DateTime<Utc>,
}

/// The idempotency key of a step.
pub fn step_key(playbook: &str, incident_id: u64, step_id: &str) -> String {
    format!("{playbook}/{incident_id}/{step_id}")
}

const COLUMNS: &str =
    "key, incident_id, playbook, position, step_id, status, deadline_ms, undo_ms, note, updated_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(StepRow, String)> {
    let status: String = r.get(5)?;
    Ok((
        StepRow {
            key: r.get(0)?,
            incident_id: r.get::<_, i64>(1)? as u64,
            playbook: r.get(2)?,
            position: r.get::<_, i64>(3)? as usize,
            step_id: r.get(4)?,
            status: StepStatus::Waiting,
            deadline: r.get::<_, Option<i64>>(6)?.map(time),
            undo_at: r.get::<_, Option<i64>>(7)?.map(time),
            note: r.get(8)?,
            updated: time(r.get(9)?),
        },
        status,
    ))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(StepRow, String)>>,
) -> Result<Vec<StepRow>, DbError> {
    let mut out = Vec::new();
    for r in rows {
        let (mut step, status) = r?;
        step.status = StepStatus::parse(&status)?;
        out.push(step);
    }
    Ok(out)
}

/// Records that `playbook` runs for `incident` (its steps waiting), or refreshes the run's copy
/// of the incident. Returns whether the run is new.
pub fn record_run(
    conn: &mut Connection,
    playbook: &Playbook,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let text = serde_json::to_string(incident).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let tx = conn.transaction()?;
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO runs(incident_id, playbook, incident, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![incident.id as i64, playbook.id, text, ms(now)],
    )? == 1;
    if inserted {
        for (position, s) in playbook.steps.iter().enumerate() {
            tx.execute(
                "INSERT OR IGNORE INTO steps(key, incident_id, playbook, position, step_id, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'waiting', ?6)",
                params![
                    step_key(&playbook.id, incident.id, &s.id),
                    incident.id as i64,
                    playbook.id,
                    position as i64,
                    s.id,
                    ms(now)
                ],
            )?;
        }
    } else {
        tx.execute(
            "UPDATE runs SET incident = ?1 WHERE incident_id = ?2 AND playbook = ?3",
            params![text, incident.id as i64, playbook.id],
        )?;
    }
    tx.commit()?;
    Ok(inserted)
}

/// The run's latest copy of its incident.
pub fn run_incident(
    conn: &mut Connection,
    incident_id: u64,
    playbook: &str,
) -> Result<Option<Incident>, DbError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT incident FROM runs WHERE incident_id = ?1 AND playbook = ?2",
            params![incident_id as i64, playbook],
            |r| r.get(0),
        )
        .optional()?;
    text.map(|t| json(&t)).transpose()
}

/// Steps of one incident's runs (all playbooks when `playbook` is `None`), in order.
pub fn run_steps(
    conn: &mut Connection,
    incident_id: u64,
    playbook: Option<&str>,
) -> Result<Vec<StepRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM steps WHERE incident_id = ?1 AND (?2 IS NULL OR playbook = ?2)
         ORDER BY playbook, position"
    ))?;
    let rows = stmt.query_map(params![incident_id as i64, playbook], row)?;
    collect(rows)
}

/// Moves a step to `status` with a note, deadline and undo time; `false` if the step was not in
/// one of `from` (someone else moved it first).
#[allow(clippy::too_many_arguments)] // one row's columns; a struct would only rename them
pub fn set_step(
    conn: &mut Connection,
    key: &str,
    from: &[StepStatus],
    status: StepStatus,
    note: &str,
    deadline: Option<DateTime<Utc>>,
    undo_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let current: Option<String> = conn
        .query_row("SELECT status FROM steps WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(current) = current else {
        return Ok(false);
    };
    if !from.contains(&StepStatus::parse(&current)?) {
        return Ok(false);
    }
    conn.execute(
        "UPDATE steps SET status = ?1, note = ?2, deadline_ms = ?3, undo_ms = ?4, updated_ms = ?5 WHERE key = ?6",
        params![
            status.as_str(),
            note,
            deadline.map(ms),
            undo_at.map(ms),
            ms(now),
            key
        ],
    )?;
    Ok(true)
}

/// Steps waiting for approval, oldest first.
pub fn awaiting_approval(conn: &mut Connection) -> Result<Vec<StepRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM steps WHERE status = 'awaiting_approval' ORDER BY updated_ms"
    ))?;
    let rows = stmt.query_map([], row)?;
    collect(rows)
}

/// Approval waits whose deadline passed by `now`.
pub fn expired_approvals(
    conn: &mut Connection,
    now: DateTime<Utc>,
) -> Result<Vec<StepRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM steps WHERE status = 'awaiting_approval' AND deadline_ms <= ?1"
    ))?;
    let rows = stmt.query_map([ms(now)], row)?;
    collect(rows)
}

/// Done steps whose undo is due by `now`.
pub fn undo_due(conn: &mut Connection, now: DateTime<Utc>) -> Result<Vec<StepRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM steps WHERE status = 'done' AND undo_ms IS NOT NULL AND undo_ms <= ?1"
    ))?;
    let rows = stmt.query_map([ms(now)], row)?;
    collect(rows)
}

/// Approves or rejects the step of incident `incident_id` with id `step` (in any playbook)
/// that awaits approval; returns it, or `None` when no such step waits.
pub fn decide_approval(
    conn: &mut Connection,
    incident_id: u64,
    step: &str,
    approve: bool,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<StepRow>, DbError> {
    let waiting: Vec<StepRow> = run_steps(conn, incident_id, None)?
        .into_iter()
        .filter(|s| s.step_id == step && s.status == StepStatus::AwaitingApproval)
        .collect();
    let Some(found) = waiting.into_iter().next() else {
        return Ok(None);
    };
    let (status, verb) = if approve {
        (StepStatus::Approved, "approved")
    } else {
        (StepStatus::Rejected, "rejected")
    };
    let note = format!("{verb} by {by}");
    if !set_step(
        conn,
        &found.key,
        &[StepStatus::AwaitingApproval],
        status,
        &note,
        found.deadline,
        None,
        now,
    )? {
        return Ok(None);
    }
    Ok(Some(StepRow {
        status,
        note,
        updated: now,
        ..found
    }))
}
