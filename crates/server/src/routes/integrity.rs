//! The payment-page monitor's API: browsers' CSP violation reports
//! (`POST /v1/integrity/csp-report`, unauthenticated by nature, bounded), the monitored pages'
//! inventories (`GET /v1/integrity/pages`) and script authorisations
//! (`POST`/`DELETE /v1/integrity/pages/authorizations`, admin, recorded in the audit log).

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use ensuresec_integrity::IntegrityError;
use ensuresec_integrity::pages::authz::Authorization;
use ensuresec_integrity::pages::csp_report::{self, MAX_REPORT_BYTES, ReportFormat};
use ensuresec_model::{Event, EventData};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Admin, Read, Scoped};
use crate::client::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::page_authz::{self, PageAuthzError};
use crate::params::Params;
use crate::routes::body::JsonBody;

/// Metric: CSP reports received, by `outcome` (`accepted`, `rejected`, `limited`).
pub const REPORTS_METRIC: &str = "ensuresec_csp_reports_total";

fn integrity_error(param: &str, e: IntegrityError) -> ApiError {
    match e {
        IntegrityError::Io { .. } | IntegrityError::Fetch { .. } => {
            tracing::error!(error = %e, "page monitor state");
            ApiError::Conflict(format!("page monitor state: {e}"))
        }
        other => ApiError::BadParam {
            param: param.into(),
            message: other.to_string(),
        },
    }
}

fn authz_error(param: &str, e: PageAuthzError) -> ApiError {
    match e {
        PageAuthzError::Integrity(e) => integrity_error(param, e),
        PageAuthzError::Ledger(e) => ApiError::Ledger(e),
        PageAuthzError::Task(m) => ApiError::Conflict(m),
    }
}

#[utoipa::path(
    post,
    path = "/v1/integrity/csp-report",
    tag = "integrity",
    request_body(content = String, description = "`application/csp-report` (report-uri) or `application/reports+json` (Reporting API)"),
    responses(
        (status = 204, description = "Reports taken (each becomes a csp_violation event)"),
        (status = 400, description = "Not a CSP report", body = ErrorBody),
        (status = 413, description = "Over 64 KiB", body = ErrorBody),
        (status = 415, description = "Another content type", body = ErrorBody),
        (status = 429, description = "Too many reports just now", body = ErrorBody),
    ),
)]
/// Where browsers post CSP violation reports: set `report-uri` (and `report-to`) of the shop's
/// policy to this URL. No token: browsers cannot send one; the body is bounded and a global rate
/// limit sheds floods. Each violation carries the browser's address (behind
/// `[server] trusted_proxies` only).
pub(crate) async fn csp_report(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let outcome = |o: &'static str| metrics::counter!(REPORTS_METRIC, "outcome" => o).increment(1);
    if state.csp_reports.check().is_err() {
        outcome("limited");
        return Err(ApiError::RateLimited("CSP reports".into()));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(format) = ReportFormat::of(content_type) else {
        outcome("rejected");
        return Err(ApiError::UnsupportedMedia(format!(
            "`{content_type}`: expected application/csp-report or application/reports+json"
        )));
    };
    let bytes =
        crate::routes::body::read(&headers, body, MAX_REPORT_BYTES, state.body_timeout).await?;
    let violations = csp_report::parse(format, &bytes).map_err(|e| {
        outcome("rejected");
        integrity_error("body", e)
    })?;
    let asset = state.platform.config().integrity.asset.clone();
    let now = state.platform.clock().now();
    let events: Vec<Event> = violations
        .into_iter()
        .map(|mut v| {
            v.asset = asset.clone();
            v.client_ip = client.map(|ip| ip.to_string());
            Event {
                time: now,
                ingest_time: None,
                source: "integrity:csp-report".into(),
                labels: Default::default(),
                data: EventData::CspViolation(v),
            }
        })
        .collect();
    outcome("accepted");
    if !events.is_empty() {
        state.platform.ingestor().ingest(events).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/integrity/pages",
    tag = "integrity",
    responses(
        (status = 200, description = "Every monitored page's last inventory, each script with its authorisation"),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The monitored pages' inventories: scripts (with their authorisation, if any), iframes, forms
/// and security headers, as last fetched.
pub(crate) async fn list_pages(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
) -> Result<Json<Value>, ApiError> {
    let (records, auths) = page_authz::inventories(&state.platform)
        .await
        .map_err(|e| authz_error("state", e))?;
    let items: Vec<Value> = records
        .iter()
        .map(|r| {
            let i = &r.inventory;
            let scripts: Vec<Value> = i
                .scripts
                .iter()
                .map(|s| {
                    json!({
                        "script": s.key(),
                        "script_info": s,
                        "authorized": auths.covers(s),
                        "authorization": auths.get(&s.key()),
                    })
                })
                .collect();
            json!({
                "url": i.url,
                "fetched": i.fetched,
                "status": i.status,
                "content_sha256": i.content_sha256,
                "scripts": scripts,
                "iframes": i.iframes,
                "forms": i.forms,
                "headers": i.headers,
            })
        })
        .collect();
    Ok(Json(
        json!({ "items": items, "authorizations": auths.scripts }),
    ))
}

/// An authorisation request.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ScriptAuthorizationRequest")]
pub(crate) struct AuthorizeBody {
    /// The script: its URL, or `inline:<sha256>` for an inline script.
    script: String,
    /// Why the page needs it (PCI DSS 6.4.3): required.
    justification: String,
    /// The SHA-256 (hex) to authorise; by default the hash last seen.
    #[serde(default)]
    sha256: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/integrity/pages/authorizations",
    tag = "integrity",
    request_body(content = String, description = "{\"script\": URL or inline:<sha256>, \"justification\": why it is needed, \"sha256\": optional, else the hash last seen}"),
    responses(
        (status = 200, description = "The authorisation"),
        (status = 400, description = "No justification, unknown script, bad hash", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Authorises a script on the monitored pages with a written justification (PCI DSS 6.4.3);
/// recorded in the audit log.
pub(crate) async fn authorize_script(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    JsonBody(body): JsonBody<AuthorizeBody>,
) -> Result<Json<Authorization>, ApiError> {
    let a = page_authz::authorize(
        &state.platform,
        body.script,
        body.sha256,
        body.justification,
        format!("api:{}", auth.token.name),
    )
    .await
    .map_err(|e| authz_error("body", e))?;
    Ok(Json(a))
}

#[utoipa::path(
    delete,
    path = "/v1/integrity/pages/authorizations",
    tag = "integrity",
    params(("script" = String, Query, description = "The script's key (URL or inline:<sha256>)")),
    responses(
        (status = 200, description = "Revoked"),
        (status = 404, description = "No such authorisation", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Revokes a script's authorisation: it alerts again at the next scan. Recorded in the audit log.
pub(crate) async fn revoke_script(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(query.as_deref(), &["script"])?;
    let script = p.text("script").ok_or_else(|| ApiError::BadParam {
        param: "script".into(),
        message: "required".into(),
    })?;
    let by = format!("api:{}", auth.token.name);
    if !page_authz::revoke(&state.platform, script.clone(), by)
        .await
        .map_err(|e| authz_error("script", e))?
    {
        return Err(ApiError::NotFound(format!("authorisation of `{script}`")));
    }
    Ok(Json(json!({"revoked": script})))
}
