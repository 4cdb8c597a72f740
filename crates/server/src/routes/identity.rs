//! `POST /v1/identity/challenge` and `POST /v1/identity/verify`: proof of age at checkout with
//! SD-JWT credentials. The answer is only the predicate; disclosed claims are dropped in the
//! gate and never stored or logged. Both change state (a nonce is issued, then used up), so
//! both need a token: the shop's backend calls them, not the browser.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat};
use ensuresec_identity::age::{AGE_VCT, SD_JWT_VC_TYP, age_claim_path};
use ensuresec_identity::gate::AgeGate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Ingest, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::identity::{AgeCheck, check_and_record};

/// Longest order id accepted.
const MAX_ORDER_ID: usize = 128;

fn gate(state: &AppState) -> Result<&Arc<AgeGate>, ApiError> {
    state
        .platform
        .identity()
        .ok_or_else(|| ApiError::NotFound("age verification (disabled in [identity])".into()))
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadParam {
        param: field.into(),
        message: message.into(),
    }
}

/// The JSON body, under `[identity] max_body_bytes`.
async fn json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let limit = state.platform.config().identity.max_body_bytes;
    crate::routes::body::json(headers, body, limit, state.body_timeout).await
}

/// The body of `POST /v1/identity/challenge`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "IdentityChallengeRequest")]
pub(crate) struct ChallengeRequest {
    /// The order the proof of age is for.
    #[schemars(pattern(r"^[A-Za-z0-9._:-]{1,128}$"))]
    order_id: String,
}

#[utoipa::path(
    post,
    path = "/v1/identity/challenge",
    tag = "identity",
    request_body(content = String, content_type = "application/json", description = "{\"order_id\": \"…\"} (1 to 128 of A-Z a-z 0-9 . _ : -)"),
    responses(
        (status = 200, description = "{order_id, nonce, audience, expires_at, min_age, request: OpenID4VP-style authorization request with a DCQL query for age_equal_or_over/<min_age>}"),
        (status = 400, description = "Bad body or order id", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Age verification is disabled in [identity]", body = ErrorBody),
        (status = 409, description = "Too many outstanding challenges", body = ErrorBody),
    ),
    security(("bearer" = ["ingest"])),
)]
/// Issues a single-use nonce bound to an order.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    _auth: Scoped<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let gate = gate(&state)?;
    let request: ChallengeRequest = json_body(&state, &headers, body).await?;
    let order = request.order_id;
    if order.is_empty()
        || order.len() > MAX_ORDER_ID
        || !order
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(&c))
    {
        return Err(bad(
            "order_id",
            format!("1 to {MAX_ORDER_ID} of A-Z a-z 0-9 . _ : -"),
        ));
    }
    let config = &state.platform.config().identity;
    let now = state.platform.clock().now().timestamp();
    let challenge = gate
        .challenge(&order, now)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let audience = gate.audience(&order);
    let expires_at = DateTime::from_timestamp(challenge.expires_at, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    Ok(Json(json!({
        "order_id": order,
        "nonce": challenge.nonce,
        "audience": audience,
        "expires_at": expires_at,
        "min_age": config.min_age,
        "request": {
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "client_id": config.verifier_id,
            "nonce": challenge.nonce,
            "dcql_query": {
                "credentials": [{
                    "id": "age",
                    "format": SD_JWT_VC_TYP,
                    "meta": {"vct_values": [AGE_VCT]},
                    "claims": [{"path": age_claim_path(config.min_age).0}],
                }],
            },
        },
    })))
}

/// The body of `POST /v1/identity/verify`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "IdentityPresentation")]
pub(crate) struct VerifyRequest {
    /// The SD-JWT presentation answering a challenge: `<issuer-jwt>~<disclosure>~…~<kb-jwt>`.
    presentation: String,
}

#[utoipa::path(
    post,
    path = "/v1/identity/verify",
    tag = "identity",
    request_body(content = String, content_type = "application/json", description = "{\"presentation\": \"<issuer-jwt>~<disclosure>~…~<kb-jwt>\"} answering a challenge"),
    responses(
        (status = 200, description = "{order_id, age_over_N: true, issuer}; recorded in the audit log"),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Age verification is disabled in [identity]", body = ErrorBody),
        (status = 413, description = "Body over [identity] max_body_bytes", body = ErrorBody),
        (status = 422, description = "{age_over_N: false, error: {code, message}}: refused, the code names the check that failed; recorded in the audit log"),
    ),
    security(("bearer" = ["ingest"])),
)]
/// Verifies a presentation against its challenge; answers only the age predicate.
pub(crate) async fn verify(
    State(state): State<AppState>,
    _auth: Scoped<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let gate = gate(&state)?;
    let request: VerifyRequest = json_body(&state, &headers, body).await?;
    let response = match check_and_record(&state.platform, gate, &request.presentation).await? {
        AgeCheck::Accepted {
            order_id,
            issuer,
            min_age,
        } => (
            StatusCode::OK,
            Json(
                json!({"order_id": order_id, format!("age_over_{min_age}"): true, "issuer": issuer}),
            ),
        ),
        AgeCheck::Refused {
            code,
            message,
            min_age,
        } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(
                json!({format!("age_over_{min_age}"): false, "error": {"code": code, "message": message}}),
            ),
        ),
    };
    Ok(response.into_response())
}
