//! `GET /v1/recovery/plan` (the dry-run plan for the most likely cause), `POST
//! /v1/recovery/runs` (an admin approves and starts it, with a written reason) and `GET
//! /v1/recovery/runs/latest` (its progress). The work is in `crate::recovery`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use ensuresec_recovery::assess::Assessment;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{Admin, Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::recovery::{Run, RunRequest, diagnose, start_run};
use crate::routes::body::JsonBody;
use crate::routes::diagnosis::options;

#[utoipa::path(get, path = "/v1/recovery/plan", tag = "assets",
    params(
        ("probe" = Option<bool>, Query, description = "Run the configured health probes now (default true)"),
        ("max_size" = Option<usize>, Query, description = "Largest set of simultaneously faulty assets considered, 1 to 5 (default 3)"),
        ("top" = Option<usize>, Query, description = "Candidates returned, 1 to 50 (default 5)"),
    ),
    responses(
        (status = 200, description = "{diagnosis: as GET /v1/diagnosis, plan: {diagnosis: [asset], steps: [{kind: act|verify|manual|verify_all, asset?, action?, reason?, assets?}]} or null when nothing is observed faulty}. Nothing is run."),
        (status = 400, description = "A parameter is bad", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// The recovery plan for the most likely root cause, as a dry run.
pub(crate) async fn plan(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Assessment>, ApiError> {
    let options = options(query.as_deref())?;
    Ok(Json(diagnose(&state, options).await?))
}

/// The body of `POST /v1/recovery/runs`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RecoveryRunRequest")]
pub(crate) struct StartBody {
    /// Why the plan is run: recorded with the approval.
    #[schemars(length(min = 1, max = 2000))]
    reason: String,
}

#[utoipa::path(post, path = "/v1/recovery/runs", tag = "assets",
    request_body(content = String, content_type = "application/json", description = "{\"reason\": why the plan is run (required, up to 2000 characters)}"),
    responses(
        (status = 202, description = "The run as it starts: {id, approval: {by, at, via, reason}, diagnosis, state: running, steps: [{number, step, asset?, status: pending, detail}]}. It goes on in the background; GET /v1/recovery/runs/latest shows its progress."),
        (status = 400, description = "No reason, or a bad body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 409, description = "The audit log is disabled, another run is under way, or nothing is observed faulty", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
/// Approves and starts the recovery plan for the most likely root cause: the token's name is
/// the approver; every step is recorded in the audit log.
pub(crate) async fn start(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    JsonBody(body): JsonBody<StartBody>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let run = start_run(
        &state,
        RunRequest {
            by: format!("api:{}", auth.token.name),
            via: "POST /v1/recovery/runs".into(),
            reason: body.reason,
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(get, path = "/v1/recovery/runs/latest", tag = "assets",
    responses(
        (status = 200, description = "The latest run: {id, approval, diagnosis, state: running|recovered|not_recovered|aborted, finished?, error?, steps: [{number, step, asset?, status: pending|running|done|failed|skipped, detail}]}"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No run since the server started", body = ErrorBody),
    ),
    security(("bearer" = ["read"])))]
/// The latest recovery run and the progress of each step.
pub(crate) async fn latest(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Result<Json<Run>, ApiError> {
    state
        .runs
        .latest()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("a recovery run since the server started".into()))
}
