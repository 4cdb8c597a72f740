//! The OpenAPI 3.1 document: paths from the handlers' `utoipa` annotations, and the wire types'
//! schemas from the model's JSON Schemas (one source of truth: the Rust types).

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ensuresec",
        description = "Security platform for e-commerce: ingest events, read alerts and incidents, and prove them with the tamper-evident audit log.",
        license(name = "Apache-2.0"),
    ),
    paths(
        routes::events::post_events,
        routes::payments::score,
        routes::payments::status,
        routes::identity::challenge,
        routes::identity::verify,
        routes::alerts::list_alerts,
        routes::incidents::list_incidents,
        routes::incidents::get_incident,
        routes::response::set_status,
        routes::response::steps,
        routes::response::approve,
        routes::response::reject,
        routes::response::approvals,
        routes::response::dead_letters,
        routes::response::replay,
        routes::response::get_failsafe,
        routes::response::put_failsafe,
        routes::response::breach_draft,
        routes::decisions::stream,
        routes::decisions::query,
        routes::decisions::list_all,
        routes::decisions::add,
        routes::decisions::revoke,
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::meta::openapi,
        routes::meta::schema,
        routes::stream::stream,
        routes::assets::list_assets,
        routes::assets::get_asset,
        routes::assets::impact,
        routes::diagnosis::diagnosis,
        routes::recovery::plan,
        routes::recovery::start,
        routes::recovery::latest,
        routes::ledger::checkpoint,
        routes::ledger::cosigned,
        routes::ledger::publish,
        routes::ledger::key,
        routes::ledger::tile,
        routes::ledger::inclusion,
        routes::ledger::consistency,
        routes::ledger::entries,
        routes::ledger::receipt,
        routes::ledger::alert_receipt,
        routes::ledger::incident_receipt,
        routes::integrity::csp_report,
        routes::integrity::list_pages,
        routes::integrity::authorize_script,
        routes::integrity::revoke_script,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail, routes::events::IngestResponse, routes::ledger::ProofBody, routes::ledger::EntryBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                    utoipa::openapi::security::ApiKeyValue::new("X-Api-Key"),
                )),
            );
        }
    }
}

/// The model types' schemas, with references pointing into `components/schemas`.
fn model_schemas() -> serde_json::Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    generator.subschema_for::<ensuresec_model::Event>();
    generator.subschema_for::<ensuresec_model::Alert>();
    generator.subschema_for::<ensuresec_model::Incident>();
    generator.subschema_for::<ensuresec_model::Action>();
    generator.take_definitions(true)
}

/// The document, built once.
pub(crate) fn document() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build).clone()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.extend(model_schemas());
    }
    // Bodies whose types live in the model crate point at the model's schemas.
    let events = &mut doc["paths"]["/v1/events"]["post"]["requestBody"]["content"];
    events["application/x-ndjson"]["schema"] = json!({
        "description": "One Event object per line",
        "type": "string",
    });
    events["application/json"] =
        json!({ "schema": { "type": "array", "items": schema_ref("Event") } });
    let page = |item: &str| {
        json!({ "application/json": { "schema": {
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": { "type": "array", "items": schema_ref(item) },
                "next_cursor": { "type": ["integer", "null"], "minimum": 0 },
            },
        }}})
    };
    doc["paths"]["/v1/alerts"]["get"]["responses"]["200"]["content"] = page("Alert");
    doc["paths"]["/v1/incidents"]["get"]["responses"]["200"]["content"] = page("Incident");
    doc["paths"]["/v1/incidents/{id}"]["get"]["responses"]["200"]["content"] = json!({
        "application/json": { "schema": {
            "type": "object",
            "required": ["incident", "alerts", "actions"],
            "properties": {
                "incident": schema_ref("Incident"),
                "alerts": { "type": "array", "items": schema_ref("Alert") },
                "actions": { "type": "array", "items": schema_ref("Action") },
            },
        }}
    });
    doc
}
