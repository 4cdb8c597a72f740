//! `GET /v1/incidents` and `GET /v1/incidents/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ensuresec_model::{Incident, IncidentStatus, Severity};
use ensuresec_store::{IncidentDetail, IncidentFilter, Page};

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::{self, Params};
use crate::routes::alerts::page_request;

#[utoipa::path(
    get,
    path = "/v1/incidents",
    tag = "incidents",
    params(
        ("status" = Option<String>, Query, description = "open, mitigating, contained, recovering, resolved or false_positive"),
        ("severity" = Option<String>, Query, description = "Minimum severity"),
        ("entity" = Option<String>, Query, description = "Only about this entity, as kind:value"),
        ("since" = Option<String>, Query, description = "Last seen at or after (RFC 3339)"),
        ("until" = Option<String>, Query, description = "First seen before (RFC 3339)"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("before" = Option<u64>, Query, description = "Cursor: the previous page's next_cursor"),
    ),
    responses(
        (status = 200, description = "A page of incidents, newest first: {items, next_cursor}"),
        (status = 400, description = "A parameter is bad", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// Lists incidents.
pub(crate) async fn list_incidents(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<Incident>>, ApiError> {
    let p = Params::parse(
        query.as_deref(),
        &[
            "status", "severity", "entity", "since", "until", "limit", "before",
        ],
    )?;
    let filter = IncidentFilter {
        status: p.parsed::<IncidentStatus>("status")?,
        min_severity: p.parsed::<Severity>("severity")?,
        entity: p.entity("entity")?,
        since: p.time("since")?,
        until: p.time("until")?,
    };
    let page = page_request(&p)?;
    Ok(Json(
        state.platform.store().list_incidents(filter, page).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = u64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident with its alerts and actions: {incident, alerts, actions}"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// One incident.
pub(crate) async fn get_incident(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = params::id("id", &id, "an incident id")?;
    state
        .platform
        .store()
        .incident(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
}
