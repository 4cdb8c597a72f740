//! The dashboard's failures and how each is answered: a redirect to the login page, or a small
//! error page with the status code. Server-side details go to the log, never to the page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// A failed dashboard request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebError {
    /// No valid session: go log in.
    #[error("login required")]
    LoginRequired,
    /// Logged in, but the role does not allow this (or the CSRF token is wrong).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such thing (or not visible to this user).
    #[error("{0} not found")]
    NotFound(String),
    /// A bad parameter or form field.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on our side.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ensuresec_store::StoreError> for WebError {
    fn from(e: ensuresec_store::StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<ensuresec_respond::RespondError> for WebError {
    fn from(e: ensuresec_respond::RespondError) -> Self {
        match e {
            ensuresec_respond::RespondError::NotFound(what) => WebError::NotFound(what),
            ensuresec_respond::RespondError::Invalid(m) => WebError::BadRequest(m),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<ensuresec_server::page_authz::PageAuthzError> for WebError {
    fn from(e: ensuresec_server::page_authz::PageAuthzError) -> Self {
        use ensuresec_integrity::IntegrityError;
        use ensuresec_server::page_authz::PageAuthzError;
        match e {
            PageAuthzError::Integrity(
                e @ (IntegrityError::Refused(_) | IntegrityError::Limit { .. }),
            ) => WebError::BadRequest(e.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl WebError {
    /// An API failure as a page answers it: what the request got wrong is shown, the rest is
    /// logged.
    pub(crate) fn from_api(e: ensuresec_server::error::ApiError) -> WebError {
        use ensuresec_server::error::ApiError;
        match e {
            ApiError::BadParam { .. } | ApiError::Conflict(_) => {
                WebError::BadRequest(e.to_string())
            }
            ApiError::NotFound(what) => WebError::NotFound(what),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::users::UserError> for WebError {
    fn from(e: crate::users::UserError) -> Self {
        match e {
            crate::users::UserError::Invalid(m) => WebError::BadRequest(m),
            crate::users::UserError::NotFound(n) => WebError::NotFound(format!("user {n}")),
            other => WebError::Internal(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            WebError::LoginRequired => return Redirect::to("/ui/login").into_response(),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, format!("Forbidden: {why}.")),
            WebError::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found.")),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            WebError::Internal(detail) => {
                tracing::error!(error = %detail, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed on the server; the log has the details.".to_string(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}
