//! `GET /ui/incidents`: incidents newest first, filtered by status and severity, paged by
//! cursor; new ones are prepended live by the script.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use ensuresec_model::{IncidentStatus, Severity};
use ensuresec_store::{IncidentFilter, PageRequest};
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::{IncidentRow, visible};

/// Rows per page.
const PAGE: usize = 50;
/// Pages a partner's filter may scan for one page of visible incidents.
const PARTNER_SCAN_PAGES: usize = 10;

/// The query string.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    before: Option<u64>,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    rows: Vec<IncidentRow>,
    filtered: bool,
    query: String,
    statuses: Vec<(&'static str, bool)>,
    severities: Vec<(&'static str, bool)>,
    next: Option<u64>,
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<Option<T>, WebError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| WebError::BadRequest(format!("`{text}` is not a {what}")))
}

/// The page.
pub(crate) async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    let filter = IncidentFilter {
        status: parse::<IncidentStatus>("status", &q.status)?,
        min_severity: parse::<Severity>("severity", &q.severity)?,
        ..IncidentFilter::default()
    };
    let model = &state.app.assets;
    let store = state.app.platform.store();
    let mut rows = Vec::new();
    let mut before = q.before;
    let mut next = None;
    let scans = if viewer.partner().is_some() {
        PARTNER_SCAN_PAGES
    } else {
        1
    };
    for _ in 0..scans {
        let page = store
            .list_incidents(filter.clone(), PageRequest::new(PAGE, before))
            .await?;
        for i in &page.items {
            if rows.len() < PAGE && visible(&viewer, model, i) {
                rows.push(IncidentRow::of(i, model));
                next = Some(i.id);
            }
        }
        before = page.next_cursor;
        if before.is_none() {
            // Nothing older: no link to an empty page.
            next = None;
            break;
        }
        if rows.len() >= PAGE {
            // Continue below the last row shown.
            break;
        }
        // A partner's filter scanned a page without filling one: go on from its end.
        next = before;
    }
    render(&IncidentsPage {
        chrome: Chrome::new(&viewer, "incidents"),
        rows,
        filtered: !q.status.is_empty() || !q.severity.is_empty(),
        query: format!("status={}&severity={}", q.status, q.severity),
        statuses: IncidentStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == q.status))
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == q.severity))
            .collect(),
        next,
    })
}
