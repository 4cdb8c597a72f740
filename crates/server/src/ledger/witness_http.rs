//! The HTTP face of a witness (`ensuresec witness`): C2SP tlog-witness `POST /add-checkpoint`.
//! A refusal is logged as an error naming the log and the reason (a fork or a rollback is an
//! alarm) and answered with the status [`WitnessError::http_status`] prescribes; a 409 carries
//! the size the witness last cosigned.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ensuresec_auditlog::note::MAX_NOTE_BYTES;
use ensuresec_auditlog::witness::{AddCheckpoint, Witness, WitnessError};
use ensuresec_model::Clock;

#[derive(Clone)]
struct WitnessState {
    witness: Arc<Witness>,
    clock: Arc<dyn Clock>,
}

/// The witness's router.
pub fn router(witness: Arc<Witness>, clock: Arc<dyn Clock>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_NOTE_BYTES + 4096))
        .with_state(WitnessState { witness, clock })
}

async fn add_checkpoint(State(state): State<WitnessState>, body: Bytes) -> Response {
    let witness = state.witness.clone();
    let now = u64::try_from(state.clock.now().timestamp()).unwrap_or(0);
    // Parsing, verifying and the durable state write are blocking work.
    let result = tokio::task::spawn_blocking(move || {
        let req = AddCheckpoint::parse(&body)?;
        witness.add_checkpoint(&req, now)
    })
    .await;
    match result {
        Ok(Ok(sig)) => {
            tracing::info!("cosigned a checkpoint");
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                sig.to_line(),
            )
                .into_response()
        }
        Ok(Err(e)) => refuse(&e),
        Err(e) => {
            tracing::error!(error = %e, "witness task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn refuse(e: &WitnessError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        WitnessError::Fork { .. } | WitnessError::Rollback { .. } => {
            tracing::error!(status = status.as_u16(), error = %e, "REFUSED to cosign: the log is not append-only");
        }
        _ => tracing::warn!(status = status.as_u16(), error = %e, "refused to cosign"),
    }
    match e.conflict_size() {
        Some(size) if status == StatusCode::CONFLICT => (
            status,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        _ => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        )
            .into_response(),
    }
}
