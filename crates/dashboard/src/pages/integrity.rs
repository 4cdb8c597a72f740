//! `GET /ui/integrity` and `POST /ui/integrity/authorize|revoke`: the payment-page monitor's
//! inventories (PCI DSS 6.4.3 and 11.6.1) — each monitored page's scripts with their
//! authorisation, iframes, form actions and security headers as last fetched, unauthorised
//! scripts flagged — and, for admins, authorising a script with a written justification or
//! revoking an authorisation. The forms go through `ensuresec_server::page_authz`, as the API
//! does, so a change made here is recorded in the audit log the same way. The pages are the
//! shop's own, so partners do not see this page.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ensuresec_integrity::pages::authz::{Authorization, Authorizations, MAX_JUSTIFICATION};
use ensuresec_integrity::pages::inventory::{META_CSP, SECURITY_HEADERS, Script};
use ensuresec_integrity::pages::store::PageRecord;
use ensuresec_server::page_authz;
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::when;

/// Where the forms return to.
const PAGE: &str = "/ui/integrity";

/// One script as the page shows it.
pub(crate) struct ScriptLine {
    /// Its key: the URL, or `inline:<sha256>` (what the forms send).
    pub key: String,
    /// Whether it is inline code.
    pub inline: bool,
    /// The content's SHA-256, when known.
    pub sha256: Option<String>,
    /// The SRI attribute, if any.
    pub integrity: Option<String>,
    /// `none`, `valid`, `mismatch` or `unchecked`.
    pub sri: &'static str,
    /// Why the content is unknown or cut.
    pub note: Option<String>,
    /// Whether it is authorised as it is now.
    pub authorised: bool,
    /// The authorisation of its key, current or not.
    pub authorization: Option<Authorization>,
    /// When the authorisation was given, for people.
    pub at: String,
}

impl ScriptLine {
    fn of(script: &Script, auths: &Authorizations) -> ScriptLine {
        let authorization = auths.get(&script.key()).cloned();
        ScriptLine {
            key: script.key(),
            inline: script.src.is_none(),
            sha256: script.sha256.clone(),
            integrity: script.integrity.clone(),
            sri: script.sri_status(),
            note: script.note.clone(),
            authorised: auths.covers(script),
            at: authorization
                .as_ref()
                .map(|a| when(a.at))
                .unwrap_or_default(),
            authorization,
        }
    }

    /// Authorised, but for other content than the page serves now.
    pub fn changed(&self) -> bool {
        !self.authorised && self.authorization.is_some()
    }
}

/// One monitored page as the page shows it.
pub(crate) struct PageView {
    /// Its URL.
    pub url: String,
    /// HTTP status of the last fetch.
    pub status: u16,
    /// When it was fetched, for people.
    pub fetched: String,
    /// Scripts in document order.
    pub scripts: Vec<ScriptLine>,
    /// Scripts not authorised as they are now.
    pub unauthorised: usize,
    /// Iframe sources.
    pub iframes: Vec<String>,
    /// Forms: method and action.
    pub forms: Vec<(String, String)>,
    /// Every security header watched (and a `<meta>` policy), with its value when the page
    /// sends it.
    pub headers: Vec<(&'static str, Option<String>)>,
    /// Items left out past the inventory's limit.
    pub truncated: usize,
}

impl PageView {
    fn of(record: &PageRecord, auths: &Authorizations) -> PageView {
        let i = &record.inventory;
        let scripts: Vec<ScriptLine> = i.scripts.iter().map(|s| ScriptLine::of(s, auths)).collect();
        PageView {
            url: i.url.clone(),
            status: i.status,
            fetched: when(i.fetched),
            unauthorised: scripts.iter().filter(|s| !s.authorised).count(),
            scripts,
            iframes: i.iframes.clone(),
            forms: i
                .forms
                .iter()
                .map(|f| (f.method.clone(), f.action.clone()))
                .collect(),
            headers: SECURITY_HEADERS
                .iter()
                .chain([META_CSP].iter())
                .map(|h| (*h, i.headers.get(*h).cloned()))
                .collect(),
            truncated: i.truncated,
        }
    }
}

#[derive(Template)]
#[template(path = "integrity.html")]
struct IntegrityPage {
    chrome: Chrome,
    pages: Vec<PageView>,
    configured: usize,
    max_justification: usize,
}

/// The page (everyone but partners; the forms for admins only).
pub(crate) async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    if viewer.partner().is_some() {
        return Err(WebError::Forbidden("partners do not see the payment pages"));
    }
    let (records, auths) = page_authz::inventories(&state.app.platform).await?;
    render(&IntegrityPage {
        chrome: Chrome::new(&viewer, "integrity"),
        pages: records.iter().map(|r| PageView::of(r, &auths)).collect(),
        configured: state.app.platform.config().integrity.pages.len(),
        max_justification: MAX_JUSTIFICATION,
    })
}

/// The authorise form: the script as listed, the hash the admin saw (so that the authorisation
/// is for that content, not whatever the next fetch brings) and why the page needs it.
#[derive(Deserialize)]
pub(crate) struct AuthorizeForm {
    csrf: String,
    script: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    justification: String,
}

/// Authorises a script (admins only, with the session's CSRF token and a justification).
pub(crate) async fn authorize(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(form): Form<AuthorizeForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let sha256 = Some(form.sha256).filter(|h| !h.is_empty());
    page_authz::authorize(
        &state.app.platform,
        form.script,
        sha256,
        form.justification,
        viewer.actor(),
    )
    .await?;
    Ok(Redirect::to(PAGE).into_response())
}

/// The revoke form.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: String,
    script: String,
}

/// Revokes a script's authorisation (admins only, with the session's CSRF token).
pub(crate) async fn revoke(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(form): Form<RevokeForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    if !page_authz::revoke(&state.app.platform, form.script.clone(), viewer.actor()).await? {
        return Err(WebError::NotFound(format!(
            "the authorisation of {}",
            form.script
        )));
    }
    Ok(Redirect::to(PAGE).into_response())
}
