//! `GET /ui/recovery`: what is actually broken and how to get back — the ranked candidates with
//! their reasoning and the next probe, the dry-run plan, the latest run's progress, all drawn on
//! the asset graph — and `POST /ui/recovery/run`, where an admin approves and starts the plan
//! with a written reason. Both go through the server's recovery module, as the JSON routes do,
//! so a run started here reaches the audit log with the dashboard user as approver.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ensuresec_recovery::Health;
use ensuresec_recovery::assess::Assessment;
use ensuresec_server::recovery::{
    DiagnoseOptions, Run, RunRequest, RunState, StepState, diagnose, start_run,
};
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::graph::{Svg, asset_graph};
use crate::session::Viewer;
use crate::view::when;

/// One candidate as the page shows it.
struct CandidateLine {
    rank: usize,
    assets: String,
    likelihood: String,
    reasoning: Vec<String>,
}

/// One step of the plan or of the run.
struct StepLine {
    number: usize,
    step: String,
    status: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    symptoms: Vec<String>,
    candidates: Vec<CandidateLine>,
    candidate_count: usize,
    complete: bool,
    next_probes: Vec<String>,
    plan: Vec<StepLine>,
    plan_for: String,
    run: Option<RunSummary>,
    svg: Svg,
    probes: usize,
    ledger: bool,
}

/// The latest run, for the page.
struct RunSummary {
    id: u64,
    state: &'static str,
    by: String,
    at: String,
    reason: String,
    diagnosis: String,
    error: Option<String>,
    steps: Vec<StepLine>,
}

fn run_state(s: RunState) -> &'static str {
    match s {
        RunState::Running => "running",
        RunState::Recovered => "recovered",
        RunState::NotRecovered => "not_recovered",
        RunState::Aborted => "aborted",
    }
}

fn step_state(s: StepState) -> &'static str {
    match s {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Done => "done",
        StepState::Failed => "failed",
        StepState::Skipped => "skipped",
    }
}

impl RunSummary {
    fn of(run: Run) -> RunSummary {
        RunSummary {
            id: run.id,
            state: run_state(run.state),
            at: when(run.approval.at),
            by: run.approval.by,
            reason: run.approval.reason.unwrap_or_default(),
            diagnosis: run.diagnosis.join(" + "),
            error: run.error,
            steps: run
                .steps
                .into_iter()
                .map(|s| StepLine {
                    number: s.number,
                    step: s.step,
                    status: step_state(s.status),
                    detail: s.detail,
                })
                .collect(),
        }
    }
}

/// The colour of each asset on the graph: the most likely cause, what is observed faulty or
/// healthy, and what the latest run is repairing now; unobserved assets are `unknown`.
fn colours(assessment: &Assessment, run: Option<&Run>) -> HashMap<String, &'static str> {
    let mut status: HashMap<String, &'static str> = HashMap::new();
    for o in &assessment.observed {
        let c = match o.health {
            Health::Ok => "healthy",
            Health::Faulty => "faulty",
            Health::Unknown => "unknown",
        };
        status.insert(o.asset.clone(), c);
    }
    if let Some(top) = assessment.diagnosis.candidates.first() {
        for a in &top.assets {
            status.insert(a.clone(), "candidate");
        }
    }
    if let Some(run) = run.filter(|r| r.state == RunState::Running) {
        for s in run.steps.iter().filter(|s| s.status == StepState::Running) {
            if let Some(a) = &s.asset {
                status.insert(a.clone(), "repairing");
            }
        }
    }
    status
}

/// The page (everyone but partners: it spans the whole shop).
pub(crate) async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    if viewer.partner().is_some() {
        return Err(WebError::Forbidden("recovery spans the whole shop"));
    }
    let app = &state.app;
    let assessment = diagnose(app, DiagnoseOptions::default())
        .await
        .map_err(WebError::from_api)?;
    let run = app.runs.latest();
    let mut status = colours(&assessment, run.as_ref());
    for a in app.assets.assets() {
        status.entry(a.id.clone()).or_insert("unknown");
    }
    let svg = asset_graph(&app.assets, &status, |_| true);
    let report = &assessment.diagnosis;
    let observed_faulty = report
        .candidates
        .first()
        .is_some_and(|c| !c.assets.is_empty());
    render(&RecoveryPage {
        chrome: Chrome::new(&viewer, "recovery"),
        symptoms: report.symptoms.clone(),
        candidates: if observed_faulty {
            report
                .candidates
                .iter()
                .map(|c| CandidateLine {
                    rank: c.rank,
                    assets: c.assets.join(" + "),
                    likelihood: format!("{:.1} %", c.likelihood * 100.0),
                    reasoning: c.reasoning.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        candidate_count: report.candidate_count,
        complete: report.complete,
        next_probes: report
            .next_probes
            .iter()
            .map(|p| format!("{} ({:.2} bits): {}", p.asset, p.entropy_bits, p.reason))
            .collect(),
        plan_for: assessment
            .plan
            .as_ref()
            .map(|p| p.diagnosis.join(" + "))
            .unwrap_or_default(),
        plan: assessment
            .plan
            .iter()
            .flat_map(|p| p.steps.iter().enumerate())
            .map(|(n, s)| StepLine {
                number: n + 1,
                step: s.describe(),
                status: "planned",
                detail: String::new(),
            })
            .collect(),
        run: run.map(RunSummary::of),
        svg,
        probes: app.recovery.probes.len(),
        ledger: app.platform.ledger().is_some(),
    })
}

/// The approve-and-run form.
#[derive(Deserialize)]
pub(crate) struct RunForm {
    csrf: String,
    reason: String,
}

/// Approves and starts the plan (admins, with the session's CSRF token and a written reason).
pub(crate) async fn run(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(form): Form<RunForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    start_run(
        &state.app,
        RunRequest {
            by: viewer.actor(),
            via: "dashboard".into(),
            reason: form.reason,
        },
    )
    .await
    .map_err(WebError::from_api)?;
    Ok(Redirect::to("/ui/recovery#run").into_response())
}
