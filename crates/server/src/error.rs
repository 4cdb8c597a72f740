//! The one place where errors become HTTP answers. Every error body has the same shape:
//! `{"error": {"code": …, "message": …, "line"?: …, "field"?: …, "limit"?: …}}`. Server-side
//! failures are logged with their details and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ensuresec_model::DecodeError;
use ensuresec_pipeline::IngestError;
use ensuresec_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or an unknown bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The token lacks the scope.
    #[error("this token lacks the `{0}` scope")]
    Forbidden(&'static str),
    /// A batch of events was refused.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// A query parameter or path segment is bad.
    #[error("parameter `{param}`: {message}")]
    BadParam {
        /// The parameter.
        param: String,
        /// What is wrong.
        message: String,
    },
    /// The body is too large.
    #[error("request body is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body could not be read in time or at all.
    #[error("request body could not be read: {0}")]
    BodyRead(String),
    /// Not found.
    #[error("{0} not found")]
    NotFound(String),
    /// Storage failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// Ingest failed after validation.
    #[error("ingest failed")]
    Ingest(#[from] IngestError),
    /// The audit log failed.
    #[error("audit log failed")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The request conflicts with the current state (a refused status change).
    #[error("{0}")]
    Conflict(String),
    /// A payment request that cannot be scored.
    #[error("{0}")]
    Payment(#[from] ensuresec_fraud::InputError),
    /// Too many requests of a kind just now.
    #[error("too many {0} just now; try again shortly")]
    RateLimited(String),
    /// The body's content type is not one the route takes.
    #[error("unsupported content type {0}")]
    UnsupportedMedia(String),
    /// The response module refused or failed.
    #[error("{0}")]
    Respond(#[from] ensuresec_respond::RespondError),
    /// Diagnosis or a recovery run failed.
    #[error("{0}")]
    Recovery(#[from] ensuresec_recovery::RecoveryError),
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The 1-based line of the batch at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field or parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The limit that was exceeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Decode(DecodeError::TooManyEvents { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_many_events")
            }
            ApiError::Decode(DecodeError::LineTooLong { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "line_too_long")
            }
            ApiError::Decode(DecodeError::Invalid { .. }) => {
                (StatusCode::BAD_REQUEST, "invalid_event")
            }
            ApiError::BadParam { .. } => (StatusCode::BAD_REQUEST, "bad_parameter"),
            ApiError::Payment(_) => (StatusCode::BAD_REQUEST, "invalid_payment"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::BodyRead(_) => (StatusCode::BAD_REQUEST, "body_unreadable"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::UnsupportedMedia(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Respond(ensuresec_respond::RespondError::Invalid(_)) => {
                (StatusCode::BAD_REQUEST, "invalid")
            }
            ApiError::Respond(ensuresec_respond::RespondError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ApiError::Respond(ensuresec_respond::RespondError::Db(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Ingest(IngestError::Store(StoreError::KeyReused(_))) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
            }
            ApiError::Store(_) | ApiError::Ingest(_) | ApiError::Ledger(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Recovery(ensuresec_recovery::RecoveryError::NotApproved(_)) => {
                (StatusCode::BAD_REQUEST, "not_approved")
            }
            ApiError::Recovery(ensuresec_recovery::RecoveryError::Audit(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Recovery(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status.is_server_error() {
            // Details stay in the log; the client learns only that it may retry.
            tracing::error!(error = ?self, "request failed");
        }
        let (line, field, limit) = match &self {
            ApiError::Decode(d) => (
                d.line(),
                d.field().map(str::to_string),
                match d {
                    DecodeError::LineTooLong { limit, .. }
                    | DecodeError::TooManyEvents { limit } => Some(*limit),
                    DecodeError::Invalid { .. } => None,
                },
            ),
            ApiError::BadParam { param, .. } => (None, Some(param.clone()), None),
            ApiError::Payment(e) => (None, Some(e.field.clone()), None),
            ApiError::TooLarge { limit } => (None, None, Some(*limit)),
            ApiError::Ingest(IngestError::Store(StoreError::KeyReused(_))) => {
                (None, Some(crate::batch_key::HEADER.to_string()), None)
            }
            _ => (None, None, None),
        };
        let message = match &self {
            ApiError::Respond(ensuresec_respond::RespondError::Db(_)) => {
                "the response database is unavailable; retry later".to_string()
            }
            ApiError::Ingest(IngestError::Store(e @ StoreError::KeyReused(_))) => {
                format!("{e}; send a new batch under a new key")
            }
            ApiError::Ingest(IngestError::PipelineStopped) => {
                "the events were stored, but the server is stopping: they are detected when it \
                 starts again (a batch sent again under the same Idempotency-Key is not stored twice)"
                    .to_string()
            }
            ApiError::Store(_) | ApiError::Ingest(_) => {
                "the server cannot store data right now; nothing of this request was kept, retry later"
                    .to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                line,
                field,
                limit,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
