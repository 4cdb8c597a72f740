//! Who is asking: the session cookie looked up in the accounts database, and the CSRF check
//! that every state-changing form goes through.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;

use crate::WebState;
use crate::error::WebError;
use crate::users::{Role, Session};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "es_session";

/// The `Set-Cookie` value for a new session (or an expired one to clear it, with `None`).
pub(crate) fn session_cookie(id: Option<&str>) -> String {
    match id {
        Some(id) => format!(
            "{SESSION_COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
            crate::users::db_session_seconds()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
    }
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A logged-in user, taken by every page handler.
pub(crate) struct Viewer {
    /// The session.
    pub session: Session,
    /// The session id (to end it on logout).
    pub id: String,
}

impl Viewer {
    /// The user's role.
    pub fn role(&self) -> Role {
        self.session.user.role
    }

    /// The partner a partner user belongs to; `None` for everyone else (who see everything).
    pub fn partner(&self) -> Option<&str> {
        match self.role() {
            Role::Partner => Some(self.session.user.partner.as_deref().unwrap_or("")),
            _ => None,
        }
    }

    /// Refuses unless the user may manage users.
    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.role().is_admin() {
            Ok(())
        } else {
            Err(WebError::Forbidden("this needs the admin role"))
        }
    }

    /// Refuses unless the user may act on incidents (approvals, revoking decisions).
    pub fn require_act(&self) -> Result<(), WebError> {
        if self.role().can_act() {
            Ok(())
        } else {
            Err(WebError::Forbidden("this needs the analyst or admin role"))
        }
    }

    /// Who did it, as the response module and the audit log record it.
    pub fn actor(&self) -> String {
        format!("user:{}", self.session.user.name)
    }

    /// Refuses unless `token` is this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if constant_time_eq(token.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "the form's CSRF token is missing or wrong",
            ))
        }
    }
}

/// Compares without an early exit, so that timing does not reveal a prefix.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        let id = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|v| v.len() == 64)
            .ok_or(WebError::LoginRequired)?
            .to_string();
        let users = state.users.clone();
        let now = state.app.platform.clock().now();
        let lookup = id.clone();
        let session = tokio::task::spawn_blocking(move || users.session(&lookup, now))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))??
            .ok_or(WebError::LoginRequired)?;
        Ok(Viewer { session, id })
    }
}
