//! The API's own description: its OpenAPI document and the JSON Schemas of its types.

use axum::Json;
use axum::extract::Path;
use serde_json::Value;

use crate::auth::{Read, Scoped};
use crate::error::{ApiError, ErrorBody};

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document"), (status = 401, body = ErrorBody)),
    security(("bearer" = ["read"])))]
/// The OpenAPI document.
pub(crate) async fn openapi(_auth: Scoped<Read>) -> Json<Value> {
    Json(crate::openapi::document())
}

#[utoipa::path(get, path = "/v1/schema/{name}", tag = "meta",
    params(("name" = String, Path, description = "event.json, alert.json or incident.json")),
    responses((status = 200, description = "JSON Schema (2020-12)"), (status = 404, body = ErrorBody)),
    security(("bearer" = ["read"])))]
/// A JSON Schema of the wire types.
pub(crate) async fn schema(
    _auth: Scoped<Read>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    use ensuresec_model::schema;
    match name.as_str() {
        "event.json" => Ok(Json(schema::event_schema())),
        "alert.json" => Ok(Json(schema::alert_schema())),
        "incident.json" => Ok(Json(schema::incident_schema())),
        _ => Err(ApiError::NotFound(format!("schema `{name}`"))),
    }
}
