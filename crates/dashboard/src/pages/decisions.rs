//! `GET /ui/decisions` and `POST /ui/decisions/{id}/revoke`: the response module's active
//! decisions (what bouncers and the firewall enforce now) and revoking one. Decisions are about
//! addresses and accounts of anyone, so partners do not see this page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ensuresec_respond::decision::Decision;
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::when;

/// The most decisions the page lists (newest first).
const LIMIT: usize = 1000;

/// One active decision as the page shows it.
pub(crate) struct DecisionLine {
    /// Id (part of the revoke URL).
    pub id: u64,
    /// `ban`, `captcha`, …
    pub kind: &'static str,
    /// `ip`, `range`, `account`, …
    pub scope: &'static str,
    /// What it applies to.
    pub value: String,
    /// Who decided (`playbook:<id>`, `api:<token>`, `user:<name>`).
    pub origin: String,
    /// Why.
    pub scenario: String,
    /// The incident it answers.
    pub incident: Option<u64>,
    /// When it lapses, for people.
    pub until: String,
}

impl DecisionLine {
    /// The line of a decision.
    pub(crate) fn of(d: Decision) -> DecisionLine {
        DecisionLine {
            id: d.id,
            kind: d.kind.as_str(),
            scope: d.scope.as_str(),
            until: when(d.until),
            value: d.value,
            origin: d.origin,
            scenario: d.scenario,
            incident: d.incident_id,
        }
    }
}

#[derive(Template)]
#[template(path = "decisions.html")]
struct DecisionsPage {
    chrome: Chrome,
    enabled: bool,
    decisions: Vec<DecisionLine>,
    /// The incident a revoke returns to: none here, the page returns to itself.
    back: Option<u64>,
}

fn refuse_partners(viewer: &Viewer) -> Result<(), WebError> {
    match viewer.partner() {
        Some(_) => Err(WebError::Forbidden("partners do not see decisions")),
        None => Ok(()),
    }
}

/// The list.
pub(crate) async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    refuse_partners(&viewer)?;
    let responder = state.app.platform.responder();
    let now = state.app.platform.clock().now();
    let decisions = responder
        .map(|r| r.book().active(now, LIMIT, |_| true))
        .unwrap_or_default();
    render(&DecisionsPage {
        chrome: Chrome::new(&viewer, "decisions"),
        enabled: responder.is_some(),
        decisions: decisions.into_iter().map(DecisionLine::of).collect(),
        back: None,
    })
}

/// The active decisions that answer incident `id`, for its page; none for partners or when the
/// response module is disabled.
pub(crate) fn of_incident(state: &WebState, viewer: &Viewer, id: u64) -> Vec<DecisionLine> {
    match (state.app.platform.responder(), viewer.partner()) {
        (Some(r), None) => r
            .book()
            .active(state.app.platform.clock().now(), LIMIT, |d| {
                d.incident_id == Some(id)
            })
            .into_iter()
            .map(DecisionLine::of)
            .collect(),
        _ => Vec::new(),
    }
}

/// The revoke form; from an incident page it carries the incident to go back to.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: String,
    #[serde(default)]
    incident: Option<u64>,
}

/// Revokes a decision (analysts and admins, with the session's CSRF token); bouncers see it in
/// `deleted` on their next pull, and the audit log records who.
pub(crate) async fn revoke(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, WebError> {
    viewer.require_act()?;
    viewer.check_csrf(&form.csrf)?;
    let id: u64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("decision {id}")))?;
    let responder = state
        .app
        .platform
        .responder()
        .ok_or_else(|| WebError::NotFound("the response module".into()))?;
    responder.revoke(id, &viewer.actor()).await?;
    let back = match form.incident {
        Some(i) => format!("/ui/incidents/{i}#response"),
        None => "/ui/decisions".to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}
