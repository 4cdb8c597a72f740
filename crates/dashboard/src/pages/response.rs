//! The incident page's "Response" section: the playbook steps run for an incident, and
//! `POST /ui/incidents/{id}/steps/{step}/approve|reject` for those waiting for a person. The
//! forms go through the response module's library API, as the JSON routes do, so an approval
//! from a page reaches the audit log with the dashboard user as who.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use ensuresec_respond::db::{StepRow, StepStatus};
use serde::Deserialize;

use super::incident::load;
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::when;

/// One playbook step as the page shows it.
pub(crate) struct StepLine {
    /// The playbook.
    pub playbook: String,
    /// The step's id (part of the approve/reject URL).
    pub step: String,
    /// Where it stands (`awaiting_approval`, `done`, …).
    pub status: &'static str,
    /// What happened: the decision, the delivery, who approved.
    pub note: String,
    /// Last change, for people.
    pub updated: String,
    /// Until when an approval may wait, if it waits.
    pub deadline: Option<String>,
    /// Whether it waits for a person.
    pub awaiting: bool,
}

impl StepLine {
    fn of(row: StepRow) -> StepLine {
        StepLine {
            awaiting: row.status == StepStatus::AwaitingApproval,
            status: row.status.as_str(),
            deadline: row.deadline.map(when),
            updated: when(row.updated),
            playbook: row.playbook,
            step: row.step_id,
            note: row.note,
        }
    }
}

/// The steps of an incident's playbook runs; none when the response module is disabled.
pub(crate) async fn steps(state: &WebState, incident: u64) -> Result<Vec<StepLine>, WebError> {
    let Some(responder) = state.app.platform.responder() else {
        return Ok(Vec::new());
    };
    Ok(responder
        .steps(incident)
        .await?
        .into_iter()
        .map(StepLine::of)
        .collect())
}

/// The approve and reject forms.
#[derive(Deserialize)]
pub(crate) struct ActForm {
    csrf: String,
}

async fn decide(
    state: &WebState,
    viewer: &Viewer,
    id: &str,
    step: &str,
    form: &ActForm,
    approve: bool,
) -> Result<Response, WebError> {
    viewer.require_act()?;
    viewer.check_csrf(&form.csrf)?;
    let incident = load(state, viewer, id).await?.incident.id;
    let responder = state
        .app
        .platform
        .responder()
        .ok_or_else(|| WebError::NotFound("the response module".into()))?;
    responder
        .approve(incident, step, approve, &viewer.actor())
        .await?;
    Ok(Redirect::to(&format!("/ui/incidents/{incident}#response")).into_response())
}

/// Approves a waiting step (analysts and admins, with the session's CSRF token).
pub(crate) async fn approve(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Result<Response, WebError> {
    decide(&state, &viewer, &id, &step, &form, true).await
}

/// Rejects a waiting step (analysts and admins, with the session's CSRF token).
pub(crate) async fn reject(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Result<Response, WebError> {
    decide(&state, &viewer, &id, &step, &form, false).await
}
