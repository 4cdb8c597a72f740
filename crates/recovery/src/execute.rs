//! Running a plan: only with an approval, one step at a time, each recorded in the audit log
//! before and after it runs, each asset re-probed until healthy before the next asset's steps.
//! The first failure stops the plan: later steps assume the earlier ones worked.

use schemars::JsonSchema;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditSink;
use crate::config::{Action, CommandSpec, RecoveryConfig};
use crate::error::RecoveryError;
use crate::observation::Health;
use crate::plan::{Plan, Step};
use crate::probe::{Heartbeats, Prober, fold};

/// Who allowed the plan to run. Built by the caller from an authenticated request or an
/// explicit confirmation; executing without one is impossible by construction.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "RecoveryApproval")]
pub struct Approval {
    /// The person (user or token name) who approved.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// How (`ensuresec diagnose --execute`, `POST /v1/recovery/runs`, the dashboard).
    pub via: String,
    /// Why, in the approver's words (required over HTTP and in the dashboard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It did what it should.
    Done,
    /// It failed; the plan stopped here.
    Failed,
    /// Not run: an earlier step failed, or a person must do it.
    Skipped,
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// Position in the plan, from 1.
    pub number: usize,
    /// What it was.
    pub step: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Evidence: exit status, files restored, probe results.
    pub detail: String,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// Who approved.
    pub approval: Approval,
    /// Every step, in order.
    pub steps: Vec<StepResult>,
    /// Whether every step was done and every probe ends healthy.
    pub recovered: bool,
}

/// What execution needs from the outside.
pub struct Context<'a> {
    /// The probes and actions.
    pub config: &'a RecoveryConfig,
    /// Runs the probes.
    pub prober: &'a Prober,
    /// Last events of heartbeat sources, read afresh for every probe round (they move while a
    /// restarted service catches up).
    pub heartbeats: &'a (dyn Fn() -> Heartbeats + Send + Sync),
    /// Where every step is recorded.
    pub audit: &'a dyn AuditSink,
    /// The clock (an edge of the system: time is passed in).
    pub now: &'a (dyn Fn() -> DateTime<Utc> + Send + Sync),
}

/// Where a run stands, told to an observer as it moves (the server keeps it for progress
/// views; the audit log has the same facts durably).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Step `number` (from 1) starts.
    Started(usize),
    /// A step ended (done, failed or skipped).
    Finished(&'a StepResult),
}

/// Runs `plan` under `approval`.
pub async fn execute(
    plan: &Plan,
    approval: Approval,
    cx: &Context<'_>,
) -> Result<Execution, RecoveryError> {
    execute_observed(plan, approval, cx, &|_| {}).await
}

