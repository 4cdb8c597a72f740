//! Recovery in `serve` (crates/recovery, docs/recovery.md): the diagnosis from the open
//! incidents of the last 24 hours and the configured probes (heartbeats from the ingestor's
//! last-seen times), the dry-run plan for the most likely cause, and approved runs of that plan
//! in the background, every step recorded in the audit log and its progress kept for the API
//! and the dashboard. One run at a time: a second one would act on a shop the first is
//! repairing.

use schemars::JsonSchema;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ensuresec_recovery::assess::{Assessment, assess};
use ensuresec_recovery::audit::AuditSink;
use ensuresec_recovery::execute::{
    Approval, Context, Execution, Outcome, Progress, execute_observed,
};
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::observation::{from_incidents, recent_window};
use ensuresec_recovery::plan::{Plan, Step};
use ensuresec_recovery::probe::Prober;
use ensuresec_store::{IncidentFilter, PageRequest};
use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiError;
use crate::ledger::{Ledger, RecordKind};

/// Longest reason accepted with an approval.
pub const MAX_REASON_CHARS: usize = 2000;

/// What a diagnosis pass looks at.
#[derive(Debug, Clone, Copy)]
pub struct DiagnoseOptions {
    /// Run the configured probes now.
    pub probe: bool,
    /// Largest set of simultaneously faulty assets considered.
    pub max_size: usize,
    /// Candidates reported.
    pub top: usize,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        DiagnoseOptions {
            probe: true,
            max_size: HsOptions::default().max_size,
            top: 5,
        }
    }
}

/// The diagnosis and the dry-run plan, from the open incidents of the last 24 hours and (with
/// `options.probe`) the probes run now.
pub async fn diagnose(state: &AppState, options: DiagnoseOptions) -> Result<Assessment, ApiError> {
    let now = state.platform.clock().now();
    let since = now - recent_window();
    let incidents = state
        .platform
        .store()
        .list_incidents(
            IncidentFilter {
                since: Some(since),
                ..IncidentFilter::default()
            },
            PageRequest::new(PageRequest::MAX_LIMIT, None),
        )
        .await?;
    let (mut observations, alerts) = from_incidents(&state.assets, &incidents.items, since);
    if options.probe {
        let heartbeats = state.platform.ingestor().last_seen().snapshot();
        observations.extend(
            Prober::new()
                .run_all(&state.recovery.probes, &heartbeats, now)
                .await,
        );
    }
    let hs = HsOptions {
        max_size: options.max_size,
        ..HsOptions::default()
    };
    Ok(assess(
        &state.assets,
        &state.recovery,
        &alerts,
        observations,
        hs,
        options.top,
    )?)
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "RecoveryRunState")]
pub enum RunState {
    /// Steps are running.
    Running,
    /// Every step done, every probe healthy.
    Recovered,
    /// A step failed (or needs a person); later steps were skipped.
    NotRecovered,
    /// The audit log refused a record, so the run stopped rather than act unrecorded.
    Aborted,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "RecoveryStepState")]
pub enum StepState {
    /// Not started yet.
    Pending,
    /// Running now.
    Running,
    /// Done.
    Done,
    /// Failed; the plan stopped here.
    Failed,
    /// Not run.
    Skipped,
}

/// One step of a run, as progress views show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "RecoveryStepProgress")]
pub struct StepProgress {
    /// Position in the plan, from 1.
    pub number: usize,
    /// What it does.
    pub step: String,
    /// The asset it acts on or re-probes (none for the final re-verification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Where it stands.
    pub status: StepState,
    /// Evidence: exit status, files restored, probe results.
    pub detail: String,
}

/// A run: who approved it, why, and each step's progress.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "RecoveryRun")]
pub struct Run {
    /// Counts up from 1 while the server runs.
    pub id: u64,
    /// Who approved, when, how and why.
    pub approval: Approval,
    /// The assets assumed faulty.
    pub diagnosis: Vec<String>,
    /// Where the run stands.
    pub state: RunState,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    /// Why it was aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The steps, in order.
    pub steps: Vec<StepProgress>,
}

impl Run {
    fn new(id: u64, approval: Approval, plan: &Plan) -> Run {
        Run {
            id,
            approval,
            diagnosis: plan.diagnosis.clone(),
            state: RunState::Running,
            finished: None,
            error: None,
            steps: plan
                .steps
                .iter()
                .enumerate()
                .map(|(n, s)| StepProgress {
                    number: n + 1,
                    step: s.describe(),
                    asset: match s {
                        Step::Act { asset, .. }
                        | Step::Verify { asset }
                        | Step::Manual { asset, .. } => Some(asset.clone()),
                        Step::VerifyAll { .. } => None,
                    },
                    status: StepState::Pending,
                    detail: String::new(),
                })
                .collect(),
        }
    }

