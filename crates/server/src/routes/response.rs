//! Acting on incidents: status changes (`PATCH /v1/incidents/{id}`), playbook steps and their
//! approvals, dead letters, the fail-safe switch and breach notification drafts.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ensuresec_model::{Incident, IncidentStatus};
use ensuresec_pipeline::StoreHealth;
use ensuresec_respond::breach::{BreachDraft, draft};
use ensuresec_respond::db::{Delivery, StepRow};
use ensuresec_respond::failsafe::FailSafeState;
use ensuresec_store::StoreError;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Admin, Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::{self, Params};
use crate::routes::body::JsonBody;
use crate::routes::decisions::responder;

/// `PATCH /v1/incidents/{id}` body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "IncidentStatusChange")]
pub(crate) struct StatusBody {
    /// The new status.
    status: IncidentStatus,
    /// Why, 1 to 2000 bytes and not only white space: recorded with the transition.
    #[schemars(length(min = 1, max = 2000), pattern(r"\S"))]
    reason: String,
}

#[utoipa::path(
    patch,
    path = "/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = u64, Path, description = "Incident id")),
    request_body(description = "{status, reason}: the new status and why"),
    responses(
        (status = 200, description = "The incident in its new state"),
        (status = 400, description = "The body is bad", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "The change is refused (same status, or a closed incident moved elsewhere than open)", body = ErrorBody),
        (status = 503, description = "The store refuses findings: the change would wait for it", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Changes an incident's status; the transition records the token's name as who and the reason.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<Incident>, ApiError> {
    let id = params::id("id", &id, "an incident id")?;
    if body.reason.trim().is_empty() || body.reason.len() > 2000 {
        return Err(ApiError::BadParam {
            param: "reason".into(),
            message: "give a reason of 1 to 2000 bytes".into(),
        });
    }
    if state.platform.store().incident(id).await?.is_none() {
        return Err(ApiError::NotFound(format!("incident {id}")));
    }
    if state.platform.store_health() != StoreHealth::Writing {
        // Detection waits for the store; the change would wait behind it with the request open.
        return Err(ApiError::Store(StoreError::Commit(
            "the store refuses findings; change the status once it takes them again".into(),
        )));
    }
    state
        .platform
        .lifecycle()
        .change(
            id,
            body.status,
            format!("user:{}", auth.token.name),
            body.reason,
        )
        .await
        .map(Json)
        .map_err(ApiError::Conflict)
}

#[utoipa::path(
    get,
    path = "/v1/incidents/{id}/steps",
    tag = "response",
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "Every playbook step run for the incident: {items}")),
    security(("bearer" = ["read"])),
)]
/// The playbook steps of an incident.
pub(crate) async fn steps(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = params::id("id", &id, "an incident id")?;
    let items: Vec<StepRow> = responder(&state)?.steps(id).await?;
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(
    get,
    path = "/v1/approvals",
    tag = "response",
    responses((status = 200, description = "Steps waiting for approval: {items}")),
    security(("bearer" = ["read"])),
)]
/// Steps waiting for a person.
pub(crate) async fn approvals(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Result<Json<Value>, ApiError> {
    let items = responder(&state)?.pending_approvals().await?;
    Ok(Json(json!({ "items": items })))
}

async fn decide(
    state: &AppState,
    auth: &Scoped<Admin>,
    id: &str,
    step: &str,
    approve: bool,
) -> Result<Json<StepRow>, ApiError> {
    let id = params::id("id", id, "an incident id")?;
    let row = responder(state)?
        .approve(id, step, approve, &format!("user:{}", auth.token.name))
        .await?;
    Ok(Json(row))
}

#[utoipa::path(
    post,
    path = "/v1/incidents/{id}/steps/{step}/approve",
    tag = "response",
    params(("id" = u64, Path, description = "Incident id"), ("step" = String, Path, description = "Step id")),
    responses(
        (status = 200, description = "The approved step; the run goes on"),
        (status = 404, description = "No such step awaiting approval", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Approves a waiting step.
pub(crate) async fn approve(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    Path((id, step)): Path<(String, String)>,
) -> Result<Json<StepRow>, ApiError> {
    decide(&state, &auth, &id, &step, true).await
}

#[utoipa::path(
    post,
    path = "/v1/incidents/{id}/steps/{step}/reject",
    tag = "response",
    params(("id" = u64, Path, description = "Incident id"), ("step" = String, Path, description = "Step id")),
    responses(
        (status = 200, description = "The rejected step; the run goes on without it"),
        (status = 404, description = "No such step awaiting approval", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Rejects a waiting step.
pub(crate) async fn reject(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    Path((id, step)): Path<(String, String)>,
) -> Result<Json<StepRow>, ApiError> {
    decide(&state, &auth, &id, &step, false).await
}

#[utoipa::path(
    get,
    path = "/v1/deadletters",
    tag = "response",
    params(("limit" = Option<usize>, Query, description = "Most, newest first (default 100)")),
    responses((status = 200, description = "Deliveries whose every attempt failed: {items}")),
    security(("bearer" = ["read"])),
)]
/// Dead letters.
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(query.as_deref(), &["limit"])?;
    let limit = p.parsed::<usize>("limit")?.unwrap_or(100).clamp(1, 1000);
    let items: Vec<Delivery> = responder(&state)?.dead_letters(limit).await?;
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(
    post,
    path = "/v1/deadletters/{id}/replay",
    tag = "response",
    params(("id" = u64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "Queued again, with the same idempotency key"),
        (status = 404, description = "No such dead letter", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Replays a dead letter.
pub(crate) async fn replay(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = params::id("id", &id, "a delivery id")?;
    responder(&state)?
        .replay(id, &format!("user:{}", auth.token.name))
        .await?;
    Ok(Json(json!({ "replayed": id })))
}

#[utoipa::path(
    get,
    path = "/v1/failsafe",
    tag = "response",
    responses((status = 200, description = "The fail-safe switch: {platform, groups, message, reason, set_by, since}")),
    security(("bearer" = ["read"])),
)]
/// The fail-safe switch's position (the gateway polls it).
pub(crate) async fn get_failsafe(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Result<Json<FailSafeState>, ApiError> {
    Ok(Json(responder(&state)?.failsafe().state()))
}

#[utoipa::path(
    put,
    path = "/v1/failsafe",
    tag = "response",
    request_body(description = "{platform: normal|read_only|closed, groups: {name: mode}, message?, reason}"),
    responses(
        (status = 200, description = "The new position"),
        (status = 400, description = "A field is bad", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Moves the fail-safe switch.
pub(crate) async fn put_failsafe(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    JsonBody(body): JsonBody<FailSafeState>,
) -> Result<Json<FailSafeState>, ApiError> {
    Ok(Json(
        responder(&state)?
            .set_failsafe(body, &format!("user:{}", auth.token.name))
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/incidents/{id}/breach-draft",
    tag = "response",
    params(("id" = u64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "A GDPR Article 33 notification draft with the 72-hour deadline"),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// A breach notification draft for an incident.
pub(crate) async fn breach_draft(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
) -> Result<Json<BreachDraft>, ApiError> {
    let id = params::id("id", &id, "an incident id")?;
    let detail = state
        .platform
        .store()
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
    let measures = match state.platform.responder() {
        Some(r) => r.measures(id).await?,
        None => Vec::new(),
    };
    Ok(Json(draft(
        &detail.incident,
        measures,
        state.platform.clock().now(),
    )))
}
