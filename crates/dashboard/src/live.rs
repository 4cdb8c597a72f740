//! `GET /ui/live`: the live feed of the dashboard, as Server-Sent Events over the session cookie
//! (a browser's `EventSource` cannot send a bearer token). It relays the platform's broadcast of
//! findings like `GET /v1/stream`, but shaped for the pages: each incident comes with the assets
//! it touches, partners get only what they may see, and alerts come as a count.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use ensuresec_assets::AssetModel;
use ensuresec_store::Findings;
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::WebState;
use crate::session::Viewer;
use crate::view::{IncidentRow, visible};

/// The SSE stream: `incident` (an [`IncidentRow`] as JSON), `alerts` (how many new alerts),
/// `lagged` (this client missed some updates; reload).
pub(crate) async fn stream(
    State(state): State<WebState>,
    viewer: Viewer,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.app.platform.live().subscribe();
    let model = state.app.assets.clone();
    let events =
        futures::stream::unfold((rx, viewer, model), |(mut rx, viewer, model)| async move {
            let out = match rx.recv().await {
                Ok(findings) => shape(&findings, &viewer, &model),
                Err(RecvError::Lagged(missed)) => {
                    vec![Event::default().event("lagged").data(missed.to_string())]
                }
                Err(RecvError::Closed) => return None,
            };
            let out: Vec<Result<Event, Infallible>> = out.into_iter().map(Ok).collect();
            Some((futures::stream::iter(out), (rx, viewer, model)))
        });
    Sse::new(futures::StreamExt::flatten(events)).keep_alive(KeepAlive::default())
}

fn shape(findings: &Findings, viewer: &Viewer, model: &Arc<AssetModel>) -> Vec<Event> {
    let mut out = Vec::new();
    if !findings.alerts.is_empty() && viewer.partner().is_none() {
        out.push(
            Event::default()
                .event("alerts")
                .data(findings.alerts.len().to_string()),
        );
    }
    for incident in &findings.incidents {
        if visible(viewer, model, incident) {
            let row = IncidentRow::of(incident, model);
            out.push(
                Event::default()
                    .event("incident")
                    .data(serde_json::to_string(&row).unwrap_or_else(|_| "null".into())),
            );
        }
    }
    out
}
