//! Decisions: the CrowdSec-compatible bouncer API (`GET /v1/decisions/stream`,
//! `GET /v1/decisions` with `X-Api-Key`) and the admin API (`POST /v1/decisions`,
//! `GET /v1/decisions/all`, `DELETE /v1/decisions/{id}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ensuresec_respond::Responder;
use ensuresec_respond::book::StreamFilter;
use ensuresec_respond::decision::{CsDecision, Decision, DecisionScope, NewDecision};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Admin, BouncerKey, Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::params::{self, Params};
use crate::routes::body::JsonBody;

/// Most decisions one `POST /v1/decisions` makes.
pub(crate) const MAX_DECISIONS: usize = 10_000;

/// The responder, or 404 when the module is disabled.
pub(crate) fn responder(state: &AppState) -> Result<&Arc<Responder>, ApiError> {
    state
        .platform
        .responder()
        .ok_or_else(|| ApiError::NotFound("response module (disabled in [respond])".into()))
}

fn list(p: &Params, key: &str) -> Vec<String> {
    p.text(key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn scopes(p: &Params, key: &str) -> Result<Vec<DecisionScope>, ApiError> {
    list(p, key)
        .iter()
        .map(|s| {
            s.parse().map_err(|m| ApiError::BadParam {
                param: key.into(),
                message: m,
            })
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/v1/decisions/stream",
    tag = "decisions",
    params(
        ("startup" = Option<bool>, Query, description = "true: every active decision; otherwise what changed since this bouncer's last pull"),
        ("scopes" = Option<String>, Query, description = "Comma-separated scopes (default ip,range)"),
        ("origins" = Option<String>, Query, description = "Only these origins"),
        ("scenarios_containing" = Option<String>, Query, description = "Scenario contains one of these"),
        ("scenarios_not_containing" = Option<String>, Query, description = "Scenario contains none of these"),
    ),
    responses(
        (status = 200, description = "CrowdSec stream: {new: [decision]|null, deleted: [decision]|null}"),
        (status = 401, description = "No valid X-Api-Key", body = ErrorBody),
    ),
    security(("api_key" = ["bouncer"]), ("bearer" = ["bouncer"])),
)]
/// The bouncer stream, as CrowdSec's Local API serves it.
pub(crate) async fn stream(
    State(state): State<AppState>,
    key: BouncerKey,
    RawQuery(query): RawQuery,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let p = Params::parse(
        query.as_deref(),
        &[
            "startup",
            "scopes",
            "origins",
            "scenarios_containing",
            "scenarios_not_containing",
            "community_pull",
            "additional_pull",
        ],
    )?;
    let startup = p.text("startup").is_some_and(|v| v == "true");
    let filter = StreamFilter {
        scopes: scopes(&p, "scopes")?,
        origins: list(&p, "origins"),
        scenarios_containing: list(&p, "scenarios_containing"),
        scenarios_not_containing: list(&p, "scenarios_not_containing"),
    };
    let r = responder(&state)?;
    let now = state.platform.clock().now();
    let answer = r.book().stream(&key.token.name, startup, &filter, now);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "decisions",
    params(
        ("ip" = Option<String>, Query, description = "Decisions about this address"),
        ("range" = Option<String>, Query, description = "Decisions about this range"),
        ("scope" = Option<String>, Query, description = "Only this scope"),
        ("value" = Option<String>, Query, description = "Only this value"),
        ("type" = Option<String>, Query, description = "Only this type"),
    ),
    responses(
        (status = 200, description = "Active decisions in CrowdSec's shape, or null when there are none"),
        (status = 401, description = "No valid X-Api-Key", body = ErrorBody),
    ),
    security(("api_key" = ["bouncer"]), ("bearer" = ["bouncer"])),
)]
/// Active decisions matching a query (live-mode bouncers ask per request).
pub(crate) async fn query(
    State(state): State<AppState>,
    _key: BouncerKey,
    RawQuery(query): RawQuery,
) -> Result<Json<Option<Vec<CsDecision>>>, ApiError> {
    let p = Params::parse(
        query.as_deref(),
        &[
            "ip", "range", "scope", "value", "type", "origins", "contains",
        ],
    )?;
    let scope = match p.text("scope") {
        Some(s) => Some(s.parse::<DecisionScope>().map_err(|m| ApiError::BadParam {
            param: "scope".into(),
            message: m,
        })?),
        None => None,
    };
    let (ip, range, value, kind) = (
        p.text("ip"),
        p.text("range"),
        p.text("value"),
        p.text("type"),
    );
    let (ip, range, value, kind) = (
        ip.as_deref(),
        range.as_deref(),
        value.as_deref(),
        kind.as_deref(),
    );
    let r = responder(&state)?;
    let now = state.platform.clock().now();
    let found: Vec<CsDecision> = r
        .book()
        .active(now, 10_000, |d| {
            ip.is_none_or(|ip| {
                (d.scope == DecisionScope::Ip && d.value == ip)
                    || (d.scope == DecisionScope::Range && in_range(ip, &d.value))
            }) && range.is_none_or(|v| d.scope == DecisionScope::Range && d.value == v)
                && scope.is_none_or(|s| d.scope == s)
                && value.is_none_or(|v| d.value == v)
                && kind.is_none_or(|k| d.kind.as_str() == k)
        })
        .iter()
        .map(|d| CsDecision::from_decision(d, now))
        .collect();
    Ok(Json((!found.is_empty()).then_some(found)))
}

/// Whether `ip` lies in the CIDR `range`.
fn in_range(ip: &str, range: &str) -> bool {
    let Some((net, bits)) = range.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(net), Ok(bits)) = (
        ip.parse::<std::net::IpAddr>(),
        net.parse::<std::net::IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    match (ip, net) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[utoipa::path(
    get,
    path = "/v1/decisions/all",
    tag = "decisions",
    params(("limit" = Option<usize>, Query, description = "Most decisions, newest first (default 1000)")),
    responses(
        (status = 200, description = "Active decisions with origin, incident, times and ledger index: {items}"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// Active decisions in full, for people.
pub(crate) async fn list_all(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(query.as_deref(), &["limit"])?;
    let limit = p
        .parsed::<usize>("limit")?
        .unwrap_or(1000)
        .clamp(1, 100_000);
    let r = responder(&state)?;
    let items = r
        .book()
        .active(state.platform.clock().now(), limit, |_| true);
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    request_body(description = "One decision {type, scope, value, duration_seconds, scenario?, incident_id?} or a list of them"),
    responses(
        (status = 200, description = "The stored decisions: {items}"),
        (status = 400, description = "A field is bad", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Makes decisions by hand.
pub(crate) async fn add(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let many: Vec<NewDecision> = match body {
        Value::Array(_) => serde_json::from_value(body),
        one => serde_json::from_value(one).map(|d| vec![d]),
    }
    .map_err(|e| ApiError::BadParam {
        param: "body".into(),
        message: e.to_string(),
    })?;
    if many.len() > MAX_DECISIONS {
        return Err(ApiError::TooLarge {
            limit: MAX_DECISIONS,
        });
    }
    let items: Vec<Decision> = responder(&state)?
        .decide(many, &format!("api:{}", auth.token.name))
        .await?;
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(
    delete,
    path = "/v1/decisions/{id}",
    tag = "decisions",
    params(("id" = u64, Path, description = "Decision id")),
    responses(
        (status = 200, description = "The revoked decision"),
        (status = 404, description = "No such active decision", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Revokes a decision: bouncers see it in `deleted` on their next pull.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    auth: Scoped<Admin>,
    Path(id): Path<String>,
) -> Result<Json<Decision>, ApiError> {
    let id = params::id("id", &id, "a decision id")?;
    let r = responder(&state)?;
    Ok(Json(
        r.revoke(id, &format!("api:{}", auth.token.name)).await?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_fall_in_ranges() {
        assert!(super::in_range("203.0.113.9", "203.0.113.0/24"));
        assert!(!super::in_range("203.0.114.9", "203.0.113.0/24"));
        assert!(super::in_range("2001:db8::1", "2001:db8::/32"));
        assert!(!super::in_range("203.0.113.9", "2001:db8::/32"));
    }
}
