//! `POST /v1/payments/score`: one payment authorisation in, its fraud probability, decision
//! and reasons out, before the payment is sent to the issuer. Scoring counts the payment in the
//! shared feature state, so it needs a token.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use ensuresec_fraud::rings::RingStats;
use ensuresec_fraud::service::Status;
use ensuresec_fraud::{Assessment, FraudService, PaymentRequest};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::{Ingest, Read, Scoped};
use crate::error::{ApiError, ErrorBody};

/// Payments scored over HTTP, by `decision`.
const SCORED: &str = "ensuresec_fraud_scored_total";
/// Payment requests refused as invalid (not labelled by field: unknown keys would make the
/// label set unbounded).
const REFUSED: &str = "ensuresec_fraud_refused_total";

/// The shared scorer, or 404 when the module is disabled.
fn service(state: &AppState) -> Result<&std::sync::Arc<FraudService>, ApiError> {
    state
        .platform
        .fraud()
        .ok_or_else(|| ApiError::NotFound("fraud scoring (disabled in [fraud])".into()))
}

#[utoipa::path(
    post,
    path = "/v1/payments/score",
    tag = "fraud",
    request_body(
        content = String,
        content_type = "application/json",
        description = "One payment request (see docs/fraud.md): payment_id, time, amount {minor, currency}, merchant, card {fingerprint, bin, country?}, billing {country, hash?}, and optional shipping, ip, ip_country, device, email_hash, account {id, age_days}, three_ds. Unknown keys are refused.",
    ),
    responses(
        (status = 200, description = "{payment_id, probability, decision: approve|challenge|review|decline, blocked_by?, reasons: [{code, text, contribution}]}"),
        (status = 400, description = "A field is missing or invalid (`time` also when before 1990 or more than [fraud] max_future_skew_seconds ahead of the server's clock); `field` names it. Nothing was scored or counted", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The token lacks the ingest scope", body = ErrorBody),
        (status = 404, description = "Fraud scoring is disabled in [fraud]", body = ErrorBody),
        (status = 413, description = "Body over [fraud] max_body_bytes", body = ErrorBody),
    ),
    security(("bearer" = ["ingest"])),
)]
/// Scores one payment.
pub(crate) async fn score(
    State(state): State<AppState>,
    _auth: Scoped<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Assessment>, ApiError> {
    let service = service(&state)?;
    let config = &state.platform.config().fraud;
    let bytes =
        crate::routes::body::read(&headers, body, config.max_body_bytes, state.body_timeout)
            .await?;
    let now = state.platform.clock().now();
    let assessment = PaymentRequest::from_json(&bytes)
        .and_then(|request| {
            request.check_time(now, config.max_future_skew_seconds)?;
            service.score(&request)
        })
        .inspect_err(|_| metrics::counter!(REFUSED).increment(1))?;
    metrics::counter!(SCORED, "decision" => assessment.decision.as_str()).increment(1);
    Ok(Json(assessment))
}

#[utoipa::path(
    get,
    path = "/v1/payments/status",
    tag = "fraud",
    responses(
        (status = 200, description = "{model: {file, features, validation_pr_auc}|null, model_loads, model_refused, thresholds, reference_currency, exchange_rates_date, exchange_rates_refused, entities, state_bytes, unscored_events, repeated, journaled, journal_dropped, saves_from_journal, rings: {nodes, payments, rotations, dropped, unknown_labels}|null}"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Fraud scoring is disabled in [fraud]", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The model in use, its reloads and the feature state's size, and the ring graph's counters:
/// `rotations` tells an operator how far back the graph remembers.
pub(crate) async fn status(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Result<Json<PaymentsStatus>, ApiError> {
    let scorer = service(&state)?.status();
    let rings = state.platform.fraud_rings().map(|rings| rings.stats());
    Ok(Json(PaymentsStatus { scorer, rings }))
}

/// What `GET /v1/payments/status` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PaymentsStatus {
    /// The scorer's status.
    #[serde(flatten)]
    scorer: Status,
    /// The ring graph's counters, unless `[fraud.rings]` is disabled.
    rings: Option<RingStats>,
}
