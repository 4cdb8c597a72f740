//! `POST /v1/events`: a batch of events, NDJSON or a JSON array; stored durably before the answer.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use ensuresec_model::{decode_batch, is_ndjson};
use ensuresec_store::{Appended, BatchKey, Resend};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Ingest, Scoped};
use crate::batch_key;
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
    params(
        ("Idempotency-Key" = Option<String>, Header,
         description = "The client's name for this batch (1 to 255 visible ASCII characters), \
                        unique per token. Sent again with the same body, the batch is not stored \
                        twice: the answer repeats the first one's sequence numbers, with \
                        `Idempotent-Replayed: true`. Kept as long as the batch's events."),
    ),
    responses(
        (status = 200, description = "Every event is durable and queued for detection (or was, under the same Idempotency-Key)", body = IngestResponse,
         headers(("Idempotent-Replayed" = String, description = "`true` when the batch was stored before under the same Idempotency-Key and not again"))),
        (status = 400, description = "A line or the Idempotency-Key is invalid; nothing of the batch was stored", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The token lacks the ingest scope", body = ErrorBody),
        (status = 413, description = "Body, line or event count over the limit; nothing was stored", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used before with a different body; nothing was stored", body = ErrorBody),
        (status = 503, description = "Storage unavailable; nothing was stored", body = ErrorBody),
    ),
    security(("bearer" = ["ingest"])),
)]
/// Ingests a batch. The whole batch is refused if any line is bad, so that the client can fix it
/// and resend without duplicates; a batch sent again under its `Idempotency-Key` is stored once.
pub(crate) async fn post_events(
    State(state): State<AppState>,
    auth: Scoped<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let key = batch_key::from_headers(&headers)?;
    let bytes = crate::routes::body::read(&headers, body, state.max_body_bytes, state.body_timeout)
        .await
        .inspect_err(|e| {
            if matches!(e, ApiError::TooLarge { .. }) {
                metrics::counter!(REJECTED, "reason" => "too_large").increment(1);
            }
        })?;
    let limits = state.limits;
    let now = state.platform.clock().now();
    let sender = auth.token.name.clone();
    // Decoding and hashing a large batch is CPU work: keep it off the async threads.
    let (decoded, key, bytes) = tokio::task::spawn_blocking(move || {
        let decoded = decode_batch(&bytes, &limits, now);
        let key = key.map(|key| BatchKey {
            sender,
            key,
            digest: Sha256::digest(&bytes).into(),
        });
        (decoded, key, bytes)
    })
    .await
    .map_err(|e| ApiError::BodyRead(e.to_string()))?;
    let events = decoded.inspect_err(|_| {
        metrics::counter!(REJECTED, "reason" => "invalid").increment(1);
    })?;
    let count = events.len() as u64;
    // NDJSON is stored as received; a JSON array is re-encoded as NDJSON by the store.
    let ingestor = state.platform.ingestor();
    let raw = is_ndjson(&bytes).then_some(&bytes[..]);
    let appended = ingestor
        .ingest_batch(events, raw, key.map_or(Resend::Unknown, Resend::Key))
        .await?;
    let range = appended.range();
    let again = matches!(appended, Appended::Earlier(_));
    tracing::debug!(token = %auth.token.name, events = count, first_seq = range.first, again, "batch ingested");
    let mut response = Json(IngestResponse {
        accepted: range.len,
        first_seq: range.first,
        last_seq: (range.first + range.len).saturating_sub(1),
    })
    .into_response();
    if again {
        response
            .headers_mut()
            .insert(batch_key::REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}
