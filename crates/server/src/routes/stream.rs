//! `GET /v1/stream`: findings as they happen, as Server-Sent Events — the feed of live views and
//! of clients that want to react to incidents without polling.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::ErrorBody;

#[utoipa::path(get, path = "/v1/stream", tag = "alerts",
    responses(
        (status = 200, description = "text/event-stream: `alert`, `incident` and `action` events, each data a JSON object; `lagged` when this client fell behind and missed some"),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// Streams new alerts, incident updates and actions.
pub(crate) async fn stream(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.platform.live().subscribe();
    let events = futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(findings) => {
                let mut out = Vec::new();
                for a in &findings.alerts {
                    out.push(sse("alert", a));
                }
                for i in &findings.incidents {
                    out.push(sse("incident", i));
                }
                for a in &findings.actions {
                    out.push(sse("action", a));
                }
                Some((futures::stream::iter(out), rx))
            }
            Err(RecvError::Lagged(missed)) => {
                let lagged = Event::default().event("lagged").data(missed.to_string());
                Some((futures::stream::iter(vec![Ok(lagged)]), rx))
            }
            Err(RecvError::Closed) => None,
        }
    });
    Sse::new(futures::StreamExt::flatten(events)).keep_alive(KeepAlive::default())
}

fn sse<T: serde::Serialize>(kind: &str, value: &T) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event(kind)
        .data(serde_json::to_string(value).unwrap_or_else(|_| "null".into())))
}
