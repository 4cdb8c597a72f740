//! `GET /ui/users` and `POST /ui/users/{name}/role`: admins see the accounts and change roles;
//! every change is recorded in the audit log. Accounts are created and passwords set with
//! `ensuresec users` (a password never travels through a page).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ensuresec_server::ledger::RecordKind;
use serde::Deserialize;

use super::login::audit;
use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::users::{Role, User};

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<(User, Vec<(&'static str, bool)>)>,
}

/// The list (admins only).
pub(crate) async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    viewer.require_admin()?;
    let users = state.users.clone();
    let list = tokio::task::spawn_blocking(move || users.list())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    render(&UsersPage {
        chrome: Chrome::new(&viewer, "users"),
        users: list
            .into_iter()
            .map(|u| {
                let roles = Role::ALL
                    .iter()
                    .map(|r| (r.as_str(), *r == u.role))
                    .collect();
                (u, roles)
            })
            .collect(),
    })
}

/// The role form.
#[derive(Deserialize)]
pub(crate) struct RoleForm {
    csrf: String,
    role: String,
    #[serde(default)]
    partner: String,
}

/// Changes a role (admins only, with the session's CSRF token).
pub(crate) async fn set_role(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let role: Role = form.role.parse().map_err(WebError::BadRequest)?;
    let partner = (role == Role::Partner).then(|| form.partner.trim().to_string());
    let users = state.users.clone();
    let (n, p) = (name.clone(), partner.clone());
    tokio::task::spawn_blocking(move || users.set_role(&n, role, p.as_deref()))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    audit(
        &state,
        RecordKind::UserRoleChanged,
        serde_json::json!({ "user": name, "role": role.as_str(), "partner": partner, "by": viewer.session.user.name }),
    )
    .await;
    Ok(Redirect::to("/ui/users").into_response())
}