    fn apply(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Started(number) => {
                if let Some(s) = self.steps.get_mut(number - 1) {
                    s.status = StepState::Running;
                }
            }
            Progress::Finished(r) => {
                if let Some(s) = self.steps.get_mut(r.number - 1) {
                    s.status = match r.outcome {
                        Outcome::Done => StepState::Done,
                        Outcome::Failed => StepState::Failed,
                        Outcome::Skipped => StepState::Skipped,
                    };
                    s.detail.clone_from(&r.detail);
                }
            }
        }
    }

    fn finish(&mut self, result: Result<Execution, String>, at: DateTime<Utc>) {
        self.finished = Some(at);
        match result {
            Ok(e) => {
                self.state = if e.recovered {
                    RunState::Recovered
                } else {
                    RunState::NotRecovered
                };
            }
            Err(e) => {
                self.state = RunState::Aborted;
                self.error = Some(e);
                for s in &mut self.steps {
                    if matches!(s.status, StepState::Pending | StepState::Running) {
                        s.status = StepState::Skipped;
                    }
                }
            }
        }
    }
}

/// The latest run of this server, shared by the API and the dashboard.
#[derive(Debug, Default)]
pub struct Runs {
    latest: Mutex<Option<Run>>,
}

impl Runs {
    /// The latest run, if any, as it stands now.
    pub fn latest(&self) -> Option<Run> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Run>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Run)) {
        if let Some(run) = self.lock().as_mut().filter(|r| r.id == id) {
            f(run);
        }
    }
}

/// Records each step in the platform's audit log (kind `recovery`).
struct LedgerAudit(Arc<Ledger>);

impl AuditSink for LedgerAudit {
    fn record(&self, record: &Value) -> Result<(), String> {
        self.0
            .record_blocking(RecordKind::Recovery, record)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Who approves a run and why.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The authenticated principal (`api:NAME`, `user:NAME`).
    pub by: String,
    /// Where the approval came from (`POST /v1/recovery/runs`, the dashboard).
    pub via: String,
    /// Why, in the approver's words.
    pub reason: String,
}

/// Diagnoses now and starts the plan for the most likely cause in the background; returns the
/// run as it starts. Refused without the audit log, without a reason, while another run is
/// under way, and when nothing is observed faulty.
pub async fn start_run(state: &AppState, request: RunRequest) -> Result<Run, ApiError> {
    let Some(ledger) = state.platform.ledger().cloned() else {
        return Err(ApiError::Conflict(
            "executing a recovery plan records every step in the audit log: enable [ledger] first"
                .into(),
        ));
    };
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::BadParam {
            param: "reason".into(),
            message: format!("a written reason of 1 to {MAX_REASON_CHARS} characters is required"),
        });
    }
    if let Some(r) = state.runs.latest().filter(|r| r.state == RunState::Running) {
        return Err(running(&r));
    }
    let Some(plan) = diagnose(state, DiagnoseOptions::default()).await?.plan else {
        return Err(ApiError::Conflict(
            "nothing to recover: no asset is observed faulty".into(),
        ));
    };
    let clock = state.platform.clock().clone();
    let approval = Approval {
        by: request.by,
        at: clock.now(),
        via: request.via,
        reason: Some(reason.to_string()),
    };
    let run = {
        let mut latest = state.runs.lock();
        if let Some(r) = latest.as_ref().filter(|r| r.state == RunState::Running) {
            return Err(running(r));
        }
        let id = latest.as_ref().map_or(1, |r| r.id + 1);
        let run = Run::new(id, approval.clone(), &plan);
        *latest = Some(run.clone());
        run
    };
    tracing::warn!(run = run.id, by = %approval.by, diagnosis = ?plan.diagnosis, "recovery run approved");
    let (runs, config, last_seen, id) = (
        state.runs.clone(),
        state.recovery.clone(),
        state.platform.ingestor().last_seen().clone(),
        run.id,
    );
    tokio::spawn(async move {
        let prober = Prober::new();
        let audit = LedgerAudit(ledger);
        let heartbeats = move || last_seen.snapshot();
        let now_clock = clock.clone();
        let now = move || now_clock.now();
        let cx = Context {
            config: &config,
            prober: &prober,
            heartbeats: &heartbeats,
            audit: &audit,
            now: &now,
        };
        let observe = |p: Progress<'_>| runs.update(id, |r| r.apply(p));
        let result = execute_observed(&plan, approval, &cx, &observe)
            .await
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(run = id, error = %e, "recovery run aborted");
        }
        runs.update(id, |r| r.finish(result, clock.now()));
    });
    Ok(run)
}

fn running(run: &Run) -> ApiError {
    ApiError::Conflict(format!(
        "recovery run {} is still under way; wait for it to finish",
        run.id
    ))
}
