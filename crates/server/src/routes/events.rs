//! `POST /v1/events`: a batch of events, NDJSON or a JSON array; stored durably before the answer.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use ensuresec_model::{decode_batch, is_ndjson};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Ingest, Scoped};
use crate::error::{ApiError, ErrorBody};

/// What was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    /// Events stored.
    pub accepted: u64,
    /// Sequence number of the first.
    pub first_seq: u64,
    /// Sequence number of the last.
    pub last_seq: u64,
}

/// Rejections, counted by reason.
const REJECTED: &str = "ensuresec_ingest_rejected_total";

#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "One event per line (NDJSON), or a JSON array of events. See the Event schema.",
    ),
    responses(
        (status = 200, description = "Every event is durable and queued for detection", body = IngestResponse),
        (status = 400, description = "A line is invalid; nothing of the batch was stored", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The token lacks the ingest scope", body = ErrorBody),
        (status = 413, description = "Body, line or event count over the limit; nothing was stored", body = ErrorBody),
        (status = 503, description = "Storage unavailable; nothing was stored", body = ErrorBody),
    ),
    security(("bearer" = ["ingest"])),
)]
/// Ingests a batch. The whole batch is refused if any line is bad, so that the client can fix it
/// and resend without duplicates.
pub(crate) async fn post_events(
    State(state): State<AppState>,
    auth: Scoped<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    let bytes = crate::routes::body::read(&headers, body, state.max_body_bytes, state.body_timeout)
        .await
        .inspect_err(|e| {
            if matches!(e, ApiError::TooLarge { .. }) {
                metrics::counter!(REJECTED, "reason" => "too_large").increment(1);
            }
        })?;
    let limits = state.limits;
    let now = state.platform.clock().now();
    // Decoding a large batch is CPU work: keep it off the async threads.
    let (decoded, bytes) = tokio::task::spawn_blocking(move || {
        let decoded = decode_batch(&bytes, &limits, now);
        (decoded, bytes)
    })
    .await
    .map_err(|e| ApiError::BodyRead(e.to_string()))?;
    let events = decoded.inspect_err(|_| {
        metrics::counter!(REJECTED, "reason" => "invalid").increment(1);
    })?;
    let count = events.len() as u64;
    // NDJSON is stored as received; a JSON array is re-encoded as NDJSON by the store.
    let ingestor = state.platform.ingestor();
    let range = if is_ndjson(&bytes) {
        ingestor.ingest_ndjson(events, &bytes).await?
    } else {
        ingestor.ingest(events).await?
    };
    tracing::debug!(token = %auth.token.name, events = count, first_seq = range.first, "batch ingested");
    Ok(Json(IngestResponse {
        accepted: count,
        first_seq: range.first,
        last_seq: (range.first + range.len).saturating_sub(1),
    }))
}
