//! Logging in and out. The login form carries a CSRF token bound to a short-lived cookie
//! (double submit: a cross-site page can neither read the cookie nor set the field to match);
//! attempts are throttled and accounts lock after repeated failures; every outcome is recorded
//! in the audit log.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ensuresec_server::ledger::RecordKind;
use serde::Deserialize;

use super::render;
use crate::WebState;
use crate::error::WebError;
use crate::session::{Viewer, constant_time_eq, cookie, session_cookie};
use crate::users::LoginOutcome;

const LOGIN_CSRF_COOKIE: &str = "es_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    message: String,
}

fn login_csrf_cookie(token: &str) -> String {
    format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/ui/login; Secure; HttpOnly; SameSite=Strict; Max-Age=3600"
    )
}

fn fresh_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn login_page(status: StatusCode, message: &str) -> Result<Response, WebError> {
    let csrf = fresh_token()?;
    let html = render(&LoginPage {
        csrf: csrf.clone(),
        message: message.to_string(),
    })?;
    Ok((status, [(SET_COOKIE, login_csrf_cookie(&csrf))], html).into_response())
}

/// `GET /ui/login`.
pub(crate) async fn form() -> Result<Response, WebError> {
    login_page(StatusCode::OK, "")
}

/// The login form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

/// `POST /ui/login`.
pub(crate) async fn submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if !login_csrf_matches(&headers, &form.csrf) {
        return login_page(
            StatusCode::FORBIDDEN,
            "The form expired or was not sent from this page; please try again.",
        );
    }
    let users = state.users.clone();
    let now = state.app.platform.clock().now();
    let (name, password) = (form.name.clone(), form.password);
    let outcome = tokio::task::spawn_blocking(move || users.login(&name, &password, now))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    let (result, response) = match outcome {
        LoginOutcome::Ok(id, _) => (
            "success",
            (
                [(SET_COOKIE, session_cookie(Some(&id)))],
                Redirect::to("/ui/"),
            )
                .into_response(),
        ),
        LoginOutcome::Failed => (
            "failure",
            login_page(StatusCode::UNAUTHORIZED, "Wrong user name or password.")?,
        ),
        LoginOutcome::Throttled(seconds) => (
            "throttled",
            login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many attempts; wait {seconds} s and try again."),
            )?,
        ),
        LoginOutcome::Locked(until) => (
            "locked",
            login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "This account is locked after repeated failures until {} UTC.",
                    until.format("%H:%M")
                ),
            )?,
        ),
    };
    // Only a well-formed user name is recorded: text that cannot be one (a password typed into
    // the name field by mistake, say) never reaches the log.
    let user = if crate::users::is_user_name(&form.name) {
        form.name.as_str()
    } else {
        "(not a user name)"
    };
    audit(
        &state,
        RecordKind::Login,
        serde_json::json!({ "user": user, "result": result }),
    )
    .await;
    Ok(response)
}

fn login_csrf_matches(headers: &HeaderMap, token: &str) -> bool {
    cookie(headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| c.len() == 64 && constant_time_eq(c.as_bytes(), token.as_bytes()))
}

/// Records to the audit log when it is enabled; a failure is logged (the login itself stands).
pub(crate) async fn audit(state: &WebState, kind: RecordKind, record: serde_json::Value) {
    if let Some(ledger) = state.app.platform.ledger()
        && let Err(e) = ledger.record(kind, &record).await
    {
        tracing::error!(error = %e, kind = kind.as_str(), "could not record to the audit log");
    }
}

/// The logout form.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: String,
}

/// `POST /ui/logout`.
pub(crate) async fn logout(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let users = state.users.clone();
    let id = viewer.id.clone();
    tokio::task::spawn_blocking(move || users.logout(&id))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok((
        [(SET_COOKIE, session_cookie(None))],
        Redirect::to("/ui/login"),
    )
        .into_response())
}
