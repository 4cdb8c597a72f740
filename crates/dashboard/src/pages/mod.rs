//! One file per page (or family of pages); each handler takes a [`crate::session::Viewer`],
//! reads through the store and the asset model, and renders an askama template.

pub(crate) mod assets;
pub(crate) mod decisions;
pub(crate) mod incident;
pub(crate) mod incidents;
pub(crate) mod integrity;
pub(crate) mod login;
pub(crate) mod overview;
pub(crate) mod recovery;
pub(crate) mod response;
pub(crate) mod rings;
pub(crate) mod search;
pub(crate) mod users;

use askama::Template;
use axum::response::Html;

use crate::error::WebError;
use crate::session::Viewer;

/// What the layout needs on every page: who is logged in, what the menu offers, the CSRF token
/// for the logout form.
pub(crate) struct Chrome {
    /// User name.
    pub user: String,
    /// Role name.
    pub role: &'static str,
    /// Whether to show the Users menu entry.
    pub admin: bool,
    /// Whether to offer the forms that act on incidents (approve, reject, revoke).
    pub act: bool,
    /// Whether to show the Decisions menu entry (everyone but partners).
    pub decisions: bool,
    /// The session's CSRF token.
    pub csrf: String,
    /// The menu entry to highlight.
    pub active: &'static str,
}

impl Chrome {
    /// The chrome for a viewer on a page.
    pub fn new(viewer: &Viewer, active: &'static str) -> Chrome {
        Chrome {
            user: viewer.session.user.name.clone(),
            role: viewer.role().as_str(),
            admin: viewer.role().is_admin(),
            act: viewer.role().can_act(),
            decisions: viewer.partner().is_none(),
            csrf: viewer.session.csrf.clone(),
            active,
        }
    }

    /// The class of a menu entry.
    pub fn nav(&self, entry: &str) -> &'static str {
        if entry == self.active { "active" } else { "" }
    }
}

/// Renders a template into a response.
pub(crate) fn render(t: &impl Template) -> Result<Html<String>, WebError> {
    t.render()
        .map(Html)
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}
