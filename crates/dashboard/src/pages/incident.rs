//! `GET /ui/incidents/{id}`: one incident — what happened (timeline), the evidence (its alerts),
//! the assets it touches with the cascade drawn, what was done (actions), and the audit-log
//! receipt. The response module's playbook steps, with approve/reject forms for those awaiting
//! approval, are in the "Response" section next to the actions (`response.rs`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use ensuresec_assets::{AssetModel, CascadeOptions, IncidentView};
use ensuresec_store::IncidentDetail;

use super::decisions::{DecisionLine, of_incident};
use super::response::{StepLine, steps};
use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::graph::{Svg, cascade_graph};
use crate::session::Viewer;
use crate::view::{IncidentRow, visible, when};

/// One line of the timeline.
pub(crate) struct TimelineEntry {
    /// When.
    pub at: String,
    /// What kind: `status`, `alert`, `action`.
    pub kind: &'static str,
    /// What happened.
    pub text: String,
}

/// An alert as evidence.
pub(crate) struct Evidence {
    /// Alert id.
    pub id: u64,
    /// Time.
    pub at: String,
    /// Detector / rule.
    pub source: String,
    /// Severity name.
    pub severity: &'static str,
    /// Title.
    pub title: String,
    /// The evidence JSON, pretty-printed.
    pub detail: String,
}

/// An affected asset and its cascade.
pub(crate) struct AffectedAsset {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Business impact per hour of everything it takes down.
    pub impact_per_hour: String,
    /// How many assets the cascade reaches.
    pub reach: usize,
    /// The drawing.
    pub svg: Svg,
}

/// An action taken.
pub(crate) struct ActionLine {
    /// When.
    pub at: String,
    /// Kind.
    pub kind: String,
    /// By whom.
    pub by: String,
    /// Details as JSON.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    row: IncidentRow,
    ledger_index: Option<u64>,
    timeline: Vec<TimelineEntry>,
    evidence: Vec<Evidence>,
    affected: Vec<AffectedAsset>,
    actions: Vec<ActionLine>,
    steps: Vec<StepLine>,
    decisions: Vec<DecisionLine>,
}

/// The incident `id` if it exists and the viewer may see it.
pub(crate) async fn load(
    state: &WebState,
    viewer: &Viewer,
    id: &str,
) -> Result<IncidentDetail, WebError> {
    let id: u64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("incident {id}")))?;
    let detail = state
        .app
        .platform
        .store()
        .incident(id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("incident {id}")))?;
    // Partners get the same answer for "not yours" as for "none".
    if !visible(viewer, &state.app.assets, &detail.incident) {
        return Err(WebError::NotFound(format!("incident {id}")));
    }
    Ok(detail)
}

fn affected(model: &AssetModel, detail: &IncidentDetail) -> Vec<AffectedAsset> {
    model
        .assets_for(&IncidentView::of(&detail.incident))
        .into_iter()
        .filter_map(|i| {
            let asset = &model.assets()[i];
            let cascade = model.cascade(&asset.id, CascadeOptions::default())?;
            Some(AffectedAsset {
                id: asset.id.clone(),
                name: asset.name.clone(),
                impact_per_hour: format!("{:.0}", cascade.business_impact_per_hour),
                reach: cascade.affected.len(),
                svg: cascade_graph(model, &cascade),
            })
        })
        .collect()
}

/// The page.
pub(crate) async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let detail = load(&state, &viewer, &id).await?;
    let model = &state.app.assets;
    let incident = &detail.incident;
    let mut timeline: Vec<(chrono::DateTime<chrono::Utc>, TimelineEntry)> = Vec::new();
    for t in &incident.history {
        let from = t.from.map_or("new".to_string(), |f| f.as_str().to_string());
        timeline.push((
            t.at,
            TimelineEntry {
                at: when(t.at),
                kind: "status",
                text: format!("{from} → {} by {}: {}", t.to.as_str(), t.by, t.reason),
            },
        ));
    }
    for a in &detail.alerts {
        timeline.push((
            a.time,
            TimelineEntry {
                at: when(a.time),
                kind: "alert",
                text: format!("{} ({} / {})", a.title, a.detector, a.rule_id),
            },
        ));
    }
    for a in &detail.actions {
        timeline.push((
            a.time,
            TimelineEntry {
                at: when(a.time),
                kind: "action",
                text: format!("{} by {}", a.kind, a.by),
            },
        ));
    }
    timeline.sort_by_key(|(t, _)| *t);
    let evidence = detail
        .alerts
        .iter()
        .map(|a| Evidence {
            id: a.id,
            at: when(a.time),
            source: format!("{} / {}", a.detector, a.rule_id),
            severity: a.severity.as_str(),
            title: a.title.clone(),
            detail: serde_json::to_string_pretty(&a.evidence).unwrap_or_default(),
        })
        .collect();
    let actions = detail
        .actions
        .iter()
        .map(|a| ActionLine {
            at: when(a.time),
            kind: a.kind.clone(),
            by: a.by.clone(),
            detail: serde_json::to_string(&a.detail).unwrap_or_default(),
        })
        .collect();
    render(&IncidentPage {
        chrome: Chrome::new(&viewer, "incidents"),
        row: IncidentRow::of(incident, model),
        ledger_index: incident.ledger_index,
        timeline: timeline.into_iter().map(|(_, e)| e).collect(),
        evidence,
        affected: affected(model, &detail),
        actions,
        steps: steps(&state, incident.id).await?,
        decisions: of_incident(&state, &viewer, incident.id),
    })
}

/// `GET /ui/incidents/{id}/receipt`: the audit-log receipt of the incident's latest state (JSON,
/// checkable offline with `ensuresec ledger verify-receipt`).
pub(crate) async fn receipt(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let detail = load(&state, &viewer, &id).await?;
    let index = detail
        .incident
        .ledger_index
        .ok_or_else(|| WebError::NotFound(format!("incident {id} in the audit log")))?;
    let ledger = state
        .app
        .platform
        .ledger()
        .ok_or_else(|| WebError::NotFound("the audit log".into()))?;
    let receipt = ledger
        .receipt(index)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"incident-{id}-receipt.json\""),
            ),
        ],
        receipt.to_json(),
    )
        .into_response())
}