/// Runs `plan` under `approval`, telling `observe` when each step starts and ends.
pub async fn execute_observed(
    plan: &Plan,
    approval: Approval,
    cx: &Context<'_>,
    observe: &(dyn Fn(Progress<'_>) + Send + Sync),
) -> Result<Execution, RecoveryError> {
    if approval.by.trim().is_empty() {
        return Err(RecoveryError::NotApproved(
            "nobody is named as approving".into(),
        ));
    }
    record(
        cx,
        json!({
            "event": "recovery_approved",
            "diagnosis": plan.diagnosis,
            "steps": plan.steps.iter().map(Step::describe).collect::<Vec<_>>(),
            "approval": approval,
        }),
    )?;
    let mut steps = Vec::with_capacity(plan.steps.len());
    let mut failed = false;
    for (n, step) in plan.steps.iter().enumerate() {
        let number = n + 1;
        let described = step.describe();
        if failed || matches!(step, Step::Manual { .. }) {
            let detail = if failed {
                "an earlier step failed"
            } else {
                "needs a person"
            };
            record(
                cx,
                json!({"event": "recovery_step", "number": number, "step": described, "outcome": Outcome::Skipped, "detail": detail}),
            )?;
            let result = StepResult {
                number,
                step: described,
                outcome: Outcome::Skipped,
                detail: detail.into(),
            };
            observe(Progress::Finished(&result));
            steps.push(result);
            continue;
        }
        record(
            cx,
            json!({"event": "recovery_step_started", "number": number, "step": described}),
        )?;
        observe(Progress::Started(number));
        tracing::info!(step = number, "{described}");
        let (ok, detail) = run_step(step, cx).await;
        let outcome = if ok { Outcome::Done } else { Outcome::Failed };
        record(
            cx,
            json!({"event": "recovery_step", "number": number, "step": described, "outcome": outcome, "detail": detail}),
        )?;
        failed |= !ok;
        let result = StepResult {
            number,
            step: described,
            outcome,
            detail,
        };
        observe(Progress::Finished(&result));
        steps.push(result);
    }
    let recovered = steps.iter().all(|s| s.outcome == Outcome::Done);
    record(
        cx,
        json!({"event": "recovery_finished", "diagnosis": plan.diagnosis, "recovered": recovered}),
    )?;
    Ok(Execution {
        approval,
        steps,
        recovered,
    })
}

fn record(cx: &Context<'_>, mut value: serde_json::Value) -> Result<(), RecoveryError> {
    value["at"] = json!((cx.now)());
    cx.audit.record(&value).map_err(RecoveryError::Audit)
}

async fn run_step(step: &Step, cx: &Context<'_>) -> (bool, String) {
    match step {
        Step::Act { action, .. } => match action {
            Action::RestoreFiles {
                state_dir,
                path,
                verifier_key,
            } => restore(state_dir, path.clone(), verifier_key.clone(), (cx.now)()).await,
            _ => match action.command() {
                Some(c) => run_command(c).await,
                None => (false, "the action has no command".into()),
            },
        },
        Step::Verify { asset } => verify(cx, std::slice::from_ref(asset)).await,
        Step::VerifyAll { assets } => verify(cx, assets).await,
        Step::Manual { reason, .. } => (false, reason.clone()),
    }
}

/// Runs a configured command without a shell. Its output is not kept: a rotated secret may be
/// in it, and the audit log must not carry secrets.
async fn run_command(spec: &CommandSpec) -> (bool, String) {
    let mut command = tokio::process::Command::new(&spec.command[0]);
    command
        .args(&spec.command[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = &spec.dir {
        command.current_dir(dir);
    }
    let started = Instant::now();
    let run = async { command.spawn()?.wait().await };
    match tokio::time::timeout(Duration::from_secs(spec.timeout_seconds), run).await {
        Err(_) => (false, format!("killed after {} s", spec.timeout_seconds)),
        Ok(Err(e)) => (false, format!("could not run `{}`: {e}", spec.command[0])),
        Ok(Ok(status)) => (
            status.success(),
            format!("{status} after {} ms", started.elapsed().as_millis()),
        ),
    }
}

/// Restores files from the integrity baseline (blocking file work off the async threads).
async fn restore(
    state_dir: &Path,
    only: Option<String>,
    verifier_key: Option<String>,
    now: DateTime<Utc>,
) -> (bool, String) {
    let state_dir = state_dir.to_path_buf();
    let work = tokio::task::spawn_blocking(move || {
        use ensuresec_integrity::{StateDir, ops, restore};
        let state = StateDir::open(&state_dir, verifier_key)?;
        let (baseline, status) = ops::status(&state)?;
        let changes = restore::select(status.changes, only.as_deref());
        restore::apply(&state, &baseline, &changes, now)
    });
    match work.await {
        Err(e) => (false, format!("restore did not finish: {e}")),
        Ok(Err(e)) => (false, format!("restore failed: {e}")),
        Ok(Ok(report)) => (
            report.warnings.is_empty(),
            format!(
                "{} restored, {} quarantined, {} mode/owner set back{}",
                report.restored.len(),
                report.quarantined.len(),
                report.metadata.len(),
                if report.warnings.is_empty() {
                    String::new()
                } else {
                    format!("; warnings: {}", report.warnings.join("; "))
                }
            ),
        ),
    }
}

/// Re-probes `assets` until all are healthy or the verification time runs out.
async fn verify(cx: &Context<'_>, assets: &[String]) -> (bool, String) {
    let probes: Vec<_> = cx
        .config
        .probes
        .iter()
        .filter(|p| assets.contains(&p.asset))
        .cloned()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(cx.config.verify.timeout_seconds);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let observations = fold(
            cx.prober
                .run_all(&probes, &(cx.heartbeats)(), (cx.now)())
                .await,
        );
        let bad: Vec<String> = observations
            .iter()
            .filter(|o| o.health != Health::Ok)
            .map(|o| format!("`{}`: {}", o.asset, o.detail))
            .collect();
        if bad.is_empty() {
            return (
                true,
                format!(
                    "healthy after {attempts} probe round{}",
                    if attempts == 1 { "" } else { "s" }
                ),
            );
        }
        if Instant::now() >= deadline {
            return (
                false,
                format!(
                    "still unhealthy after {} s: {}",
                    cx.config.verify.timeout_seconds,
                    bad.join("; ")
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(cx.config.verify.interval_ms)).await;
    }
}
