//! `GET /v1/alerts`: alerts, filtered and paged, as ensuresec JSON or OCSF Detection Findings.

use axum::Json;
use axum::extract::{RawQuery, State};
use ensuresec_model::{Severity, ocsf};
use ensuresec_store::{AlertFilter, PageRequest};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;

#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "alerts",
    params(
        ("severity" = Option<String>, Query, description = "Minimum severity: info, low, medium, high, critical"),
        ("detector" = Option<String>, Query, description = "Only from this detector"),
        ("rule" = Option<String>, Query, description = "Only this rule id"),
        ("entity" = Option<String>, Query, description = "Only about this entity, as kind:value (e.g. ip:203.0.113.7)"),
        ("incident" = Option<u64>, Query, description = "Only in this incident"),
        ("since" = Option<String>, Query, description = "Event time at or after (RFC 3339)"),
        ("until" = Option<String>, Query, description = "Event time before (RFC 3339)"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("before" = Option<u64>, Query, description = "Cursor: the previous page's next_cursor"),
        ("format" = Option<String>, Query, description = "`ensuresec` (default) or `ocsf` (OCSF 1.3 Detection Finding)"),
    ),
    responses(
        (status = 200, description = "A page of alerts, newest first: {items, next_cursor}"),
        (status = 400, description = "A parameter is bad", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// Lists alerts.
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(
        query.as_deref(),
        &[
            "severity", "detector", "rule", "entity", "incident", "since", "until", "limit",
            "before", "format",
        ],
    )?;
    let filter = AlertFilter {
        min_severity: p.parsed::<Severity>("severity")?,
        detector: p.text("detector"),
        rule_id: p.text("rule"),
        entity: p.entity("entity")?,
        incident_id: p.id("incident", "an incident id")?,
        since: p.time("since")?,
        until: p.time("until")?,
    };
    let page = page_request(&p)?;
    let ocsf = match p.text("format").as_deref() {
        None | Some("ensuresec") => false,
        Some("ocsf") => true,
        Some(other) => {
            return Err(ApiError::BadParam {
                param: "format".into(),
                message: format!("`{other}` is not a format; use ensuresec or ocsf"),
            });
        }
    };
    let alerts = state.platform.store().list_alerts(filter, page).await?;
    let items: Vec<Value> = if ocsf {
        let version = env!("CARGO_PKG_VERSION");
        alerts
            .items
            .iter()
            .map(|a| ocsf::detection_finding(a, version))
            .collect()
    } else {
        alerts.items.iter().map(|a| json!(a)).collect()
    };
    Ok(Json(
        json!({ "items": items, "next_cursor": alerts.next_cursor }),
    ))
}

/// Reads `limit` and `before`.
pub(crate) fn page_request(p: &Params) -> Result<PageRequest, ApiError> {
    let limit = p.parsed::<usize>("limit")?.unwrap_or(100);
    if limit == 0 || limit > PageRequest::MAX_LIMIT {
        return Err(ApiError::BadParam {
            param: "limit".into(),
            message: format!("must be 1 to {}", PageRequest::MAX_LIMIT),
        });
    }
    Ok(PageRequest::new(limit, p.id("before", "a cursor")?))
}
